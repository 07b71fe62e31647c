// The native front's table of heads between the verdict and the fd's hand-over (src/server/pending-heads.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PendingHeads } from '../../src/server/pending-heads.js';

test('each value is taken once, by its id, in any order; freed slots are reused', () => {
  const p = new PendingHeads<string>();
  p.set(7, 'a');
  p.set(8, 'b');
  p.set(9, 'c');
  assert.equal(p.take(8), 'b');
  assert.equal(p.take(8), undefined, 'taken already');
  assert.equal(p.take(42), undefined, 'never set');
  p.set(10, 'd');
  assert.equal(p.take(7), 'a');
  assert.equal(p.take(10), 'd');
  assert.equal(p.take(9), 'c');
  // Ids are C's connection numbers (never -1, the free mark); many at once still work.
  for (let id = 100; id < 1100; id++) p.set(id, `v${id}`);
  for (let id = 1099; id >= 100; id--) assert.equal(p.take(id), `v${id}`);
});
