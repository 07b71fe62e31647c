// Whether a tunnel may start, decided when the upgrade is decided, and the reservation it then holds:
//
//   Origin allow-list (403) → client address: rate, open tunnels (429) → process, route (503)
//   → per attempt: the balancer member (a full one is passed over; all full: 503)
//
// A TunnelTicket holds one count in each cell it reserved and gives each back exactly once: when the
// tunnel closes, or when the handshake ends any other way (backend refused, client gone, non-101 answer,
// exception). The counts live in shared memory (tunnel-counts.ts, client-table.ts), so every worker thread
// sees the same numbers and a compare-and-swap decides who gets the last slot.
import { setTimeout as delay } from 'node:timers/promises';
import { memberKey } from '../balancer/member-table.js';
import type { Config } from '../config/schema.js';
import type { ErrorCode } from '../errors.js';
import { ClientTable, type ClientLimits } from './client-table.js';
import { memberKeys, newMemberSlots, newRouteSlots, type KeySlots } from './limit-slots.js';
import { GLOBAL_CELL, memberCell, routeCell, TunnelCounts, type CountCell } from './tunnel-counts.js';

/** The shared counts as one thread uses them, and the slot maps of its current config. */
export class LimitState {
  readonly counts: TunnelCounts;
  readonly clients: ClientTable;
  readonly worker: number;
  #routeSlots: ReadonlyMap<string, number>;
  #memberSlots: ReadonlyMap<string, number>;
  /** Set when this thread assigns its own slots (no primary). */
  readonly #local: { routes: KeySlots; members: KeySlots } | undefined;

  constructor(
    shared: { counts: TunnelCounts; clients: ClientTable; worker: number },
    slots: { routes: ReadonlyMap<string, number>; members: ReadonlyMap<string, number> } | undefined,
  ) {
    this.counts = shared.counts;
    this.clients = shared.clients;
    this.worker = shared.worker;
    this.#local = slots === undefined ? { routes: newRouteSlots(), members: newMemberSlots() } : undefined;
    this.#routeSlots = slots?.routes ?? new Map();
    this.#memberSlots = slots?.members ?? new Map();
  }

  /** Counts private to one thread (a ProxyServer without workers around it). */
  static local(config: Config): LimitState {
    const clients = new ClientTable(config.limits.perClient?.tableSize ?? 65_536, 1);
    const state = new LimitState({ counts: new TunnelCounts(1), clients, worker: 0 }, undefined);
    state.configure(config);
    return state;
  }

  /** A thread without a primary gives `config`'s routes and members their slots (kept across reloads). */
  configure(config: Config): void {
    if (this.#local === undefined) return;
    this.#routeSlots = this.#local.routes.assign(config.routes.map((r, i) => r.name ?? `routes[${i}]`));
    this.#memberSlots = this.#local.members.assign(memberKeys(config));
  }

  /** The slots the primary gave (with a reload's config). */
  setSlots(routes: ReadonlyMap<string, number>, members: ReadonlyMap<string, number>): void {
    this.#routeSlots = routes;
    this.#memberSlots = members;
  }

  routeSlot(name: string): number | undefined {
    return this.#routeSlots.get(name);
  }

  memberSlot(key: string): number | undefined {
    return this.#memberSlots.get(key);
  }
}

export interface Refusal {
  readonly code: ErrorCode;
  readonly retryAfterS?: number | undefined;
}

interface RouteLimits {
  readonly maxTunnels: number | undefined;
  /** Lower-cased allowed origins; undefined: any. */
  readonly origins: ReadonlySet<string> | undefined;
}

/** The limits of one config over a thread's LimitState. */
export class TunnelAdmission {
  readonly #state: LimitState;
  readonly #maxTunnels: number | undefined;
  readonly #retryAfterS: number;
  readonly #client: ClientLimits | undefined;
  readonly #routes = new Map<string, RouteLimits>();
  readonly #members = new Map<string, number>();
  /** An address let through without its per-client counts: the table is full, or was held past admitWhenFree's bound. */
  readonly #onUntracked: (address: string, why: 'full' | 'busy') => void;

  constructor(config: Config, state: LimitState, onUntracked: (address: string, why: 'full' | 'busy') => void = () => undefined) {
    this.#state = state;
    this.#onUntracked = onUntracked;
    const limits = config.limits;
    this.#maxTunnels = limits.maxTunnels;
    this.#retryAfterS = limits.retryAfterS;
    const pc = limits.perClient;
    if (pc !== undefined && (pc.maxTunnels !== undefined || pc.handshakesPerSecond !== undefined)) {
      const rate = pc.handshakesPerSecond;
      this.#client = {
        maxTunnels: pc.maxTunnels,
        rate: rate === undefined ? undefined : { perSecond: rate, burst: pc.burst ?? Math.max(1, Math.floor(rate)) },
      };
    }
    config.routes.forEach((r, i) => {
      this.#routes.set(r.name ?? `routes[${i}]`, {
        maxTunnels: r.maxTunnels,
        origins: r.allowedOrigins === undefined ? undefined : new Set(r.allowedOrigins.map((o) => o.toLowerCase())),
      });
    });
    for (const [name, balancer] of Object.entries(config.balancers ?? {})) {
      for (const m of balancer.members) if (m.maxTunnels !== undefined) this.#members.set(memberKey(name, m.url), m.maxTunnels);
    }
  }

  /** Retry-After of a full member (the handler answers it when no member is left). */
  get retryAfterS(): number {
    return this.#retryAfterS;
  }

  /**
   * Reserves what a tunnel on `route` from `address` needs, or says which limit refuses it; ADMIT_BUSY when
   * the client table was held by another thread (nothing reserved: admitWhenFree asks again), unless
   * `untrackedIfBusy`, which lets the address through untracked instead.
   */
  admit(route: string, address: string, origin: string | undefined, untrackedIfBusy = false): TunnelTicket | Refusal | typeof ADMIT_BUSY {
    const limits = this.#routes.get(route);
    if (limits?.origins !== undefined && origin !== undefined && !limits.origins.has(origin.toLowerCase())) {
      return { code: 'WSP_ORIGIN_FORBIDDEN' };
    }
    const state = this.#state;
    let clientEntry = -1;
    // The client table is only touched when a per-client limit is set: it costs a hash and a CAS.
    if (this.#client !== undefined) {
      const r = state.clients.reserve(state.worker, address, this.#client);
      if (r.kind === 'tunnels') return { code: 'WSP_LIMIT_CLIENT_TUNNELS', retryAfterS: this.#retryAfterS };
      if (r.kind === 'rate') return { code: 'WSP_LIMIT_CLIENT_RATE', retryAfterS: r.retryAfterS };
      if (r.kind === 'busy' && !untrackedIfBusy) return ADMIT_BUSY;
      if (r.kind === 'untracked' || r.kind === 'busy') this.#onUntracked(address, r.kind === 'untracked' ? 'full' : 'busy');
      else clientEntry = r.entry;
    }
    const ticket = new TunnelTicket(state, clientEntry);
    if (!ticket.take(GLOBAL_CELL, this.#maxTunnels)) {
      ticket.release();
      return { code: 'WSP_LIMIT_TUNNELS', retryAfterS: this.#retryAfterS };
    }
    const slot = state.routeSlot(route);
    if (slot !== undefined && !ticket.take(routeCell(slot), limits?.maxTunnels)) {
      ticket.release();
      return { code: 'WSP_LIMIT_ROUTE', retryAfterS: this.#retryAfterS };
    }
    return ticket;
  }

  /**
   * Reserves balancer `balancer`'s member `url` for `ticket` (giving back the member it held before);
   * false when that member is full.
   */
  reserveMember(ticket: TunnelTicket, balancer: string, url: string): boolean {
    const key = memberKey(balancer, url);
    const slot = this.#state.memberSlot(key);
    return ticket.takeMember(slot === undefined ? undefined : memberCell(slot), this.#members.get(key));
  }
}

/** admit()'s answer when the client table was held by another thread: ask again (admitWhenFree). */
export const ADMIT_BUSY = Symbol('client table busy');

/** How long admitWhenFree asks again before letting the address through untracked. */
const BUSY_BOUND_MS = 1_000;

/**
 * admit() again, a millisecond apart (the event loop runs meanwhile), until the client table is free; past
 * `boundMs` the address goes through untracked, as when the table is full (a thread that died holding a
 * lock is reclaimed by the primary well before).
 */
export async function admitWhenFree(
  admission: TunnelAdmission,
  route: string,
  address: string,
  origin: string | undefined,
  boundMs = BUSY_BOUND_MS,
): Promise<TunnelTicket | Refusal> {
  const deadline = performance.now() + boundMs;
  for (;;) {
    await delay(1);
    const r = admission.admit(route, address, origin, performance.now() >= deadline);
    if (r !== ADMIT_BUSY) return r;
  }
}

export function isRefusal(x: TunnelTicket | Refusal): x is Refusal {
  return !(x instanceof TunnelTicket);
}

/** No cell (cells are non-negative). */
const NONE = -1;
/** TunnelTicket.#clientEntry once released (a flag of its own would be one more field per tunnel). */
const RELEASED = -2;

/**
 * The counts one tunnel (or handshake) holds; `release` gives them all back, once. A tunnel keeps its
 * ticket as long as it runs, so the cells are fields (the process's and the route's, then the member's)
 * rather than an array, whose backing store alone would be larger than the ticket.
 */
export class TunnelTicket {
  readonly #state: LimitState;
  #first: CountCell = NONE;
  #second: CountCell = NONE;
  #member: CountCell = NONE;
  /** The client table entry held (-1: none); RELEASED once release() ran. */
  #clientEntry: number;

  constructor(state: LimitState, clientEntry: number) {
    this.#state = state;
    this.#clientEntry = clientEntry;
  }

  /** Reserves `cell` up to `max`; false (nothing taken) when full. At most two cells besides the member's. */
  take(cell: CountCell, max: number | undefined): boolean {
    if (this.#second !== NONE) throw new Error('a ticket holds at most two cells besides the member');
    if (!this.#state.counts.reserve(this.#state.worker, cell, max)) return false;
    if (this.#first === NONE) this.#first = cell;
    else this.#second = cell;
    return true;
  }

  /** Swaps the member reservation for `cell` (undefined: a member with no slot, never full). */
  takeMember(cell: CountCell | undefined, max: number | undefined): boolean {
    this.releaseMember();
    if (cell === undefined || this.#clientEntry === RELEASED) return true;
    if (!this.#state.counts.reserve(this.#state.worker, cell, max)) return false;
    this.#member = cell;
    return true;
  }

  releaseMember(): void {
    if (this.#member === NONE) return;
    this.#state.counts.release(this.#state.worker, this.#member);
    this.#member = NONE;
  }

  /** Idempotent: the first call gives everything back, later ones do nothing. */
  release(): void {
    if (this.#clientEntry === RELEASED) return;
    const clientEntry = this.#clientEntry;
    this.#clientEntry = RELEASED;
    this.releaseMember();
    if (this.#first !== NONE) this.#state.counts.release(this.#state.worker, this.#first);
    if (this.#second !== NONE) this.#state.counts.release(this.#state.worker, this.#second);
    this.#first = this.#second = NONE;
    if (clientEntry >= 0) this.#state.clients.release(this.#state.worker, clientEntry);
  }
}
