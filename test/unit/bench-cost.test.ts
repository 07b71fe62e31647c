// Bench: cost and ratio arithmetic (CPU ticks → µs per unit, ms per GB, KiB per connection, medians).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  connectionsPerGiB,
  foreignCoreFraction,
  kibPerConnection,
  median,
  microsPerUnit,
  millisPerGB,
  ratio,
  ticksToMicros,
  unitsPerCoreSecond,
} from '../../bench/measure/cost.js';
import { autocannonTimingSuspect } from '../../bench/scenarios/http.js';
import { splitEvenly } from '../../bench/loadgen/run-shards.js';
import { parseCpuList, planPinning } from '../../bench/measure/pinning.js';

test('µs per message from CPU clock ticks', () => {
  assert.equal(ticksToMicros(250, 100), 2_500_000);
  // 250 ticks at 100 Hz = 2.5 s of CPU for 100,000 messages = 25 µs each.
  assert.equal(microsPerUnit(250, 100, 100_000), 25);
  assert.equal(microsPerUnit(250, 1000, 100_000), 2.5);
  assert.equal(microsPerUnit(250, 100, 0), null);
});

test('ms per GB and throughput per core', () => {
  // 1.2 s of CPU for 2 GB = 600 ms/GB.
  assert.equal(millisPerGB(120, 100, 2e9), 600);
  assert.equal(millisPerGB(1, 100, 0), null);
  assert.equal(unitsPerCoreSecond(25), 40_000);
});

test('KiB per idle connection and connections per GiB', () => {
  assert.equal(kibPerConnection(50_000, 70_000, 2000), 10);
  assert.equal(kibPerConnection(1, 2, 0), null);
  assert.equal(connectionsPerGiB(16), 65_536);
});

test('ratios and medians', () => {
  assert.equal(ratio(30, 12), 2.5);
  assert.equal(ratio(1, 0), null);
  assert.equal(ratio(null, 2), null);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([null, 5, undefined, Number.NaN]), 5);
  assert.equal(median([]), null);
});

test('noise is the machine busy time our processes did not use, in cores', () => {
  // 2 s window at 100 Hz: 400 busy ticks, 380 ours → 20 ticks foreign = 10% of a core.
  assert.ok(Math.abs(foreignCoreFraction(400, 380, 2, 100) - 0.1) < 1e-12);
  assert.equal(foreignCoreFraction(100, 120, 2, 100), 0);
});

test("autocannon's keep-alive timing bug is caught by Little's law", () => {
  assert.equal(autocannonTimingSuspect(10_000, 5, 50), false); // 50 in flight with 50 connections
  assert.equal(autocannonTimingSuspect(10_000, 8, 50), true); // 80 in flight: impossible
});

test('connections are split over shards evenly', () => {
  assert.deepEqual(splitEvenly(50, 2), [25, 25]);
  assert.deepEqual(splitEvenly(7, 3), [3, 2, 2]);
  assert.deepEqual(splitEvenly(1, 4), [1]);
});

test('CPU pinning plan: proxy alone on its cores, backend and load generator on the rest', () => {
  assert.deepEqual(parseCpuList('0-3,6'), [0, 1, 2, 3, 6]);
  assert.deepEqual(planPinning([0, 1], 1), { proxy: [0], backend: [1], loadgen: [1] });
  assert.deepEqual(planPinning([0, 1, 2, 3], 2), { proxy: [0, 1], backend: [2], loadgen: [3] });
  assert.deepEqual(planPinning([0, 1], 4), { proxy: [0], backend: [1], loadgen: [1] });
  assert.equal(planPinning([0], 1), null);
  assert.throws(() => parseCpuList('a-b'));
});
