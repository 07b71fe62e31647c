// Per-client-address state shared by every worker thread: open tunnels and a handshake-rate bucket per
// address, in a fixed-size table over one SharedArrayBuffer.
//
//   BigInt64 region: per entry, the rate bucket's theoretical arrival time (µs; GCRA, see below)
//   Int32 region:    per entry [cell | key (13 words) | per-worker counts]; then one claim lock per bucket
//
// An address hashes to a bucket of BUCKET entries; it lives in one of them, never elsewhere, so a lookup
// reads at most BUCKET entries and a freed entry never breaks another key's lookup. The hot path (a known
// address) takes no lock: a compare-and-swap on the entry's cell pins it and counts the tunnel. Only
// taking an entry for a new address locks its bucket, for the few stores that write the key.
//
// cell = generation << 23 | count, or LOCKED while an entry is rewritten. The count is every open tunnel
// and handshake in progress of that address; an entry with a count is never given to another address.
// The generation changes with the key, so a pin whose key check raced with a rewrite fails its CAS.
//
// The rate is a token bucket kept as GCRA's single timestamp (one CAS per handshake): each handshake
// moves it forward by 1/rate s; a handshake is refused when it would be more than (burst-1)/rate s
// ahead of now. An entry whose count is 0 and whose bucket is full again (timestamp <= now) holds no
// information and may be taken by another address.
//
// Beyond capacity (every entry of a bucket busy with other addresses) a new address is not tracked:
// `reserve` answers 'untracked' and the caller lets the handshake through (fail open).
//
// An entry or bucket locked by another thread is held for a few stores, unless that thread was preempted
// in between (a loaded machine) or died (the primary reclaims its locks before the respawn). `reserve`
// spins briefly, then answers 'busy' with nothing counted: the caller asks again later without blocking
// its event loop (tunnel-admission.ts, admitWhenFree). Spinning longer, as before, held the loop for
// about 14 ms and then let the handshake through untracked: over the limit, on a busy 2-core machine.

export const BUCKET = 8;
const KEY_WORDS = 13;
const KEY_BYTES = (KEY_WORDS - 1) * 4;
const COUNT_BITS = 23;
const COUNT_MASK = (1 << COUNT_BITS) - 1;
const LOCKED = -1;
/** Tries on an entry or bucket another thread holds locked (a few stores) before answering 'busy' (a fraction of a millisecond). */
const MAX_SPINS = 32;

export interface ClientLimits {
  /** Open tunnels (including handshakes in progress) per address; undefined: no limit. */
  readonly maxTunnels?: number | undefined;
  /** New handshakes per second per address, with `burst` at once; undefined: no limit. */
  readonly rate?: { readonly perSecond: number; readonly burst: number } | undefined;
}

export type ClientReservation =
  | { readonly kind: 'ok'; readonly entry: number }
  | { readonly kind: 'untracked' }
  /** Another thread held what this address needs for longer than a few tries: nothing counted, ask again. */
  | { readonly kind: 'busy' }
  | { readonly kind: 'tunnels' }
  | { readonly kind: 'rate'; readonly retryAfterS: number };

/** Milliseconds (fractional allowed): Date.now in production, a hand-moved clock in tests. */
export type Clock = () => number;

/** The key words of an address: [byte length + 1, up to 48 bytes], longer addresses end in a hash. */
export function addressKey(address: string): Int32Array {
  // An IPv4 client on a dual-stack socket is the same client as on an IPv4 socket.
  const a = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  const key = new Int32Array(KEY_WORDS);
  const bytes = Buffer.from(a, 'latin1');
  const view = Buffer.from(key.buffer, 4, KEY_BYTES);
  if (bytes.length <= KEY_BYTES) bytes.copy(view);
  else {
    bytes.copy(view, 0, 0, KEY_BYTES - 4);
    view.writeUInt32LE(hashBytes(bytes), KEY_BYTES - 4);
  }
  key[0] = bytes.length + 1;
  return key;
}

/** FNV-1a over bytes. */
function hashBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

/** FNV-1a over 32-bit words. */
function hashWords(words: Int32Array): number {
  let h = 0x811c9dc5;
  for (const w of words) {
    h ^= w;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class ClientTable {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly workers: number;
  readonly #tat: BigInt64Array;
  readonly #int: Int32Array;
  readonly #stride: number;
  readonly #locks: number;
  readonly #clock: Clock;

  static byteLength(capacity: number, workers: number): number {
    return capacity * 8 + (capacity * (1 + KEY_WORDS + workers) + capacity / BUCKET) * 4;
  }

  /** `capacity` entries (a multiple of BUCKET), over `buffer` when given (shared with other threads). */
  constructor(capacity: number, workers: number, buffer?: SharedArrayBuffer, clock: Clock = Date.now) {
    if (!Number.isInteger(capacity) || capacity < BUCKET || capacity % BUCKET !== 0) {
      throw new RangeError(`client table capacity must be a positive multiple of ${BUCKET}`);
    }
    this.capacity = capacity;
    this.workers = workers;
    this.buffer = buffer ?? new SharedArrayBuffer(ClientTable.byteLength(capacity, workers));
    if (this.buffer.byteLength !== ClientTable.byteLength(capacity, workers)) throw new RangeError('client table buffer has the wrong size');
    this.#tat = new BigInt64Array(this.buffer, 0, capacity);
    this.#int = new Int32Array(this.buffer, capacity * 8);
    this.#stride = 1 + KEY_WORDS + workers;
    this.#locks = capacity * this.#stride;
    this.#clock = clock;
  }

  /** Open tunnels counted for `address` (0 when it has no entry). */
  count(address: string): number {
    const found = this.#find(addressKey(address));
    return typeof found === 'number' && found >= 0 ? Atomics.load(this.#int, this.#cellOf(found)) & COUNT_MASK : 0;
  }

  /** Counts one handshake of `address` for worker `worker`, unless a limit refuses it. */
  reserve(worker: number, address: string, limits: ClientLimits): ClientReservation {
    const key = addressKey(address);
    for (let spin = 0; spin < MAX_SPINS; spin++) {
      const found = this.#find(key);
      if (found === 'busy') continue;
      if (found === -1) {
        if (this.#claim(worker, key) === 'full') return { kind: 'untracked' };
        continue;
      }
      const cellAt = this.#cellOf(found);
      const cell = Atomics.load(this.#int, cellAt);
      if (cell === LOCKED) continue;
      if (limits.maxTunnels !== undefined && (cell & COUNT_MASK) >= limits.maxTunnels) {
        // Still our key at this generation? Then the refusal is about us.
        if (this.#matches(found, key)) return { kind: 'tunnels' };
        continue;
      }
      if (Atomics.compareExchange(this.#int, cellAt, cell, cell + 1) !== cell) continue;
      // Pinned: nobody can give this entry to another address until released. Was it ours when pinned?
      if (!this.#matches(found, key)) {
        Atomics.sub(this.#int, cellAt, 1);
        continue;
      }
      Atomics.add(this.#int, cellAt + 1 + KEY_WORDS + worker, 1);
      if (limits.rate !== undefined) {
        const wait = this.#takeToken(found, limits.rate);
        if (wait > 0) {
          this.release(worker, found);
          return { kind: 'rate', retryAfterS: Math.max(1, Math.ceil(wait / 1e6)) };
        }
      }
      return { kind: 'ok', entry: found };
    }
    return { kind: 'busy' };
  }

  /** Gives back a reservation of worker `worker` on `entry` (the worker's count first, see TunnelCounts). */
  release(worker: number, entry: number): void {
    const cellAt = this.#cellOf(entry);
    Atomics.sub(this.#int, cellAt + 1 + KEY_WORDS + worker, 1);
    Atomics.sub(this.#int, cellAt, 1);
  }

  /** Worker `worker` is dead: its reservations are given back (run by the primary, before a respawn). */
  reclaim(worker: number): number {
    let freed = 0;
    for (let e = 0; e < this.capacity; e++) {
      const cellAt = this.#cellOf(e);
      const held = Atomics.exchange(this.#int, cellAt + 1 + KEY_WORDS + worker, 0);
      if (held === 0) continue;
      // A count above 0 means the entry is not LOCKED (only an empty entry is ever locked).
      Atomics.sub(this.#int, cellAt, held);
      freed += held;
    }
    // A claim the worker was in the middle of: its bucket lock and the entry it was writing.
    for (let b = 0; b < this.capacity / BUCKET; b++) {
      if (Atomics.load(this.#int, this.#locks + b) !== worker + 1) continue;
      for (let e = b * BUCKET; e < (b + 1) * BUCKET; e++) {
        const cellAt = this.#cellOf(e);
        if (Atomics.load(this.#int, cellAt) !== LOCKED) continue;
        Atomics.store(this.#int, cellAt + 1, 0);
        Atomics.store(this.#int, cellAt, 0);
      }
      Atomics.store(this.#int, this.#locks + b, 0);
    }
    return freed;
  }

  /**
   * GCRA: µs the handshake would have to wait (0 = allowed, and the bucket's timestamp has moved on).
   * The entry is pinned by the caller, so the timestamp is this address's.
   */
  #takeToken(entry: number, rate: { readonly perSecond: number; readonly burst: number }): number {
    const now = BigInt(Math.floor(this.#clock() * 1000));
    const interval = BigInt(Math.max(1, Math.round(1e6 / rate.perSecond)));
    const tolerance = interval * BigInt(Math.max(0, rate.burst - 1));
    for (;;) {
      const tat = Atomics.load(this.#tat, entry);
      const start = tat > now ? tat : now;
      if (start - now > tolerance) return Number(start - now - tolerance);
      if (Atomics.compareExchange(this.#tat, entry, tat, start + interval) === tat) return 0;
    }
  }

  /** The entry holding `key`, -1 when none does, 'busy' when an entry of its bucket is being rewritten. */
  #find(key: Int32Array): number | 'busy' {
    const first = this.#bucketOf(key) * BUCKET;
    for (let e = first; e < first + BUCKET; e++) {
      if (Atomics.load(this.#int, this.#cellOf(e)) === LOCKED) return 'busy';
      if (this.#matches(e, key)) return e;
    }
    return -1;
  }

  /** Takes an entry of the bucket for `key` (under the bucket's lock); 'full' when every entry is busy. */
  #claim(worker: number, key: Int32Array): 'claimed' | 'retry' | 'full' {
    const bucket = this.#bucketOf(key);
    const lock = this.#locks + bucket;
    // The holder's id + 1: a worker that dies holding it is known to the primary (reclaim).
    if (Atomics.compareExchange(this.#int, lock, 0, worker + 1) !== 0) return 'retry';
    try {
      // Another thread may have claimed it between our lookup and the lock.
      if (this.#find(key) !== -1) return 'retry';
      const now = BigInt(Math.floor(this.#clock() * 1000));
      for (let e = bucket * BUCKET; e < (bucket + 1) * BUCKET; e++) {
        const cellAt = this.#cellOf(e);
        const cell = Atomics.load(this.#int, cellAt);
        if ((cell & COUNT_MASK) !== 0 || Atomics.load(this.#tat, e) > now) continue;
        // Count 0: no reservation pins it; a pin that comes now fails its CAS against LOCKED.
        if (Atomics.compareExchange(this.#int, cellAt, cell, LOCKED) !== cell) continue;
        for (let w = 0; w < KEY_WORDS; w++) Atomics.store(this.#int, cellAt + 1 + w, key[w]!);
        Atomics.store(this.#tat, e, 0n);
        Atomics.store(this.#int, cellAt, ((((cell >>> COUNT_BITS) + 1) & 0xff) << COUNT_BITS) | 0);
        return 'claimed';
      }
      return 'full';
    } finally {
      Atomics.store(this.#int, lock, 0);
    }
  }

  #matches(entry: number, key: Int32Array): boolean {
    const at = this.#cellOf(entry) + 1;
    for (let w = 0; w < KEY_WORDS; w++) if (Atomics.load(this.#int, at + w) !== key[w]) return false;
    return true;
  }

  #bucketOf(key: Int32Array): number {
    return hashWords(key) % (this.capacity / BUCKET);
  }

  #cellOf(entry: number): number {
    return entry * this.#stride;
  }
}
