// Bench: the perf gate's statistics — paired log ratios, Student's t quantiles, the
// Bonferroni-corrected interval, and the resampling estimate of false-alarm and detection rates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateGates, smallestCaught } from '../../bench/gate/estimate.js';
import {
  pairLogRatios,
  ratioInterval,
  resample,
  sampleSd,
  seededRandom,
  studentTCdf,
  studentTQuantile,
  unitLogRatios,
} from '../../bench/gate/stats.js';

const close = (a: number, b: number, eps: number, what: string) => assert.ok(Math.abs(a - b) < eps, `${what}: ${a} is not ${b}`);

test('pair log ratios are ln(head ÷ base) whichever went first; a pair with a missing window is dropped', () => {
  const r = pairLogRatios([
    { rev: 'base', cost: 10 },
    { rev: 'head', cost: 11 },
    { rev: 'head', cost: 9 },
    { rev: 'base', cost: 10 },
    { rev: 'base', cost: null },
    { rev: 'head', cost: 12 },
    { rev: 'head', cost: 5 },
  ]);
  assert.equal(r.length, 2, 'the null pair and the odd last window give nothing');
  close(r[0]!, Math.log(1.1), 1e-12, 'first pair');
  close(r[1]!, Math.log(0.9), 1e-12, 'second pair');
});

test('Student t quantiles match the tables', () => {
  close(studentTQuantile(0.975, 9), 2.262157, 1e-5, 't(0.975, 9)');
  close(studentTQuantile(0.995, 9), 3.249836, 1e-5, 't(0.995, 9)');
  close(studentTQuantile(0.995, 19), 2.860935, 1e-5, 't(0.995, 19)');
  close(studentTQuantile(0.975, 1), 12.7062, 1e-3, 't(0.975, 1)');
  close(studentTQuantile(0.05, 30), -1.697261, 1e-5, 't(0.05, 30)');
  close(studentTCdf(0, 5), 0.5, 1e-12, 'cdf(0)');
  assert.throws(() => studentTQuantile(1, 5), RangeError);
});

test('the bounds are one-sided t bounds of the mean log ratio, each widened for the number of figures', () => {
  const xs = [0.1, 0.12, 0.08, 0.11, 0.09, 0.1, 0.13, 0.07, 0.1, 0.1];
  const one = ratioInterval(xs, 1)!;
  const five = ratioInterval(xs, 5)!;
  close(one.ratio, Math.exp(0.1), 1e-12, 'geometric mean ratio');
  const se = sampleSd(xs) / Math.sqrt(10);
  // t(0.95, 9) = 1.833113 and t(0.99, 9) = 2.821438: a one-sided 95 % bound, and 99 % for each of five.
  close(Math.log(one.lower), 0.1 - 1.833113 * se, 1e-6, 'one figure: one-sided 95% lower bound');
  close(Math.log(one.upper), 0.1 + 1.833113 * se, 1e-6, 'one figure: one-sided 95% upper bound');
  close(Math.log(five.lower), 0.1 - 2.821438 * se, 1e-6, 'five figures: each bound at 99% (Bonferroni)');
  assert.equal(five.confidence, 0.99);
  assert.ok(five.lower < one.lower && five.upper > one.upper);
  assert.equal(ratioInterval([0.1, 0.2], 1), null, 'fewer than 3 pairs give no interval');
});

test('with several blocks of processes the units are the block means; with one, the pairs', () => {
  const a = [0.3, 0.32, 0.28];
  const b = [-0.3, -0.28];
  assert.deepEqual(unitLogRatios([a, b, []]).map((x) => Number(x.toFixed(6))), [0.3, -0.29]);
  assert.deepEqual(unitLogRatios([a]), a);
  assert.deepEqual(unitLogRatios([]), []);
});

test('the seeded PRNG is reproducible, and resampling draws from the given values only', () => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const xs = Array.from({ length: 5 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const draw = resample([1, 2, 3], 50, seededRandom(1));
  assert.equal(draw.length, 50);
  assert.ok(draw.every((x) => [1, 2, 3].includes(x)));
});

/** Normal log ratios with the given mean and spread (Box–Muller on the seeded PRNG). */
function normalPairs(n: number, mu: number, sd: number, seed: number): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => mu + sd * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

test('resampled A/A units rarely fail; a 10 % shift with 3 % noise is nearly always caught', () => {
  const aa = { 'echo.cpu_per_msg': { logRatios: normalPairs(200, 0, 0.03, 1), pairs: 10, extra: 0 } };
  const sim = simulateGates(aa, 5, 2000, seededRandom(2));
  assert.ok(sim.gateFailRate < 0.01, `false alarms ${sim.gateFailRate}`);
  const injected = { 'echo.cpu_per_msg': { logRatios: normalPairs(200, Math.log(1.1), 0.03, 3), pairs: 10, extra: 0 } };
  assert.ok(simulateGates(injected, 5, 2000, seededRandom(4)).figureFailRate['echo.cpu_per_msg']! > 0.9);
  const smallest = smallestCaught(aa['echo.cpu_per_msg'], 5, 500, seededRandom(5))!;
  // Caught 9 in 10 needs the mean above 1.03 by about (t₀.₉₉₅,₉ + z₀.₉) standard errors: ≈ +7 % here.
  assert.ok(smallest > 1.05 && smallest < 1.09, `smallest caught ${smallest}`);
});

test('the second stage: undecided figures above the limit get more units, which lifts detection and barely moves false alarms', () => {
  // Six units of spread 0.02 around +6 %: six alone rarely clear 1.03 with 9 figures' correction.
  const small = { 'echo.cpu_per_msg': { logRatios: normalPairs(300, Math.log(1.06), 0.02, 6), pairs: 6, extra: 0 } };
  const one = simulateGates(small, 9, 2000, seededRandom(7)).figureFailRate['echo.cpu_per_msg']!;
  const two = simulateGates({ 'echo.cpu_per_msg': { ...small['echo.cpu_per_msg'], extra: 6 } }, 9, 2000, seededRandom(7)).figureFailRate['echo.cpu_per_msg']!;
  assert.ok(two > one + 0.3, `one stage ${one}, two stages ${two}`);
  const aa = { 'echo.cpu_per_msg': { logRatios: normalPairs(300, 0, 0.02, 8), pairs: 6, extra: 6 } };
  assert.ok(simulateGates(aa, 9, 2000, seededRandom(9)).gateFailRate < 0.01);
});
