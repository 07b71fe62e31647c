// Runtime control of balancer members, for the admin endpoint and the CLI: list members with their state
// and load, and change a member's state or weight without a restart. Every change is a write to the shared
// MemberTable, so it reaches every worker thread at once; open tunnels are never touched (draining or
// disabling a member only stops new ones). Pure apart from the clock.
import type { MemberState } from '../config/schema.js';
import { MEMBER_STATES } from '../config/schema.js';
import { WspassError } from '../errors.js';
import type { Balancer } from './balancer.js';
import type { MemberTable } from './member-table.js';
import type { BalancerMember } from './types.js';

export interface MemberStatus {
  readonly balancer: string;
  readonly url: string;
  /** Sticky route name. */
  readonly route: string;
  readonly state: MemberState;
  readonly weight: number;
  /** Open tunnels through the member, all threads. */
  readonly activeTunnels: number;
  /** Plain HTTP requests in flight, all threads. */
  readonly activeRequests: number;
  /** Bytes relayed by finished tunnels and requests. */
  readonly bytes: number;
  /** Milliseconds left in error after a failed connect or handshake; 0 when not in error. */
  readonly errorForMs: number;
  /** Active health check verdict; 'unchecked' when the balancer has none. */
  readonly health: 'up' | 'down' | 'unchecked';
  /** Whether it may take a new tunnel or request now. */
  readonly usable: boolean;
}

/** The largest weight a member may have (the config's limit). */
export const MAX_WEIGHT = 1000;

export class BalancerRegistry {
  readonly #table: MemberTable;
  readonly #balancers: ReadonlyMap<string, Balancer>;
  readonly #now: () => number;

  constructor(table: MemberTable, balancers: Iterable<Balancer>, now: () => number = Date.now) {
    this.#table = table;
    this.#balancers = new Map([...balancers].map((b) => [b.name, b]));
    this.#now = now;
  }

  /** Every member of every balancer, in config order. */
  listMembers(): MemberStatus[] {
    const now = this.#now();
    const out: MemberStatus[] = [];
    for (const b of this.#balancers.values()) for (const m of b.members) out.push(this.#status(b, m, now));
    return out;
  }

  /** Sets a member's state (`member` is its URL or route); returns its new status. */
  setState(balancer: string, member: string, state: string): MemberStatus {
    if (!(MEMBER_STATES as readonly string[]).includes(state)) {
      throw new WspassError('WSP_BAD_REQUEST', `state must be one of ${MEMBER_STATES.join(', ')}; got "${state}"`);
    }
    const [b, m] = this.#find(balancer, member);
    this.#table.setState(m.slot, state as MemberState);
    return this.#status(b, m, this.#now());
  }

  /** Sets a member's weight (an integer 1..1000); returns its new status. */
  setWeight(balancer: string, member: string, weight: number): MemberStatus {
    if (!Number.isInteger(weight) || weight < 1 || weight > MAX_WEIGHT) {
      throw new WspassError('WSP_BAD_REQUEST', `weight must be an integer from 1 to ${MAX_WEIGHT}; got ${weight}`);
    }
    const [b, m] = this.#find(balancer, member);
    this.#table.setWeight(m.slot, weight);
    return this.#status(b, m, this.#now());
  }

  #find(balancer: string, member: string): [Balancer, BalancerMember] {
    const b = this.#balancers.get(balancer);
    if (b === undefined) {
      throw new WspassError('WSP_UNKNOWN_MEMBER', `no balancer "${balancer}" (known: ${[...this.#balancers.keys()].join(', ') || 'none'})`);
    }
    const m = b.members.find((x) => x.url === member || x.route === member);
    if (m === undefined) {
      throw new WspassError('WSP_UNKNOWN_MEMBER', `balancer "${balancer}" has no member with URL or route "${member}"`);
    }
    return [b, m];
  }

  #status(b: Balancer, m: BalancerMember, now: number): MemberStatus {
    const t = this.#table;
    const until = t.errorUntil(m.slot);
    return {
      balancer: b.name,
      url: m.url,
      route: m.route,
      state: t.state(m.slot),
      weight: t.weight(m.slot),
      activeTunnels: t.activeTunnels(m.slot),
      activeRequests: t.activeRequests(m.slot),
      bytes: t.bytes(m.slot),
      errorForMs: until > now ? until - now : 0,
      health: b.healthCheck === undefined ? 'unchecked' : t.probeDown(m.slot) ? 'down' : 'up',
      usable: b.isUsable(m, now),
    };
  }
}
