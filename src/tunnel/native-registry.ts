// The JS half of the native engine on one thread: the live NativeTunnel records, the close reports
// from C routed to them, and the byte counts pulled from C in bulk (one call for every tunnel, at most
// every COUNTS_MAX_AGE_MS) rather than a call per tunnel or any shared memory. The same pull sums the
// send calls of the open tunnels (liveSends): a thread-wide figure, so no per-tunnel count is kept.
//
// A C id is slot + generation * 2^24 (src/native/thread_state.h): the slot is a small index the core
// reuses lowest first, so records and counts live in arrays indexed by slot (a pointer and two doubles
// per slot) instead of a Map entry per tunnel and two number fields per record, and a record keeps only
// its slot, a small integer (the whole id would become a heap number once generations grow).
import { performance } from 'node:perf_hooks';
import type { NativeTunnelApi } from './native-addon.js';
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
  closed(report: NativeClosed): void;
}

const COUNTS_MAX_AGE_MS = 100;
/** SLOT_BITS in src/native/thread_state.h. */
const SLOT_SPAN = 2 ** 24;

/**
 * A count read from a Float64Array comes as a heap number even when it is a small integer, and a field
 * that once held a heap number holds a 16 B box in every object of its kind (a record keeping counts, as
 * the stats do): below 2^30 it is given back as a small integer.
 */
function small(n: number): number {
  return n < 0x40000000 ? n | 0 : n;
}

export class NativeRegistry {
  readonly #addon: NativeTunnelApi;
  /** Record by slot (undefined: free), with its generation. */
  readonly #records: (NativeRecord | undefined)[] = [];
  readonly #gens: number[] = [];
  #live = 0;
  /** Bytes to backend and to client by slot, as of the last pull. */
  #bytes = new Float64Array(2 * 64);
  /** Send calls of every open tunnel together, as of the last pull. */
  #liveSends = 0;
  #countedAt = -Infinity;

  constructor(addon: NativeTunnelApi) {
    this.#addon = addon;
    addon.setCloseHandler((id, reason, toBackend, toClient, writes, errno, goodbye, framesDropped) => {
      const slot = id % SLOT_SPAN;
      const record = this.#records[slot];
      if (record === undefined || this.#gens[slot] !== (id - slot) / SLOT_SPAN) return;
      this.#records[slot] = undefined;
      this.#live--;
      record.closed({ reason, toBackend, toClient, writes, errno, goodbye, framesDropped });
    });
  }

  get size(): number {
    return this.#live;
  }

  /** Starts a C tunnel for `record` (see NativeTunnelApi.open) and returns its slot; throws when the addon refuses. */
  open(record: NativeRecord, args: Parameters<NativeTunnelApi['open']>): number {
    const id = this.#addon.open(...args);
    const slot = id % SLOT_SPAN;
    const gen = (id - slot) / SLOT_SPAN;
    // Slots are reused lowest first, so the arrays stay as long as the most tunnels open at once.
    while (this.#records.length < slot) {
      this.#records.push(undefined);
      this.#gens.push(0);
    }
    this.#records[slot] = record;
    this.#gens[slot] = gen;
    this.#live++;
    if (this.#bytes.length < 2 * (slot + 1)) {
      const grown = new Float64Array(Math.max(2 * (slot + 1), 2 * Math.ceil(this.#bytes.length * 0.75)));
      grown.set(this.#bytes);
      this.#bytes = grown;
    }
    this.#bytes[2 * slot] = 0;
    this.#bytes[2 * slot + 1] = 0;
    return slot;
  }

  /** Closes the C tunnel in `slot` (its record is still registered: the slot was not reused). */
  close(slot: number, graceMs: number, goodbye?: WsGoodbyeOptions): void {
    if (goodbye === undefined) this.#addon.close(this.#idOf(slot), graceMs);
    else this.#addon.close(this.#idOf(slot), graceMs, goodbye.closeCode, goodbye.handshakeMs);
  }

  destroy(slot: number): void {
    this.#addon.destroy(this.#idOf(slot));
  }

  #idOf(slot: number): number {
    return slot + this.#gens[slot]! * SLOT_SPAN;
  }

  /** Bytes from client to backend of the tunnel in `slot` (at most COUNTS_MAX_AGE_MS old). */
  toBackend(slot: number): number {
    this.#refreshCounts();
    return small(this.#bytes[2 * slot]!);
  }

  /** Bytes from backend to client of the tunnel in `slot`. */
  toClient(slot: number): number {
    this.#refreshCounts();
    return small(this.#bytes[2 * slot + 1]!);
  }

  /**
   * Send (and splice-out) calls of the tunnels open now, summed, pulled now: a tunnel's calls leave this
   * sum when C stops relaying it and reach its close report (NativeClosed.writes) a little later, from
   * libuv's close callbacks. Pulled fresh because a stale sum could still hold a tunnel whose close report
   * the caller has already counted.
   */
  liveSends(): number {
    this.#countedAt = -Infinity;
    this.#refreshCounts();
    return this.#liveSends;
  }

  /** Brings every slot's byte counts up to date unless they were pulled very recently. */
  #refreshCounts(): void {
    const now = performance.now();
    if (now - this.#countedAt < COUNTS_MAX_AGE_MS) return;
    this.#countedAt = now;
    // A buffer for this pull only (at most one every COUNTS_MAX_AGE_MS): kept, it would be 32 B more
    // per tunnel for as long as the most tunnels were open at once.
    const buf = new Float64Array(4 * this.#live);
    const n = this.#addon.counters(buf);
    let sends = 0;
    for (let i = 0; i < n; i++) {
      const id = buf[4 * i]!;
      sends += buf[4 * i + 3]!;
      const slot = id % SLOT_SPAN;
      if (this.#records[slot] === undefined || this.#gens[slot] !== (id - slot) / SLOT_SPAN) continue;
      this.#bytes[2 * slot] = buf[4 * i + 1]!;
      this.#bytes[2 * slot + 1] = buf[4 * i + 2]!;
    }
    this.#liveSends = sends;
  }
}

const registries = new WeakMap<NativeTunnelApi, NativeRegistry>();
/** The registry this thread made (each worker thread loads its own addon and its own copy of this module). */
let threadRegistry: NativeRegistry | undefined;

/** The registry of this thread's addon. */
export function registryOf(addon: NativeTunnelApi): NativeRegistry {
  let r = registries.get(addon);
  if (r === undefined) {
    r = new NativeRegistry(addon);
    registries.set(addon, r);
    threadRegistry = r;
  }
  return r;
}

/** liveSends() of this thread's registry; 0 on a thread that runs no native tunnel (the addon is not loaded for it). */
export function threadLiveSends(): number {
  return threadRegistry?.liveSends() ?? 0;
}
