// The resampling estimate of the gate's error rates, pure: thousands of simulated gate decisions, each
// drawing its pairs with replacement from per-pair log ratios recorded by real gate runs. A/A runs (base
// and head the same code) give the false-alarm rate; self-test runs (a calibrated regression injected)
// the detection rate; and A/A pairs shifted by ln(r) the smallest regression r caught 9 times in 10.
import { REGRESSION_LIMIT } from './figures.js';
import { ratioInterval, resample } from './stats.js';

/**
 * Per figure key: the pooled units' log ratios, how many units a real gate run draws first (`pairs`),
 * and how many more it draws when the first ones are undecided above the limit (`extra`, CPU figures).
 */
export type Pools = Record<string, { logRatios: number[]; pairs: number; extra: number }>;

/**
 * The pools with each figure's mean log ratio removed. For A/A runs the true difference is zero (the same
 * code), so what the recorded mean differs from zero by is sampling error of a few runs; resampling the
 * raw pool would count that error as a standing regression. Both are reported.
 */
export function centered(pools: Pools): Pools {
  const out: Pools = {};
  for (const [k, p] of Object.entries(pools)) {
    const m = p.logRatios.length ? p.logRatios.reduce((a, b) => a + b, 0) / p.logRatios.length : 0;
    out[k] = { logRatios: p.logRatios.map((x) => x - m), pairs: p.pairs, extra: p.extra };
  }
  return out;
}

/**
 * Whether one simulated figure fails: its resampled interval's lower bound above the limit. As the gate
 * does (decision.ts `wantsMoreBlocks`), a first draw whose point estimate is above the limit, with its
 * interval above 1 but across the limit, draws `extra` more units and decides on all of them.
 */
export function figureFails(logRatios: readonly number[], pairs: number, figureCount: number, random: () => number, shift = 0, extra = 0): boolean {
  const draw = resample(logRatios, pairs, random).map((x) => x + shift);
  const i = ratioInterval(draw, figureCount);
  if (i === null) return false;
  if (i.lower > REGRESSION_LIMIT) return true;
  if (extra <= 0 || i.ratio <= REGRESSION_LIMIT || i.lower <= 1) return false;
  const all = [...draw, ...resample(logRatios, extra, random).map((x) => x + shift)];
  const j = ratioInterval(all, figureCount);
  return j !== null && j.lower > REGRESSION_LIMIT;
}

export interface SimulatedRates {
  trials: number;
  /** Fraction of simulated gates in which at least one figure failed. */
  gateFailRate: number;
  /** Per figure: fraction of simulated gates in which that figure failed. */
  figureFailRate: Record<string, number>;
}

export function simulateGates(pools: Pools, figureCount: number, trials: number, random: () => number): SimulatedRates {
  const keys = Object.keys(pools).filter((k) => pools[k]!.logRatios.length > 0);
  const fails: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
  let gateFails = 0;
  for (let t = 0; t < trials; t++) {
    let any = false;
    for (const k of keys) {
      if (figureFails(pools[k]!.logRatios, pools[k]!.pairs, figureCount, random, 0, pools[k]!.extra)) {
        fails[k]!++;
        any = true;
      }
    }
    if (any) gateFails++;
  }
  return {
    trials,
    gateFailRate: gateFails / trials,
    figureFailRate: Object.fromEntries(keys.map((k) => [k, fails[k]! / trials])),
  };
}

/**
 * The smallest head ÷ base ratio (in steps of `step`, up to `max`) that the figure catches in at least
 * `target` of the simulated gates, when it is added to the recorded A/A pairs; null if none up to max.
 */
export function smallestCaught(
  pool: Pools[string],
  figureCount: number,
  trials: number,
  random: () => number,
  target = 0.9,
  step = 0.005,
  max = 1.6,
): number | null {
  for (let r = 1; r <= max + 1e-9; r += step) {
    const shift = Math.log(r);
    let caught = 0;
    for (let t = 0; t < trials; t++) if (figureFails(pool.logRatios, pool.pairs, figureCount, random, shift, pool.extra)) caught++;
    if (caught / trials >= target) return Number(r.toFixed(3));
  }
  return null;
}
