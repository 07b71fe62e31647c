// Gives back the memory a burst of handshakes grew, once the worker has gone quiet.
//
// A burst (a reconnect storm, a deploy of the clients) grows a worker's V8 heap: the young generation
// grows to its largest semi-spaces (16 MiB each) under the handshakes' garbage, and garbage that outlived
// two scavenges sits in the old generation. Afterwards the worker holds idle tunnels whose bytes the C core
// relays: JavaScript allocates almost nothing, so V8 never collects again and the process keeps that
// memory for as long as it runs: measured at 5,000 idle tunnels, about 20 MiB of young generation
// and several KiB per tunnel of uncollected garbage, more than the tunnels themselves hold.
//
// So once a whole quiet window passed with no handshake, no request and no tunnel byte relayed, and the
// heap grew by at least MIN_GROWTH_BYTES since the last reclaim, the worker runs one memory-reducing
// collection (V8's "last resort" flavour: a full mark-compact that also shrinks the young generation). It
// pauses the worker's loop, native tunnels included, for its duration; the log line says how long. Tunnel
// bytes count as activity because a worker still relaying is not idle: the JavaScript engine allocates per
// chunk and would regrow the young generation at once (the perf gate measured +9 % CPU per message when a
// reclaim ran under traffic), and a pause there is latency on live tunnels.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { performance } from 'node:perf_hooks';

/** The `gc` V8 exposes with --expose-gc (the options form exists from V8 11). */
export type GcFunction = (options?: { type: 'major' | 'minor'; execution: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

/** Less growth than this is not worth a pause (the young generation alone grows by up to 32 MiB). */
export const MIN_GROWTH_BYTES = 8 * 1024 * 1024;

export interface ReclaimReport {
  readonly heapBeforeBytes: number;
  readonly heapAfterBytes: number;
  readonly pauseMs: number;
}

export interface ReclaimDeps {
  readonly gc: GcFunction;
  /** A number that changes whenever the worker takes a handshake or a request, or relays tunnel bytes. */
  readonly activity: () => number;
  /** Bytes the V8 heap holds from the system (default: total_physical_size). */
  readonly heapBytes?: () => number;
  readonly onReclaim: (report: ReclaimReport) => void;
}

const physical = (): number => getHeapStatistics().total_physical_size;

/** The `gc` function of this thread, when the process let V8 expose it (see exposeGcToWorkers). */
export function threadGc(): GcFunction | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as GcFunction) : undefined;
}

export class HeapReclaimer {
  readonly #deps: ReclaimDeps;
  readonly #heapBytes: () => number;
  #timer: NodeJS.Timeout | undefined;
  #quietMs = 0;
  #lastActivity: number;
  /** Some handshake came since the last reclaim: only then can there be a burst's memory to give back. */
  #busy = false;
  /** Heap size right after the last reclaim (or at start). */
  #baseline: number;

  constructor(deps: ReclaimDeps) {
    this.#deps = deps;
    this.#heapBytes = deps.heapBytes ?? physical;
    this.#lastActivity = deps.activity();
    this.#baseline = this.#heapBytes();
  }

  /** Checks every `quietMs` (0: off). A reload may change it. */
  setQuietMs(quietMs: number): void {
    if (quietMs === this.#quietMs) return;
    this.stop();
    this.#quietMs = quietMs;
    if (quietMs <= 0) return;
    this.#timer = setInterval(() => this.tick(), quietMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One check: reclaims when the last window was quiet after a busy one and the heap grew enough. */
  tick(): ReclaimReport | undefined {
    const activity = this.#deps.activity();
    if (activity !== this.#lastActivity) {
      this.#lastActivity = activity;
      this.#busy = true;
      return undefined;
    }
    if (!this.#busy) return undefined;
    const before = this.#heapBytes();
    if (before - this.#baseline < MIN_GROWTH_BYTES) return undefined;
    const started = performance.now();
    this.#deps.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    const report = { heapBeforeBytes: before, heapAfterBytes: this.#heapBytes(), pauseMs: performance.now() - started };
    this.#baseline = report.heapAfterBytes;
    this.#busy = false;
    this.#deps.onReclaim(report);
    return report;
  }
}

/**
 * Makes V8 give every worker thread started from now on a `gc` function. The flag is read when a context
 * is created, so the primary (already running) does not get one; workers do.
 */
export function exposeGcToWorkers(): void {
  setFlagsFromString('--expose-gc');
}
