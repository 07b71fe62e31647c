// Bench: open-loop sending corrected for coordinated omission, driven with simulated time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenLoopConnection } from '../../bench/loadgen/open-loop.js';
import { createLatencyHistogram } from '../../bench/loadgen/histogram.js';

/**
 * 1000 msg/s for 1 s; every answer takes 1 ms, except that the whole client is stalled from 200 ms to
 * 300 ms (nothing is sent or received). Returns the latencies in ms, as recorded.
 */
function simulateStall(): number[] {
  const c = new OpenLoopConnection(0, 1000);
  const latencies: number[] = [];
  const pendingAnswers: number[] = []; // arrival times
  for (let now = 0; now < 1000; now += 1) {
    if (now > 200 && now < 300) continue; // stalled: the loop does not run
    // Answers that arrived by now are read first (their arrival time is when they are processed).
    while (pendingAnswers.length > 0 && pendingAnswers[0]! <= now) {
      pendingAnswers.shift();
      latencies.push(c.onResponse(now)!);
    }
    c.tick(now, () => pendingAnswers.push(now + 1));
  }
  return latencies;
}

test('messages leave on schedule and latency is measured from the intended send time', () => {
  const c = new OpenLoopConnection(100, 500); // one every 2 ms from t=100
  const sent: number[] = [];
  assert.equal(c.tick(99.9, () => sent.push(99.9)), 0);
  assert.equal(c.tick(100, () => sent.push(100)), 1);
  // The loop was late: the two messages due at 102 and 104 go at once, back to back, at 105.
  assert.equal(c.tick(105, () => sent.push(105)), 2);
  assert.deepEqual(sent, [100, 105, 105]);
  assert.equal(c.outstanding, 3);
  assert.equal(c.onResponse(101), 1); // message 0, intended at 100
  assert.equal(c.onResponse(106), 4); // message 1, intended at 102 though sent at 105
  assert.equal(c.onResponse(106), 2); // message 2, intended at 104
  assert.equal(c.nextDueMs, 106);
});

test('a 100 ms stall shows up in full in the corrected percentiles', () => {
  const lat = simulateStall();
  assert.equal(lat.length, 999); // every message is still answered (the last one is in flight)
  const h = createLatencyHistogram();
  for (const ms of lat) h.recordValue(Math.round(ms * 1000));
  // Uncorrected, every answer took 1 ms. Corrected: messages due during the stall waited for it, from
  // ~100 ms down to ~1 ms; they are about 10% of the messages, so p90 is still 1 ms and the tail is the stall.
  assert.equal(Math.round(h.getValueAtPercentile(50) / 1000), 1);
  assert.equal(Math.round(h.getValueAtPercentile(89) / 1000), 1);
  const p95 = h.getValueAtPercentile(95) / 1000;
  const p99 = h.getValueAtPercentile(99) / 1000;
  assert.ok(p95 > 45 && p95 < 55, `p95 ${p95} ms: half the stall`);
  assert.ok(p99 > 88 && p99 < 94, `p99 ${p99} ms`);
  assert.ok(h.maxValue / 1000 >= 99 && h.maxValue / 1000 <= 101, `max ${h.maxValue / 1000} ms: the whole stall`);
  h.destroy();
});

test('a rate of zero is refused', () => {
  assert.throws(() => new OpenLoopConnection(0, 0), RangeError);
});
