// A worker's ProxyStats: writes what its ProxyServer does into its own row of the shared counters.
// Byte counts of long-lived tunnels are flushed once a second (and at close), so the per-chunk path
// touches no shared memory.
import type { ErrorCode } from '../errors.js';
import type { ProxyStats, TunnelCloseFacts } from '../server/proxy-server.js';
import type { Tunnel, TunnelCloseInfo } from '../tunnel/tunnel.js';
import type { CounterWriter } from './shared-counters.js';
import { MAX_ROUTES, closeField, memberSlotKey } from './shared-counters.js';

const FLUSH_MS = 1_000;

/** A live tunnel's counter slots and the bytes of it already added to the counters. */
interface Live {
  readonly route: string;
  readonly member: string | undefined;
  toBackend: number;
  toClient: number;
}

export class WorkerStats implements ProxyStats {
  readonly #writer: CounterWriter;
  #slots: ReadonlyMap<string, number>;
  readonly #live = new Map<Tunnel, Live>();
  #timer: NodeJS.Timeout | undefined;
  #activity = 0;

  constructor(writer: CounterWriter, slots: ReadonlyMap<string, number>) {
    this.#writer = writer;
    this.#slots = slots;
  }

  setSlots(slots: ReadonlyMap<string, number>): void {
    this.#slots = slots;
  }

  #slot(route: string): number {
    return this.#slots.get(route) ?? MAX_ROUTES - 1;
  }

  tunnelOpened(route: string, tunnel?: Tunnel, member?: string): void {
    const slot = this.#slot(route);
    this.#writer.add(slot, 'activeTunnels', 1);
    this.#writer.add(slot, 'tunnelsOpened', 1);
    if (tunnel !== undefined) this.#live.set(tunnel, { route, member, toBackend: 0, toClient: 0 });
  }

  tunnelClosed(route: string, info: TunnelCloseInfo, tunnel: Tunnel, facts?: TunnelCloseFacts): void {
    const slot = this.#slot(route);
    const live = this.#live.get(tunnel);
    this.#live.delete(tunnel);
    this.#writer.add(slot, 'activeTunnels', -1);
    this.#writer.add(slot, 'tunnelsClosed', 1);
    if (info.reason === 'idle-timeout') this.#writer.add(slot, 'idleTimeouts', 1);
    if (info.framesDropped !== undefined) this.#writer.add(slot, 'framesDropped', info.framesDropped);
    const field = closeField(facts?.cause ?? info.reason);
    if (field !== undefined) this.#writer.add(slot, field, 1);
    this.#addBytes(live ?? { route, member: facts?.member, toBackend: 0, toClient: 0 }, info.bytesToBackend, info.bytesToClient);
    this.#writer.observe('tunnelDuration', 'all', info.durationMs / 1000);
  }

  /** Changes with every handshake and plain request (the heap reclaimer's sign of a busy window). */
  get activity(): number {
    return this.#activity;
  }

  httpRequest(route: string): void {
    this.#activity++;
    this.#writer.add(this.#slot(route), 'httpRequests', 1);
  }

  error(code: ErrorCode, route: string | undefined): void {
    this.#writer.error(code);
    if (route !== undefined) this.#writer.add(this.#slot(route), 'errors', 1);
  }

  handshake(outcome: string, seconds: number): void {
    this.#activity++;
    this.#writer.observe('handshake', outcome, seconds);
  }

  draining(tunnels: number): void {
    this.#writer.draining(tunnels);
  }

  /** Starts the periodic flush of live tunnels' bytes; at close only what was not flushed yet is added. */
  start(): void {
    this.#timer = setInterval(() => this.#flush(), FLUSH_MS);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Adds what `live` has relayed beyond what was added already, to its route and its member's slot. */
  #addBytes(live: Live, toBackend: number, toClient: number): void {
    const up = toBackend - live.toBackend;
    const down = toClient - live.toClient;
    live.toBackend = toBackend;
    live.toClient = toClient;
    const slots = [this.#slot(live.route)];
    const memberSlot = live.member !== undefined ? this.#slots.get(memberSlotKey(live.route, live.member)) : undefined;
    if (memberSlot !== undefined) slots.push(memberSlot);
    for (const slot of slots) {
      this.#writer.add(slot, 'bytesToBackend', up);
      this.#writer.add(slot, 'bytesToClient', down);
    }
  }

  #flush(): void {
    for (const [tunnel, live] of this.#live) this.#addBytes(live, tunnel.bytesToBackend, tunnel.bytesToClient);
  }
}
