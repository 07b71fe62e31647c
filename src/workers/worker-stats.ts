// A worker's ProxyStats: writes what its ProxyServer does into its own row of the shared counters.
// Byte counts of long-lived tunnels are flushed once a second (and at close), so the per-chunk path
// touches no shared memory.
import type { ErrorCode } from '../errors.js';
import type { ProxyServer, ProxyStats } from '../server/proxy-server.js';
import type { Tunnel, TunnelCloseInfo } from '../tunnel/tunnel.js';
import type { CounterWriter } from './shared-counters.js';
import { MAX_ROUTES } from './shared-counters.js';

const FLUSH_MS = 1_000;

export class WorkerStats implements ProxyStats {
  readonly #writer: CounterWriter;
  #slots: ReadonlyMap<string, number>;
  /** Bytes of each live tunnel already added to the counters. */
  readonly #reported = new WeakMap<Tunnel, { toBackend: number; toClient: number }>();
  #timer: NodeJS.Timeout | undefined;

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

  tunnelOpened(route: string): void {
    const slot = this.#slot(route);
    this.#writer.add(slot, 'activeTunnels', 1);
    this.#writer.add(slot, 'tunnelsOpened', 1);
  }

  tunnelClosed(route: string, info: TunnelCloseInfo, tunnel: Tunnel): void {
    const slot = this.#slot(route);
    const seen = this.#reported.get(tunnel);
    this.#writer.add(slot, 'activeTunnels', -1);
    this.#writer.add(slot, 'tunnelsClosed', 1);
    if (info.reason === 'idle-timeout') this.#writer.add(slot, 'idleTimeouts', 1);
    if (info.framesDropped !== undefined) this.#writer.add(slot, 'framesDropped', info.framesDropped);
    this.#writer.add(slot, 'bytesToBackend', info.bytesToBackend - (seen?.toBackend ?? 0));
    this.#writer.add(slot, 'bytesToClient', info.bytesToClient - (seen?.toClient ?? 0));
  }

  httpRequest(route: string): void {
    this.#writer.add(this.#slot(route), 'httpRequests', 1);
  }

  error(code: ErrorCode, route: string | undefined): void {
    this.#writer.error(code);
    if (route !== undefined) this.#writer.add(this.#slot(route), 'errors', 1);
  }

  /** Starts the periodic flush of live tunnels' bytes; at close only what was not flushed yet is added. */
  start(proxy: ProxyServer): void {
    this.#timer = setInterval(() => this.#flush(proxy), FLUSH_MS);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  #flush(proxy: ProxyServer): void {
    for (const [tunnel, route] of proxy.liveTunnels()) {
      const seen = this.#reported.get(tunnel) ?? { toBackend: 0, toClient: 0 };
      const slot = this.#slot(route);
      this.#writer.add(slot, 'bytesToBackend', tunnel.bytesToBackend - seen.toBackend);
      this.#writer.add(slot, 'bytesToClient', tunnel.bytesToClient - seen.toClient);
      seen.toBackend = tunnel.bytesToBackend;
      seen.toClient = tunnel.bytesToClient;
      this.#reported.set(tunnel, seen);
    }
  }
}
