// Counters every worker thread writes and the primary reads without asking anyone: one SharedArrayBuffer,
// a row per worker (so writers never contend) of cells per route slot, plus error counts per catalogue code.
//
//   [worker 0][route slot 0..MAX_ROUTES-1][FIELD] ... [worker 0][error code] ... [worker 1] ...
//
// Route slots are given out by the primary by route name and survive reloads, so a route keeps its
// counters when the config changes around it.
import { ERRORS, type ErrorCode } from '../errors.js';

export const FIELD = {
  activeTunnels: 0,
  tunnelsOpened: 1,
  tunnelsClosed: 2,
  idleTimeouts: 3,
  httpRequests: 4,
  errors: 5,
  bytesToBackend: 6,
  bytesToClient: 7,
  framesDropped: 8,
} as const;
export type Field = keyof typeof FIELD;
const FIELDS = Object.keys(FIELD) as Field[];
const NFIELDS = FIELDS.length;

export const MAX_ROUTES = 256;
export const MAX_WORKERS = 256;
const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];
const ERROR_INDEX = new Map(ERROR_CODES.map((c, i) => [c, i]));

function rowLength(): number {
  return MAX_ROUTES * NFIELDS + ERROR_CODES.length;
}

export type RouteCounters = Record<Field, number>;

export interface CounterSnapshot {
  /** Per route name: sums over workers. */
  readonly routes: Record<string, RouteCounters>;
  /** Per worker id: sums over routes. */
  readonly workers: RouteCounters[];
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
  }

  snapshot(slots: ReadonlyMap<string, number>): CounterSnapshot {
    const routes: Record<string, RouteCounters> = {};
    const workers: RouteCounters[] = [];
    const errors: Partial<Record<ErrorCode, number>> = {};
    for (let w = 0; w < this.workers; w++) {
      const base = w * rowLength();
      const perWorker = zeroCounters();
      for (const [name, slot] of slots) {
        const perRoute = (routes[name] ??= zeroCounters());
        for (let f = 0; f < NFIELDS; f++) {
          const v = Number(Atomics.load(this.#cells, base + slot * NFIELDS + f));
          const field = FIELDS[f]!;
          perRoute[field] += v;
          perWorker[field] += v;
        }
      }
      workers.push(perWorker);
      const errBase = base + MAX_ROUTES * NFIELDS;
      for (let e = 0; e < ERROR_CODES.length; e++) {
        const v = Number(Atomics.load(this.#cells, errBase + e));
        if (v) errors[ERROR_CODES[e]!] = (errors[ERROR_CODES[e]!] ?? 0) + v;
      }
    }
    return { routes, workers, errors };
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
    if (i !== undefined) Atomics.add(this.#cells, this.#base + MAX_ROUTES * NFIELDS + i, 1n);
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
