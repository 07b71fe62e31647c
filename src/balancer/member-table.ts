// Member state and statistics of every balancer, in typed arrays over one SharedArrayBuffer, so that all
// worker threads read and update the same numbers (DESIGN D2): bybusyness sees tunnels opened by other
// threads, a drain ordered through the admin endpoint reaches every thread, and the health checker of the
// primary takes a member out for all of them. No messages, no locks: single fields are read and written
// with Atomics.
//
//   SharedArrayBuffer (allocated once in the primary, handed to every worker)
//   ├─ BigInt64Array, 2 per slot: bytes relayed, errorUntil (ms since the epoch; 0 = not in error)
//   └─ Int32Array,    8 per slot: state, weight, active tunnels, active requests, probe down, probe streak
//
// Slots are allocated in config order (balancers, then members), keyed by balancer name + member URL, so
// every thread that holds the same config computes the same layout without talking to the others.
import type { Config, MemberState } from '../config/schema.js';
import { MEMBER_STATES } from '../config/schema.js';

const BIG_FIELDS = 2;
const BYTES = 0;
const ERROR_UNTIL = 1;

const INT_FIELDS = 8;
const STATE = 0;
const WEIGHT = 1;
const TUNNELS = 2;
const REQUESTS = 3;
const PROBE_DOWN = 4;
/** > 0: consecutive passed probes; < 0: consecutive failed probes. */
const PROBE_STREAK = 5;

const BYTES_PER_SLOT = BIG_FIELDS * 8 + INT_FIELDS * 4;

/** The slot layout a config implies: the same in every thread. */
export interface MemberLayout {
  /** `keyOf(balancer, url)` per slot, in slot order. */
  readonly keys: readonly string[];
  /** Size of the SharedArrayBuffer a MemberTable for this layout needs. */
  readonly byteLength: number;
}

/** The key of a member slot. */
export function memberKey(balancer: string, url: string): string {
  return `${balancer}\n${url}`;
}

/** A probe result that changed a member's health. */
export type ProbeTransition = 'up' | 'down' | undefined;

export class MemberTable {
  readonly #buffer: SharedArrayBuffer | ArrayBuffer;
  readonly #big: BigInt64Array;
  readonly #int: Int32Array;
  readonly #slots: ReadonlyMap<string, number>;
  readonly #keys: readonly string[];

  /** The slot layout of `config`. */
  static layoutFor(config: Config): MemberLayout {
    const keys: string[] = [];
    for (const [name, balancer] of Object.entries(config.balancers ?? {})) {
      for (const member of balancer.members) keys.push(memberKey(name, member.url));
    }
    return { keys, byteLength: keys.length * BYTES_PER_SLOT };
  }

  /**
   * A table private to this thread, over plain memory: for checking a config (`validate`) and for tests,
   * where nothing is shared and no SharedArrayBuffer needs to be allocated.
   */
  static unshared(config: Config): MemberTable {
    return new MemberTable(config, undefined, false);
  }

  /**
   * A table over `buffer` (shared with other threads; not re-initialised) or, when absent, over a new
   * buffer (shared unless `shared` is false) whose states and weights come from the config.
   */
  constructor(config: Config, buffer?: SharedArrayBuffer, shared = true) {
    const layout = MemberTable.layoutFor(config);
    const n = layout.keys.length;
    if (buffer !== undefined && buffer.byteLength !== layout.byteLength) {
      throw new RangeError(`member table buffer has ${buffer.byteLength} bytes; this config needs ${layout.byteLength}`);
    }
    this.#buffer = buffer ?? (shared ? new SharedArrayBuffer(layout.byteLength) : new ArrayBuffer(layout.byteLength));
    this.#big = new BigInt64Array(this.#buffer, 0, n * BIG_FIELDS);
    this.#int = new Int32Array(this.#buffer, n * BIG_FIELDS * 8, n * INT_FIELDS);
    this.#keys = layout.keys;
    this.#slots = new Map(layout.keys.map((k, i) => [k, i]));
    if (buffer === undefined) {
      for (const [name, balancer] of Object.entries(config.balancers ?? {})) {
        for (const member of balancer.members) {
          const slot = this.#slots.get(memberKey(name, member.url))!;
          this.setState(slot, member.state);
          this.setWeight(slot, member.weight);
        }
      }
    }
  }

  /** The shared memory, to hand to other threads. */
  get buffer(): SharedArrayBuffer {
    if (!(this.#buffer instanceof SharedArrayBuffer)) throw new TypeError('this member table is not shared');
    return this.#buffer;
  }

  get size(): number {
    return this.#keys.length;
  }

  slotOf(balancer: string, url: string): number | undefined {
    return this.#slots.get(memberKey(balancer, url));
  }

  state(slot: number): MemberState {
    return MEMBER_STATES[Atomics.load(this.#int, slot * INT_FIELDS + STATE)] ?? 'disabled';
  }

  setState(slot: number, state: MemberState): void {
    Atomics.store(this.#int, slot * INT_FIELDS + STATE, MEMBER_STATES.indexOf(state));
  }

  weight(slot: number): number {
    return Atomics.load(this.#int, slot * INT_FIELDS + WEIGHT);
  }

  setWeight(slot: number, weight: number): void {
    Atomics.store(this.#int, slot * INT_FIELDS + WEIGHT, weight);
  }

  activeTunnels(slot: number): number {
    return Atomics.load(this.#int, slot * INT_FIELDS + TUNNELS);
  }

  addTunnels(slot: number, delta: number): void {
    Atomics.add(this.#int, slot * INT_FIELDS + TUNNELS, delta);
  }

  activeRequests(slot: number): number {
    return Atomics.load(this.#int, slot * INT_FIELDS + REQUESTS);
  }

  addRequests(slot: number, delta: number): void {
    Atomics.add(this.#int, slot * INT_FIELDS + REQUESTS, delta);
  }

  /** Bytes relayed through the member (both directions), counted when a tunnel or request ends. */
  bytes(slot: number): number {
    return Number(Atomics.load(this.#big, slot * BIG_FIELDS + BYTES));
  }

  addBytes(slot: number, bytes: number): void {
    if (bytes > 0) Atomics.add(this.#big, slot * BIG_FIELDS + BYTES, BigInt(bytes));
  }

  /** Until when (ms since the epoch) the member is left out after a failure; 0 when it is not. */
  errorUntil(slot: number): number {
    return Number(Atomics.load(this.#big, slot * BIG_FIELDS + ERROR_UNTIL));
  }

  setErrorUntil(slot: number, until: number): void {
    Atomics.store(this.#big, slot * BIG_FIELDS + ERROR_UNTIL, BigInt(Math.max(0, Math.floor(until))));
  }

  /** Whether active health checks currently hold the member out. */
  probeDown(slot: number): boolean {
    return Atomics.load(this.#int, slot * INT_FIELDS + PROBE_DOWN) !== 0;
  }

  /**
   * Records one probe result with rise/fall thresholds: `fall` consecutive failures take a healthy member
   * out, `rise` consecutive passes readmit a down one, or one a failed connection put in error before
   * `retryMs` ran out. Returns the transition.
   */
  recordProbe(slot: number, ok: boolean, rise: number, fall: number, now: number): ProbeTransition {
    const base = slot * INT_FIELDS;
    const prev = Atomics.load(this.#int, base + PROBE_STREAK);
    const streak = ok ? (prev > 0 ? prev + 1 : 1) : prev < 0 ? prev - 1 : -1;
    Atomics.store(this.#int, base + PROBE_STREAK, streak);
    const down = this.probeDown(slot);
    if (ok && streak >= rise && (down || this.errorUntil(slot) > now)) {
      Atomics.store(this.#int, base + PROBE_DOWN, 0);
      this.setErrorUntil(slot, 0);
      return 'up';
    }
    if (!ok && !down && -streak >= fall) {
      Atomics.store(this.#int, base + PROBE_DOWN, 1);
      return 'down';
    }
    return undefined;
  }
}
