import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TunnelInfo } from '../../src/server/open-tunnels.js';
import type { PrimaryMessage } from '../../src/workers/protocol.js';
import { mergePages, TunnelQueries } from '../../src/workers/tunnel-queries.js';

const info = (id: number, worker: number): TunnelInfo => ({
  id,
  worker,
  route: 'r',
  member: null,
  client: '127.0.0.1',
  engine: 'js',
  ageMs: 0,
  bytesToBackend: 0,
  bytesToClient: 0,
});
const answer = (seq: number, ids: number[], worker: number) => ({ type: 'tunnel-answer' as const, seq, tunnels: ids.map((id) => info(id, worker)), closed: 0 });

test('pages of several workers merge in id order; next is the last id shown while any worker may hold more', () => {
  const page = mergePages({ answers: [answer(1, [11, 12, 13], 0), answer(1, [5, 30], 1)], unanswered: [] }, 3);
  assert.deepEqual(page.tunnels.map((t) => t.id), [5, 11, 12]);
  assert.equal(page.next, 12);
  const last = mergePages({ answers: [answer(1, [13], 0), answer(1, [30], 1)], unanswered: [] }, 3);
  assert.deepEqual(last.tunnels.map((t) => t.id), [13, 30]);
  assert.equal(last.next, null);
  const full = mergePages({ answers: [answer(1, [1, 2], 0), answer(1, [], 1)], unanswered: [2] }, 2);
  assert.equal(full.next, 2, 'a worker that filled the page may hold more');
  assert.deepEqual(full.unanswered, [2]);
});

test('a worker that exits before it answers is named in unanswered; the others are still waited for', async () => {
  const queries = new TunnelQueries();
  const sent: PrimaryMessage[] = [];
  const workers = [0, 1, 2].map((id) => ({ id, post: (m: PrimaryMessage) => sent.push(m) }));
  const listing = queries.list(workers, { after: 0, limit: 10 });
  assert.equal(sent.length, 3);
  const seq = (sent[0] as { seq: number }).seq;
  queries.answered(0, answer(seq, [1, 2], 0));
  queries.gone(1);
  queries.answered(0, answer(seq, [99], 0)); // a repeated answer counts once
  queries.answered(2, answer(seq, [7], 2));
  const page = await listing;
  assert.deepEqual(page.tunnels.map((t) => t.id), [1, 2, 7]);
  assert.deepEqual(page.unanswered, [1]);
  assert.equal(page.next, null);
  // Closing adds up what each worker closed.
  const closing = queries.close(workers.slice(0, 2), { member: 'ws://m/' });
  const closeSeq = (sent[3] as { seq: number }).seq;
  queries.answered(0, { type: 'tunnel-answer', seq: closeSeq, tunnels: [], closed: 2 });
  queries.answered(1, { type: 'tunnel-answer', seq: closeSeq, tunnels: [], closed: 3 });
  assert.deepEqual(await closing, { closed: 5, unanswered: [] });
});
