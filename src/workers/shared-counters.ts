// Counters every worker thread writes and the primary reads without asking anyone: one SharedArrayBuffer,
// a row per worker (so writers never contend) of cells per route slot, plus error counts per catalogue code.
//
//   [worker 0][route slot 0..MAX_ROUTES-1][FIELD] ... [worker 0][error code] ... [worker 0][histograms]
//   [worker 0][WORKER_FIELD] ... [worker 1] ...
//
// Route slots are given out by the primary by route name and survive reloads, so a route keeps its
// counters when the config changes around it. A route's balancer members get slots of their own, keyed
// by memberSlotKey(route, member URL), for bytes by route and member.
import { ERRORS, type ErrorCode } from '../errors.js';
import { HISTOGRAM_CELLS, observe, readHistogram, type HistogramName, type HistogramSeries } from './shared-histograms.js';

export const FIELD = {
  activeTunnels: 0,
  tunnelsOpened: 1,
  tunnelsClosed: 2,
  idleTimeouts: 3,
  httpRequests: 4,
  errors: 5,
  bytesToBackend: 6,
  bytesToClient: 7,
  // Tunnel closes by what ended them (TunnelCloseReason, and `drain` for a tunnel closed by a drain).
  closeClientClosed: 8,
  closeBackendClosed: 9,
  closeIdleTimeout: 10,
  closeClientError: 11,
  closeBackendError: 12,
  closeClosed: 13,
  closeDestroyed: 14,
  closeDrain: 15,
  framesDropped: 16,
} as const;
export type Field = keyof typeof FIELD;
const FIELDS = Object.keys(FIELD) as Field[];
const NFIELDS = FIELDS.length;

export const MAX_ROUTES = 256;
export const MAX_WORKERS = 256;
const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];
const ERROR_INDEX = new Map(ERROR_CODES.map((c, i) => [c, i]));

/**
 * Per-worker cells after the histograms: a drain in progress, and how many tunnels it started with; the
 * writes the worker's tunnels made, by engine, and its native backend legs' sends (thread-wide counts:
 * they are not kept per route or tunnel); the native front's handshakes taken and connections given to
 * node:http (config `tunnel.front`).
 */
const WORKER_FIELD = { draining: 0, drainTunnels: 1, writesJs: 2, writesNative: 3, writesBackendLeg: 4, frontTaken: 5, frontGivenBack: 6 } as const;
const NWORKER_FIELDS = 7;

/** What the native front did with a connection. */
export type FrontEvent = 'taken' | 'givenBack';
const FRONT_FIELD = { taken: WORKER_FIELD.frontTaken, givenBack: WORKER_FIELD.frontGivenBack } as const;

/** The tunnel engines whose writes are counted apart. */
export type WriteEngine = 'js' | 'native';
/** What writes are counted for: each engine's tunnels, and the native engine's backend legs (handshake requests). */
export type WriteCounter = WriteEngine | 'backendLeg';
const WRITES_FIELD = { js: WORKER_FIELD.writesJs, native: WORKER_FIELD.writesNative, backendLeg: WORKER_FIELD.writesBackendLeg } as const;

const ERROR_BASE = MAX_ROUTES * NFIELDS;
const HISTOGRAM_BASE = ERROR_BASE + ERROR_CODES.length;
const WORKER_BASE = HISTOGRAM_BASE + HISTOGRAM_CELLS;

function rowLength(): number {
  return WORKER_BASE + NWORKER_FIELDS;
}

/** The field counting closes for a close reason ('client-closed' → closeClientClosed). */
export function closeField(reason: string): Field | undefined {
  const field = `close${reason.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`;
  return Object.hasOwn(FIELD, field) ? (field as Field) : undefined;
}

/** The close reasons the close fields count, in FIELD order. */
export const CLOSE_REASONS = FIELDS.filter((f) => f.startsWith('close')).map((f) =>
  f.slice('close'.length).replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `-${c.toLowerCase()}`)),
);

/** The slot name of bytes relayed by `route` through balancer member `url`. */
export function memberSlotKey(route: string, url: string): string {
  return `${route}\u0000${url}`;
}

export type RouteCounters = Record<Field, number>;

export interface CounterSnapshot {
  /** Per route name: sums over workers. */
  readonly routes: Record<string, RouteCounters>;
  /** Per route and balancer member (bytes only are counted there): sums over workers. */
  readonly routeMembers: readonly { readonly route: string; readonly member: string; readonly counters: RouteCounters }[];
  /** Per histogram: its series summed over workers. */
  readonly histograms: Record<HistogramName, HistogramSeries[]>;
  /** Per worker id: whether it is draining and how many tunnels it had when the drain began. */
  readonly drains: readonly { readonly draining: boolean; readonly tunnelsAtStart: number }[];
  /** Per worker id: sums over routes. */
  readonly workers: RouteCounters[];
  /** Per worker id: the writes its tunnels made, by engine (see WorkerStats). */
  readonly tunnelWrites: readonly Readonly<Record<WriteEngine, number>>[];
  /** Per worker id: the send(2) calls its native backend legs made writing handshake requests (see WorkerStats). */
  readonly backendLegWrites: readonly number[];
  /** Per worker id: the native front's handshakes taken and connections given back to node:http. */
  readonly front: readonly Readonly<Record<FrontEvent, number>>[];
  /** Per error code: sums over workers. */
  readonly errors: Partial<Record<ErrorCode, number>>;
}

function zeroCounters(): RouteCounters {
  return Object.fromEntries(FIELDS.map((f) => [f, 0])) as RouteCounters;
}

export class SharedCounters {
  readonly buffer: SharedArrayBuffer;
  readonly workers: number;
  readonly #cells: BigInt64Array;

  static byteLength(workers: number): number {
    return workers * rowLength() * BigInt64Array.BYTES_PER_ELEMENT;
  }

  constructor(workers: number, buffer?: SharedArrayBuffer) {
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
      throw new RangeError(`workers must be 1..${MAX_WORKERS}`);
    }
    this.workers = workers;
    this.buffer = buffer ?? new SharedArrayBuffer(SharedCounters.byteLength(workers));
    if (this.buffer.byteLength !== SharedCounters.byteLength(workers)) throw new RangeError('counter buffer has the wrong size');
    this.#cells = new BigInt64Array(this.buffer);
  }

  /** The writer a worker uses for its own row. */
  writer(worker: number): CounterWriter {
    if (worker < 0 || worker >= this.workers) throw new RangeError(`no worker row ${worker}`);
    return new CounterWriter(this.#cells, worker * rowLength());
  }

  /** A dead worker's tunnels are gone: its active gauges go back to zero (totals stay). */
  resetActive(worker: number): void {
    const base = worker * rowLength();
    for (let slot = 0; slot < MAX_ROUTES; slot++) Atomics.store(this.#cells, base + slot * NFIELDS + FIELD.activeTunnels, 0n);
    Atomics.store(this.#cells, base + WORKER_BASE + WORKER_FIELD.draining, 0n);
  }

  snapshot(slots: ReadonlyMap<string, number>): CounterSnapshot {
    const routes: Record<string, RouteCounters> = {};
    const members = new Map<string, RouteCounters>();
    const workers: RouteCounters[] = [];
    const errors: Partial<Record<ErrorCode, number>> = {};
    const drains: { draining: boolean; tunnelsAtStart: number }[] = [];
    const tunnelWrites: Record<WriteEngine, number>[] = [];
    const backendLegWrites: number[] = [];
    const front: Record<FrontEvent, number>[] = [];
    const bases: number[] = [];
    for (let w = 0; w < this.workers; w++) {
      const base = w * rowLength();
      bases.push(base + HISTOGRAM_BASE);
      const perWorker = zeroCounters();
      for (const [name, slot] of slots) {
        // A member slot's bytes are also in its route's slot: they are not added to the worker's sums again.
        const isMember = name.includes('\u0000');
        const perRoute = isMember ? members.get(name) ?? members.set(name, zeroCounters()).get(name)! : (routes[name] ??= zeroCounters());
        for (let f = 0; f < NFIELDS; f++) {
          const v = Number(Atomics.load(this.#cells, base + slot * NFIELDS + f));
          const field = FIELDS[f]!;
          perRoute[field] += v;
          if (!isMember) perWorker[field] += v;
        }
      }
      workers.push(perWorker);
      drains.push({
        draining: Atomics.load(this.#cells, base + WORKER_BASE + WORKER_FIELD.draining) !== 0n,
        tunnelsAtStart: Number(Atomics.load(this.#cells, base + WORKER_BASE + WORKER_FIELD.drainTunnels)),
      });
      const writes = (kind: WriteCounter) => Number(Atomics.load(this.#cells, base + WORKER_BASE + WRITES_FIELD[kind]));
      tunnelWrites.push({ js: writes('js'), native: writes('native') });
      backendLegWrites.push(writes('backendLeg'));
      front.push({
        taken: Number(Atomics.load(this.#cells, base + WORKER_BASE + FRONT_FIELD.taken)),
        givenBack: Number(Atomics.load(this.#cells, base + WORKER_BASE + FRONT_FIELD.givenBack)),
      });
      const errBase = base + ERROR_BASE;
      for (let e = 0; e < ERROR_CODES.length; e++) {
        const v = Number(Atomics.load(this.#cells, errBase + e));
        if (v) errors[ERROR_CODES[e]!] = (errors[ERROR_CODES[e]!] ?? 0) + v;
      }
    }
    const routeMembers = [...members].map(([key, counters]) => {
      const [route, member] = key.split('\u0000') as [string, string];
      return { route, member, counters };
    });
    const histograms = {
      handshake: readHistogram(this.#cells, bases, 'handshake'),
      tunnelDuration: readHistogram(this.#cells, bases, 'tunnelDuration'),
    };
    return { routes, routeMembers, workers, errors, histograms, drains, tunnelWrites, backendLegWrites, front };
  }
}

/** One worker's view: adds to its own row only. */
export class CounterWriter {
  readonly #cells: BigInt64Array;
  readonly #base: number;

  constructor(cells: BigInt64Array, base: number) {
    this.#cells = cells;
    this.#base = base;
  }

  add(slot: number, field: Field, n: number): void {
    if (n === 0) return;
    Atomics.add(this.#cells, this.#base + slot * NFIELDS + FIELD[field], BigInt(n));
  }

  error(code: ErrorCode): void {
    const i = ERROR_INDEX.get(code);
    if (i !== undefined) Atomics.add(this.#cells, this.#base + ERROR_BASE + i, 1n);
  }

  observe(name: HistogramName, label: string, seconds: number): void {
    observe(this.#cells, this.#base + HISTOGRAM_BASE, name, label, seconds);
  }

  /** Adds `n` writes made by this worker's tunnels on an engine, or by its backend legs. */
  addWrites(kind: WriteCounter, n: number): void {
    if (n > 0) Atomics.add(this.#cells, this.#base + WORKER_BASE + WRITES_FIELD[kind], BigInt(n));
  }

  /** The native front took a handshake or gave a connection back. */
  front(event: FrontEvent): void {
    Atomics.add(this.#cells, this.#base + WORKER_BASE + FRONT_FIELD[event], 1n);
  }

  /** This worker began draining with `tunnels` open. */
  draining(tunnels: number): void {
    Atomics.store(this.#cells, this.#base + WORKER_BASE + WORKER_FIELD.drainTunnels, BigInt(tunnels));
    Atomics.store(this.#cells, this.#base + WORKER_BASE + WORKER_FIELD.draining, 1n);
  }
}

/** Route name → slot, assigned in the primary and kept across reloads. */
export class RouteSlots {
  readonly #slots = new Map<string, number>();

  /** Assigns slots to new names; names beyond capacity share the last slot (`(other)`). */
  assign(names: Iterable<string>): ReadonlyMap<string, number> {
    for (const name of names) {
      if (this.#slots.has(name)) continue;
      const next = this.#slots.size;
      this.#slots.set(name, next < MAX_ROUTES - 1 ? next : MAX_ROUTES - 1);
    }
    return this.#slots;
  }

  /** What `assign(names)` would give, without assigning: for a reload that may still be aborted. */
  preview(names: Iterable<string>): ReadonlyMap<string, number> {
    const copy = new RouteSlots();
    copy.assign(this.#slots.keys());
    return copy.assign(names);
  }

  get map(): ReadonlyMap<string, number> {
    return this.#slots;
  }
}
