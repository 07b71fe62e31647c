// Bench: shard histograms encoded, decoded and merged equal one histogram that saw every value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createLatencyHistogram,
  encodeHistogram,
  mergeEncodedHistograms,
  summarizeHistogram,
} from '../../bench/loadgen/histogram.js';

/** A deterministic spread of latencies in µs (a long tail included). */
function values(seed: number, n: number): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const u = x / 2 ** 31;
    out.push(Math.max(1, Math.round(50 + (u < 0.99 ? u * 900 : 10_000 + u * 40_000))));
  }
  return out;
}

test('merging encoded shard histograms equals recording every value in one histogram', () => {
  const shards = [values(1, 5000), values(2, 3000), values(3, 7000)];
  const encoded = shards.map((vs) => {
    const h = createLatencyHistogram();
    for (const v of vs) h.recordValue(v);
    const e = encodeHistogram(h);
    h.destroy();
    return e;
  });
  const merged = mergeEncodedHistograms(encoded);
  const single = createLatencyHistogram();
  for (const v of shards.flat()) single.recordValue(v);

  assert.equal(merged.totalCount, 15_000);
  for (const p of [0, 50, 90, 99, 99.9, 99.99, 100]) {
    assert.equal(merged.getValueAtPercentile(p), single.getValueAtPercentile(p), `p${p}`);
  }
  assert.deepEqual(summarizeHistogram(merged), summarizeHistogram(single));
  merged.destroy();
  single.destroy();
});

test('summary percentiles are in microseconds and follow the recorded distribution', () => {
  const h = createLatencyHistogram();
  for (let v = 1; v <= 1000; v++) h.recordValue(v);
  const s = summarizeHistogram(h);
  assert.equal(s.count, 1000);
  assert.equal(s.minUs, 1);
  assert.equal(s.maxUs, 1000);
  assert.equal(s.p50Us, 500);
  assert.equal(s.p99Us, 990);
  assert.ok(Math.abs(s.meanUs - 500.5) < 1);
  assert.equal(s.curve.at(-1)?.percentile, 100);
  h.destroy();
});

test('an empty shard merges to nothing and summarises to zeros', () => {
  const merged = mergeEncodedHistograms([]);
  const s = summarizeHistogram(merged);
  assert.equal(s.count, 0);
  assert.equal(s.p99Us, 0);
  merged.destroy();
});
