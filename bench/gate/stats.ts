// The gate's statistics, pure: the paired log ratios of a window sequence (base and head of each window
// recorded side by side), Student's t quantiles
// (for the interval of a mean of 10–20 pairs, where a bootstrap percentile interval is too narrow),
// the Bonferroni-corrected interval of the mean log ratio, and a seeded PRNG for the resampling estimate.

/** Which revision a window measured. */
export type Rev = 'base' | 'head';

export interface WindowCost {
  rev: Rev;
  /** Proxy cost per unit of work in this window; null when the window did no work or was not measured. */
  cost: number | null;
}

/** ln(head ÷ base) of each complete pair of consecutive records; a pair with a missing cost is dropped. */
export function pairLogRatios(windows: readonly WindowCost[]): number[] {
  const out: number[] = [];
  for (let k = 0; k + 1 < windows.length; k += 2) {
    const a = windows[k]!;
    const b = windows[k + 1]!;
    const head = a.rev === 'head' ? a : b;
    const base = a.rev === 'base' ? a : b;
    if (head === base || head.cost === null || base.cost === null || head.cost <= 0 || base.cost <= 0) continue;
    out.push(Math.log(head.cost / base.cost));
  }
  return out;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1). */
export function sampleSd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9): 15 significant digits, plenty for quantiles to 4 digits.
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularised incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(x, a, b)) / a : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The t with P(T ≤ t) = p (bisection on the CDF; p in (0, 1)). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new RangeError(`studentTQuantile(${p}, ${df})`);
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200 && hi - lo > 1e-10; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface RatioInterval {
  /** Pairs the interval is made of. */
  n: number;
  /** exp(mean log ratio): the geometric mean of head ÷ base. */
  ratio: number;
  /** One-sided bounds, each at `confidence`: the lower one decides a regression, the upper an improvement. */
  lower: number;
  upper: number;
  /** Confidence of each one-sided bound (after the correction for the number of figures). */
  confidence: number;
}

/**
 * The t bounds of the mean log ratio, turned back into ratios. The gate asks two one-sided questions of
 * each figure: "costlier than the limit?" (the lower bound, the only one that can fail it) and "cheaper?"
 * (the upper bound, reported). `familyAlpha` is shared by `figures` such questions of each kind
 * (Bonferroni): each bound is a one-sided (1 − familyAlpha / figures) bound, so the chance that any figure
 * of an unchanged head fails is at most familyAlpha. (A two-sided interval at that confidence would spend
 * half of the error on the side that never fails the gate, and widen the lower bound for nothing.) Null
 * with fewer than 3 units.
 */
export function ratioInterval(logRatios: readonly number[], figures: number, familyAlpha = 0.05): RatioInterval | null {
  const n = logRatios.length;
  if (n < 3) return null;
  const m = mean(logRatios);
  const confidence = 1 - familyAlpha / Math.max(1, figures);
  const half = studentTQuantile(confidence, n - 1) * (sampleSd(logRatios) / Math.sqrt(n));
  return { n, ratio: Math.exp(m), lower: Math.exp(m - half), upper: Math.exp(m + half), confidence };
}

/**
 * The independent units of a figure's interval. Pairs measured by the same two proxy processes share
 * those processes' own speed (which differs between identical processes by more than a regression:
 * bench/README.md), so with several blocks of processes the unit is a block's mean log ratio; with one
 * block (memory: a fresh process per sample) it is the pair.
 */
export function unitLogRatios(blocks: readonly (readonly number[])[]): number[] {
  const groups = blocks.filter((g) => g.length > 0);
  return groups.length > 1 ? groups.map((g) => mean(g)) : [...(groups[0] ?? [])];
}

/** mulberry32: a small seeded PRNG, so a resampling estimate is reproducible. Returns [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n draws with replacement from xs. */
export function resample<T>(xs: readonly T[], n: number, random: () => number): T[] {
  return Array.from({ length: n }, () => xs[Math.floor(random() * xs.length)]!);
}
