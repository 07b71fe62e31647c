// A worker's ProxyStats: writes what its ProxyServer does into its own row of the shared counters.
// Byte counts of long-lived tunnels are flushed once a second (and at close), so the per-chunk path
// touches no shared memory. What of a tunnel's bytes was already added is kept on the tunnel's own
// record (CountedTunnel): nothing here grows with the tunnels.
//
// Writes (times data was handed to a socket) are counted per thread, not per tunnel, so no tunnel keeps
// a "writes already added" field: at each flush the thread's total is what its closed tunnels reported
// plus what its open ones made so far (the JavaScript engine's per-tunnel count; for the native engine
// one bulk pull of the C counts), and the counter gets the growth since the last flush. The native
// engine's backend legs (the request head of a handshake, sent by C) are counted apart, the same way:
// C keeps the thread's total, read with one call per flush.
import type { ErrorCode } from '../errors.js';
import type { CountedTunnel, ProxyStats, TunnelCloseFacts } from '../server/proxy-server.js';
import { threadLegSends } from '../tunnel/native-backend-leg.js';
import { threadLiveSends } from '../tunnel/native-registry.js';
import type { TunnelCloseInfo } from '../tunnel/tunnel.js';
import type { CounterWriter, FrontEvent, WriteCounter, WriteEngine } from './shared-counters.js';
import { MAX_ROUTES, closeField, memberSlotKey } from './shared-counters.js';

const FLUSH_MS = 1_000;

export class WorkerStats implements ProxyStats {
  readonly #writer: CounterWriter;
  #slots: ReadonlyMap<string, number>;
  #live: () => Iterable<CountedTunnel> = () => [];
  #timer: NodeJS.Timeout | undefined;
  #activity = 0;
  readonly #liveNativeSends: () => number;
  readonly #legSends: () => number;
  /** Writes of the tunnels closed so far, by the engine that relayed them. */
  readonly #closedWrites: Record<WriteEngine, number> = { js: 0, native: 0 };
  /** What of this thread's writes the counters already have. */
  readonly #countedWrites: Record<WriteCounter, number> = { js: 0, native: 0, backendLeg: 0 };

  /**
   * `liveNativeSends`: the send calls of this thread's open native tunnels, pulled now; `legSends`: the
   * send calls of this thread's native backend legs so far (a test may stand in for either).
   */
  constructor(
    writer: CounterWriter,
    slots: ReadonlyMap<string, number>,
    liveNativeSends: () => number = threadLiveSends,
    legSends: () => number = threadLegSends,
  ) {
    this.#writer = writer;
    this.#slots = slots;
    this.#liveNativeSends = liveNativeSends;
    this.#legSends = legSends;
  }

  setSlots(slots: ReadonlyMap<string, number>): void {
    this.#slots = slots;
  }

  #slot(route: string): number {
    return this.#slots.get(route) ?? MAX_ROUTES - 1;
  }

  watch(live: () => Iterable<CountedTunnel>): void {
    this.#live = live;
  }

  tunnelOpened(route: string): void {
    const slot = this.#slot(route);
    this.#writer.add(slot, 'activeTunnels', 1);
    this.#writer.add(slot, 'tunnelsOpened', 1);
  }

  tunnelClosed(route: string, info: TunnelCloseInfo, tunnel: CountedTunnel, facts?: TunnelCloseFacts): void {
    const slot = this.#slot(route);
    this.#writer.add(slot, 'activeTunnels', -1);
    this.#writer.add(slot, 'tunnelsClosed', 1);
    if (info.reason === 'idle-timeout') this.#writer.add(slot, 'idleTimeouts', 1);
    if (info.framesDropped !== undefined) this.#writer.add(slot, 'framesDropped', info.framesDropped);
    const field = closeField(facts?.cause ?? info.reason);
    if (field !== undefined) this.#writer.add(slot, field, 1);
    this.#addBytes(route, facts?.member ?? tunnel.member, tunnel, info.bytesToBackend, info.bytesToClient);
    this.#closedWrites[tunnel.engine] += info.flushes;
    this.#writer.observe('tunnelDuration', 'all', info.durationMs / 1000);
  }

  /**
   * Changes with every handshake, plain request and once-a-second flush that found tunnel bytes: the heap
   * reclaimer's sign of a busy window (it collects only in a worker that did none of them).
   */
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

  front(event: FrontEvent): void {
    this.#writer.front(event);
  }

  /** Starts the periodic flush of live tunnels' bytes; at close only what was not flushed yet is added. */
  start(): void {
    this.#timer = setInterval(() => this.#flush(), FLUSH_MS);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Adds what `t` has relayed beyond what was added already, to its route and its member's slot. */
  #addBytes(route: string, member: string | undefined, t: CountedTunnel, toBackend: number, toClient: number): void {
    const up = toBackend - t.countedToBackend;
    const down = toClient - t.countedToClient;
    if (up === 0 && down === 0) return;
    this.#activity++;
    t.countedToBackend = toBackend;
    t.countedToClient = toClient;
    const slots = [this.#slot(route)];
    const memberSlot = member !== undefined ? this.#slots.get(memberSlotKey(route, member)) : undefined;
    if (memberSlot !== undefined) slots.push(memberSlot);
    for (const slot of slots) {
      this.#writer.add(slot, 'bytesToBackend', up);
      this.#writer.add(slot, 'bytesToClient', down);
    }
  }

  /** Brings the shared counters up to date now (the admin's `?flush=1`, before a reader needs exact figures). */
  flush(): void {
    this.#flush();
  }

  #flush(): void {
    // The native pull first: the byte counts read below then come from the same pull.
    const native = this.#closedWrites.native + this.#liveNativeSends();
    let js = this.#closedWrites.js;
    for (const t of this.#live()) {
      this.#addBytes(t.route, t.member, t, t.bytesToBackend, t.bytesToClient);
      // A running native tunnel says 0 here: its sends are in the pull above.
      js += t.flushes;
    }
    this.#addWrites('js', js);
    this.#addWrites('native', native);
    this.#addWrites('backendLeg', this.#legSends());
  }

  /**
   * Only growth is added: a native tunnel C has stopped relaying is in neither the pull nor the closed
   * sum until libuv reports its close, so the total can dip for a moment; the next flush adds it.
   */
  #addWrites(kind: WriteCounter, total: number): void {
    const n = total - this.#countedWrites[kind];
    if (n <= 0) return;
    this.#countedWrites[kind] = total;
    this.#writer.addWrites(kind, n);
  }
}
