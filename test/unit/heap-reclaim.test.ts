// The heap reclaimer: one memory-reducing collection after a busy window followed by a quiet one, only
// when the heap grew enough to be worth the pause; and, on a real worker thread, that V8's collection
// it asks for does give the young generation back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { HeapReclaimer, MIN_GROWTH_BYTES, exposeGcToWorkers, type ReclaimReport } from '../../src/workers/heap-reclaim.js';

function fake(initialHeap: number) {
  const state = { activity: 0, heap: initialHeap, collections: 0, reports: [] as ReclaimReport[] };
  const reclaimer = new HeapReclaimer({
    gc: (opts) => {
      assert.deepEqual(opts, { type: 'major', execution: 'sync', flavor: 'last-resort' });
      state.collections++;
      state.heap = initialHeap;
    },
    activity: () => state.activity,
    heapBytes: () => state.heap,
    onReclaim: (r) => state.reports.push(r),
  });
  return { state, reclaimer };
}

test('a quiet window after a busy one reclaims once, reporting the heap before and after', () => {
  const { state, reclaimer } = fake(10e6);
  state.activity = 5;
  state.heap += MIN_GROWTH_BYTES + 1;
  assert.equal(reclaimer.tick(), undefined, 'busy window: nothing');
  const report = reclaimer.tick();
  assert.equal(state.collections, 1);
  assert.equal(report?.heapBeforeBytes, 10e6 + MIN_GROWTH_BYTES + 1);
  assert.equal(report?.heapAfterBytes, 10e6);
  assert.ok(report.pauseMs >= 0);
  assert.deepEqual(state.reports, [report]);
  assert.equal(reclaimer.tick(), undefined, 'still quiet: no second collection without a new burst');
  assert.equal(state.collections, 1);
});

test('no collection while handshakes keep coming, none without enough growth, none without a burst', () => {
  const { state, reclaimer } = fake(10e6);
  state.heap += 4 * MIN_GROWTH_BYTES;
  assert.equal(reclaimer.tick(), undefined, 'grown but never busy: idle process, nothing to give back');
  for (let i = 0; i < 5; i++) {
    state.activity++;
    assert.equal(reclaimer.tick(), undefined);
  }
  state.heap = 10e6 + MIN_GROWTH_BYTES - 1;
  assert.equal(reclaimer.tick(), undefined, 'quiet, but grown by less than the threshold');
  assert.equal(state.collections, 0);
  state.heap = 10e6 + MIN_GROWTH_BYTES;
  assert.ok(reclaimer.tick(), 'the burst is still owed its reclaim once the heap grew enough');
});

test('setQuietMs runs the check on its own timer', async () => {
  let activity = 1;
  let heap = 0;
  const reported = new Promise<ReclaimReport>((resolve) => {
    const reclaimer = new HeapReclaimer({
      gc: () => (heap = 0),
      activity: () => activity,
      heapBytes: () => heap,
      onReclaim: (r) => {
        reclaimer.setQuietMs(0);
        resolve(r);
      },
    });
    activity = 2; // a handshake after start: the first tick sees a busy window
    heap = 2 * MIN_GROWTH_BYTES;
    reclaimer.setQuietMs(5);
  });
  // The reclaimer's timer does not keep a process alive (unref): this one keeps the test's loop running.
  const alive = setInterval(() => {}, 1000);
  const report = await reported.finally(() => clearInterval(alive));
  assert.equal(report.heapBeforeBytes, 2 * MIN_GROWTH_BYTES);
  assert.equal(report.heapAfterBytes, 0);
});

test('on a worker thread, exposeGcToWorkers gives it gc and the reclaim returns the grown young generation', async () => {
  exposeGcToWorkers();
  const src = `
    const { parentPort } = require('node:worker_threads');
    const { getHeapSpaceStatistics } = require('node:v8');
    const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').physical_space_size;
    import(${JSON.stringify(new URL('../../src/workers/heap-reclaim.js', import.meta.url).href)}).then(({ HeapReclaimer, threadGc }) => {
      const gc = threadGc();
      if (gc === undefined) return parentPort.postMessage({ gc: false });
      let activity = 0;
      const reclaimer = new HeapReclaimer({ gc, activity: () => activity, onReclaim: () => {} });
      // A burst's garbage with a live set that survives scavenges, as handshakes in flight do.
      let keep = [];
      for (let round = 0; round < 150; round++) {
        const batch = [];
        for (let i = 0; i < 20000; i++) batch.push({ i, s: 'x' + i });
        keep.push(batch);
        if (keep.length > 20) keep.shift();
        activity++;
      }
      keep = null;
      const grown = newSpace();
      reclaimer.tick();
      const report = reclaimer.tick();
      parentPort.postMessage({ gc: true, grown, after: newSpace(), report });
    });`;
  const worker = new Worker(src, { eval: true });
  const [msg] = (await once(worker, 'message')) as [{ gc: boolean; grown: number; after: number; report?: ReclaimReport }];
  await worker.terminate();
  assert.equal(msg.gc, true, 'the worker got a gc function');
  assert.ok(msg.report, 'a reclaim ran');
  assert.ok(msg.report.heapAfterBytes < msg.report.heapBeforeBytes - MIN_GROWTH_BYTES, JSON.stringify(msg.report));
  assert.ok(msg.after < msg.grown / 4, `young generation ${msg.grown} → ${msg.after} bytes`);
});
