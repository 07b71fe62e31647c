// Open-tunnel counts every worker thread reserves in and the primary repairs when a worker dies: one
// SharedArrayBuffer of Int32 cells.
//
//   [totals: global | route slot 0..MAX_ROUTES-1 | member slot 0..MAX_MEMBER_SLOTS-1]
//   [worker 0: same cells]  [worker 1: same cells] ...
//
// A reservation is a compare-and-swap on the total (so concurrent handshakes on any thread never take
// more than the limit), then an add on the worker's own row. The row is what the primary subtracts when
// the worker dies: its tunnels are gone, so are their reservations. Every reservation counts all its
// cells whether or not a limit is set, so a limit added by a reload sees the tunnels already open.
import { MAX_ROUTES } from '../workers/shared-counters.js';

/** Member slots are given out by the primary by balancer name and member URL (limit-slots.ts). */
export const MAX_MEMBER_SLOTS = 1024;
const CELLS = 1 + MAX_ROUTES + MAX_MEMBER_SLOTS;

/** A count cell: the process-wide total, one route's or one balancer member's. */
export type CountCell = number;
export const GLOBAL_CELL: CountCell = 0;
export function routeCell(slot: number): CountCell {
  return 1 + slot;
}
export function memberCell(slot: number): CountCell {
  return 1 + MAX_ROUTES + slot;
}

export class TunnelCounts {
  readonly buffer: SharedArrayBuffer;
  readonly workers: number;
  readonly #cells: Int32Array;

  static byteLength(workers: number): number {
    return (workers + 1) * CELLS * Int32Array.BYTES_PER_ELEMENT;
  }

  constructor(workers: number, buffer?: SharedArrayBuffer) {
    this.workers = workers;
    this.buffer = buffer ?? new SharedArrayBuffer(TunnelCounts.byteLength(workers));
    if (this.buffer.byteLength !== TunnelCounts.byteLength(workers)) throw new RangeError('tunnel count buffer has the wrong size');
    this.#cells = new Int32Array(this.buffer);
  }

  /** Open tunnels (and handshakes holding a reservation) counted in `cell`, over every worker. */
  count(cell: CountCell): number {
    return Atomics.load(this.#cells, cell);
  }

  /**
   * Takes one from `cell` for worker `worker` unless that would pass `max` (undefined: no limit).
   * False when the cell is full.
   */
  reserve(worker: number, cell: CountCell, max: number | undefined): boolean {
    const cells = this.#cells;
    for (;;) {
      const n = Atomics.load(cells, cell);
      if (max !== undefined && n >= max) return false;
      if (Atomics.compareExchange(cells, cell, n, n + 1) === n) break;
    }
    // Between the CAS and this add the total holds one the row does not show: a thread can only stop
    // there by worker.terminate() (an exception cannot happen between them), which is a stop, not a crash.
    Atomics.add(cells, this.#rowCell(worker, cell), 1);
    return true;
  }

  /** Gives back one reservation of `worker` in `cell`: the row first, so the total never reads less than the rows. */
  release(worker: number, cell: CountCell): void {
    Atomics.sub(this.#cells, this.#rowCell(worker, cell), 1);
    Atomics.sub(this.#cells, cell, 1);
  }

  /** Worker `worker` is dead: every reservation it held is given back (run by the primary, before a respawn). */
  reclaim(worker: number): number {
    let freed = 0;
    for (let cell = 0; cell < CELLS; cell++) {
      const held = Atomics.exchange(this.#cells, this.#rowCell(worker, cell), 0);
      if (held === 0) continue;
      Atomics.sub(this.#cells, cell, held);
      if (cell === GLOBAL_CELL) freed = held;
    }
    return freed;
  }

  #rowCell(worker: number, cell: CountCell): number {
    return (worker + 1) * CELLS + cell;
  }
}
