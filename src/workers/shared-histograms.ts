// Histograms every worker thread writes into its own row of the shared counters, read by the primary at
// scrape time (summed over workers, so no lock and no message). A series is its bucket counts (not
// cumulative; the last bucket is +Inf) and the sum of the observed values in microseconds.
import { HANDSHAKE_OUTCOMES } from '../metrics/handshake-outcome.js';

export interface HistogramSpec {
  /** Upper bounds in seconds, ascending; +Inf is implicit. */
  readonly buckets: readonly number[];
  /** Label values, one series each. */
  readonly series: readonly string[];
}

export const HISTOGRAMS = {
  /** From the upgrade request to the 101 (or the failure), by outcome. */
  handshake: { buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], series: HANDSHAKE_OUTCOMES },
  /** Tunnel lifetimes, from seconds to a day. */
  tunnelDuration: { buckets: [1, 5, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400], series: ['all'] },
} as const satisfies Record<string, HistogramSpec>;
export type HistogramName = keyof typeof HISTOGRAMS;
const NAMES = Object.keys(HISTOGRAMS) as HistogramName[];

/** Cells of one series: buckets, +Inf, sum. */
function seriesCells(spec: HistogramSpec): number {
  return spec.buckets.length + 2;
}

function histogramCells(spec: HistogramSpec): number {
  return spec.series.length * seriesCells(spec);
}

/** Where each histogram starts inside the histogram section of a row. */
const OFFSETS = new Map<HistogramName, number>();
let cells = 0;
for (const name of NAMES) {
  OFFSETS.set(name, cells);
  cells += histogramCells(HISTOGRAMS[name]);
}
export const HISTOGRAM_CELLS = cells;

/** Adds one observation of `seconds` to series `label` of `name`, in the section at `base`. */
export function observe(cellArray: BigInt64Array, base: number, name: HistogramName, label: string, seconds: number): void {
  const spec: HistogramSpec = HISTOGRAMS[name];
  const series = spec.series.indexOf(label);
  if (series < 0) return;
  const at = base + OFFSETS.get(name)! + series * seriesCells(spec);
  let bucket = spec.buckets.findIndex((le) => seconds <= le);
  if (bucket < 0) bucket = spec.buckets.length;
  Atomics.add(cellArray, at + bucket, 1n);
  Atomics.add(cellArray, at + spec.buckets.length + 1, BigInt(Math.max(0, Math.round(seconds * 1e6))));
}

/** One series as a scrape shows it. */
export interface HistogramSeries {
  readonly label: string;
  /** Cumulative counts per bucket bound, then +Inf (= count). */
  readonly cumulative: readonly number[];
  readonly sumSeconds: number;
}

/** Every series of `name` that saw an observation, summed over the sections at `bases`. */
export function readHistogram(cellArray: BigInt64Array, bases: readonly number[], name: HistogramName): HistogramSeries[] {
  const spec: HistogramSpec = HISTOGRAMS[name];
  const width = seriesCells(spec);
  const out: HistogramSeries[] = [];
  spec.series.forEach((label, s) => {
    const sums = new Array<number>(width).fill(0);
    for (const base of bases) {
      const at = base + OFFSETS.get(name)! + s * width;
      for (let i = 0; i < width; i++) sums[i]! += Number(Atomics.load(cellArray, at + i));
    }
    const counts = sums.slice(0, spec.buckets.length + 1);
    if (counts.every((c) => c === 0)) return;
    let running = 0;
    out.push({ label, cumulative: counts.map((c) => (running += c)), sumSeconds: sums[width - 1]! / 1e6 });
  });
  return out;
}
