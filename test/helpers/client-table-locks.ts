// Holds every bucket lock of a client table, as other workers preempted in the middle of giving an entry
// to a new address would. White box: the Int32 region's layout is client-table.ts's (per entry a cell, 13
// key words and a count per worker; then one lock per bucket of 8 entries).
import type { ClientTable } from '../../src/limits/client-table.js';

export function holdBucketLocks(table: ClientTable): { release(): void } {
  const ints = new Int32Array(table.buffer, table.capacity * 8);
  const first = table.capacity * (1 + 13 + table.workers);
  const buckets = table.capacity / 8;
  // The holder's id + 1 (worker 1): not this thread's.
  ints.fill(2, first, first + buckets);
  return { release: () => ints.fill(0, first, first + buckets) };
}
