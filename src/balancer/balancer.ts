// One compiled balancer: which members may take a new tunnel or request, and which one does. Pure apart
// from the clock: the state lives in the shared MemberTable, the choice in a Strategy.
//
//   pick(facts, exclude)
//     sticky URL parameter or cookie names a usable member ─▶ that member
//     else usable active members (or, when none, usable standby members) minus `exclude` ─▶ strategy
//   usable = state active/standby, not in error (errorUntil passed), not held out by health checks
//
// Draining and disabled members take nothing new; their open tunnels are not touched.
import type { BalancerConfig, BalancerHealthCheckConfig, BalancerStrategy } from '../config/schema.js';
import { LeastLoad } from './least-load.js';
import type { MemberTable } from './member-table.js';
import { RendezvousHash } from './rendezvous-hash.js';
import { SmoothRoundRobin } from './round-robin.js';
import { StickyCookie } from './sticky-cookie.js';
import type { BalanceFacts, BalancerMember, LoadView, Strategy } from './types.js';

export interface BalancerPick {
  readonly member: BalancerMember;
  /** A Set-Cookie value to add to the response (sticky balancers, when the request named another member). */
  readonly setCookie: string | undefined;
}

const NOTHING: ReadonlySet<number> = new Set();

/** The socket.io preset's cookie when the balancer has no `sticky` of its own. */
const SOCKETIO_STICKY = { cookie: 'WSPASS_ROUTE', path: '/', secure: false } as const;

export class Balancer {
  readonly name: string;
  readonly members: readonly BalancerMember[];
  readonly strategyName: BalancerStrategy;
  readonly retryMs: number;
  readonly maxAttempts: number;
  readonly healthCheck: BalancerHealthCheckConfig | undefined;
  readonly sticky: StickyCookie | undefined;
  readonly #table: MemberTable;
  readonly #strategy: Strategy;
  readonly #byRoute: ReadonlyMap<string, BalancerMember>;
  readonly #now: () => number;

  constructor(
    name: string,
    config: BalancerConfig,
    members: readonly BalancerMember[],
    table: MemberTable,
    now: () => number = Date.now,
  ) {
    this.name = name;
    this.members = members;
    this.strategyName = config.strategy;
    this.retryMs = config.retryMs;
    this.maxAttempts = config.maxAttempts;
    this.healthCheck = config.healthCheck;
    this.#table = table;
    this.#now = now;
    this.#byRoute = new Map(members.map((m) => [m.route, m]));
    const load: LoadView = {
      weight: (slot) => table.weight(slot),
      busy: (slot) => table.activeTunnels(slot) + table.activeRequests(slot),
      bytes: (slot) => table.bytes(slot),
    };
    const roundRobin = new SmoothRoundRobin(members.length, load);
    switch (config.strategy) {
      case 'byrequests':
        this.#strategy = roundRobin;
        break;
      case 'bybusyness':
        this.#strategy = new LeastLoad(load, 'busy');
        break;
      case 'bytraffic':
        this.#strategy = new LeastLoad(load, 'bytes');
        break;
      case 'hash':
        this.#strategy = new RendezvousHash(config.hash!, load, roundRobin);
        break;
      case 'socketio':
        this.#strategy = config.hash === undefined ? roundRobin : new RendezvousHash(config.hash, load, roundRobin);
        break;
    }
    const sticky = config.sticky ?? (config.strategy === 'socketio' ? SOCKETIO_STICKY : undefined);
    this.sticky = sticky === undefined ? undefined : new StickyCookie(sticky);
  }

  /** Whether `member` may take a new tunnel or request now (ignoring stickiness and tiers). */
  isUsable(member: BalancerMember, now = this.#now()): boolean {
    const state = this.#table.state(member.slot);
    return (
      (state === 'active' || state === 'standby') &&
      this.#table.errorUntil(member.slot) <= now &&
      !this.#table.probeDown(member.slot)
    );
  }

  /** The member for a new tunnel or request, or undefined when no member outside `exclude` is usable. */
  pick(facts: BalanceFacts, exclude: ReadonlySet<number> = NOTHING): BalancerPick | undefined {
    const now = this.#now();
    let named: string | undefined;
    if (this.sticky !== undefined) {
      const value = this.sticky.valueOf(facts.target, (name) => facts.cookie(name));
      const route = value === undefined ? undefined : StickyCookie.routeIn(value);
      const m = route === undefined ? undefined : this.#byRoute.get(route);
      if (m !== undefined) {
        named = m.route;
        if (!exclude.has(m.index) && this.isUsable(m, now)) return { member: m, setCookie: undefined };
        // The session lives on that member only: another one would break it silently.
        if (this.sticky.noFailover) return undefined;
      }
    }
    let candidates = this.#usable('active', exclude, now);
    if (candidates.length === 0) candidates = this.#usable('standby', exclude, now);
    if (candidates.length === 0) return undefined;
    const member = this.#strategy.pick(candidates, facts);
    const setCookie = this.sticky !== undefined && member.route !== named ? this.sticky.setCookie(member.route) : undefined;
    return { member, setCookie };
  }

  /** A connect or handshake to `member` failed: leave it out for retryMs (in every thread). */
  markFailed(member: BalancerMember): void {
    if (this.retryMs > 0) this.#table.setErrorUntil(member.slot, this.#now() + this.retryMs);
  }

  /**
   * Seconds a client should wait before retrying when no member is usable: until the soonest member in
   * error is retried, else (members held out by health checks) one probe cycle, else retryMs; at least 1.
   */
  retryAfterS(): number {
    const now = this.#now();
    let soonest = Infinity;
    let probedDown = false;
    for (const m of this.members) {
      const state = this.#table.state(m.slot);
      if (state !== 'active' && state !== 'standby') continue;
      if (this.#table.probeDown(m.slot)) probedDown = true;
      const until = this.#table.errorUntil(m.slot);
      if (until > now) soonest = Math.min(soonest, until - now);
    }
    if (soonest === Infinity) {
      const hc = this.healthCheck;
      soonest = probedDown && hc !== undefined ? hc.intervalMs * hc.rise : this.retryMs;
    }
    return Math.max(1, Math.ceil(soonest / 1000));
  }

  tunnelOpened(member: BalancerMember): void {
    this.#table.addTunnels(member.slot, 1);
  }

  tunnelClosed(member: BalancerMember, bytes: number): void {
    this.#table.addTunnels(member.slot, -1);
    this.#table.addBytes(member.slot, bytes);
  }

  requestStarted(member: BalancerMember): void {
    this.#table.addRequests(member.slot, 1);
  }

  requestEnded(member: BalancerMember, bytes: number): void {
    this.#table.addRequests(member.slot, -1);
    this.#table.addBytes(member.slot, bytes);
  }

  #usable(state: 'active' | 'standby', exclude: ReadonlySet<number>, now: number): BalancerMember[] {
    const out: BalancerMember[] = [];
    for (const m of this.members) {
      if (exclude.has(m.index) || this.#table.state(m.slot) !== state) continue;
      if (this.#table.errorUntil(m.slot) > now || this.#table.probeDown(m.slot)) continue;
      out.push(m);
    }
    return out;
  }
}
