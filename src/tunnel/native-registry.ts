// The JS half of the native engine on one thread: the live NativeTunnel records by id, the close
// reports from C routed to them, and the byte counts pulled from C in bulk (one call for every tunnel,
// at most every COUNTS_MAX_AGE_MS) rather than a call per tunnel or any shared memory.
import { performance } from 'node:perf_hooks';
import type { NativeAddon } from './native-addon.js';
import type { WsGoodbyeOptions } from './tunnel.js';

/** What a record is told when its C tunnel is gone. */
export interface NativeClosed {
  readonly reason: number;
  readonly toBackend: number;
  readonly toClient: number;
  readonly writes: number;
  readonly errno: number;
  /** enum relay_goodbye: 0 none, 1 handshake, 2 timeout, 3 fin. */
  readonly goodbye: number;
  readonly framesDropped: number;
}

export interface NativeRecord {
  counts(toBackend: number, toClient: number): void;
  closed(report: NativeClosed): void;
}

const COUNTS_MAX_AGE_MS = 100;

export class NativeRegistry {
  readonly #addon: NativeAddon;
  readonly #records = new Map<number, NativeRecord>();
  #buf = new Float64Array(3 * 64);
  #countedAt = -Infinity;

  constructor(addon: NativeAddon) {
    this.#addon = addon;
    addon.setCloseHandler((id, reason, toBackend, toClient, writes, errno, goodbye, framesDropped) => {
      const record = this.#records.get(id);
      this.#records.delete(id);
      record?.closed({ reason, toBackend, toClient, writes, errno, goodbye, framesDropped });
    });
  }

  get size(): number {
    return this.#records.size;
  }

  /** Starts a C tunnel for `record` (see NativeAddon.open); throws when the addon refuses. */
  open(record: NativeRecord, args: Parameters<NativeAddon['open']>): number {
    const id = this.#addon.open(...args);
    this.#records.set(id, record);
    return id;
  }

  close(id: number, graceMs: number, goodbye?: WsGoodbyeOptions): void {
    if (goodbye === undefined) this.#addon.close(id, graceMs);
    else this.#addon.close(id, graceMs, goodbye.closeCode, goodbye.handshakeMs);
  }

  destroy(id: number): void {
    this.#addon.destroy(id);
  }

  /** Brings every record's byte counts up to date unless they were pulled very recently. */
  refreshCounts(): void {
    const now = performance.now();
    if (now - this.#countedAt < COUNTS_MAX_AGE_MS) return;
    this.#countedAt = now;
    if (this.#buf.length < 3 * this.#records.size) this.#buf = new Float64Array(3 * this.#records.size * 2);
    const n = this.#addon.counters(this.#buf);
    const buf = this.#buf;
    for (let i = 0; i < n; i++) this.#records.get(buf[3 * i]!)?.counts(buf[3 * i + 1]!, buf[3 * i + 2]!);
  }
}

const registries = new WeakMap<NativeAddon, NativeRegistry>();

/** The registry of this thread's addon. */
export function registryOf(addon: NativeAddon): NativeRegistry {
  let r = registries.get(addon);
  if (r === undefined) {
    r = new NativeRegistry(addon);
    registries.set(addon, r);
  }
  return r;
}
