// Latency histograms for the load generator: every shard records into its own hdr histogram (values
// in microseconds), encodes it, and the main thread decodes and merges them. Pure: no sockets.
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/** Percentiles drawn in the report's plots and kept in the JSON results (x axis of the curve). */
export const CURVE_PERCENTILES = [0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100] as const;

export interface LatencySummary {
  /** How many latencies were recorded. */
  count: number;
  /** Microseconds. */
  minUs: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  /** Value at each of CURVE_PERCENTILES, in microseconds: the percentile plot. */
  curve: { percentile: number; us: number }[];
}

/** 1 µs to 60 s at 3 significant digits; auto-resizes if a value is larger (it never throws while recording). */
export function createLatencyHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
    bitBucketSize: 32,
  });
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Decodes every shard's histogram and adds them into one (the same as if one recorder saw every value). */
export function mergeEncodedHistograms(encoded: readonly string[]): Histogram {
  const merged = createLatencyHistogram();
  for (const e of encoded) {
    const h = hdr.decodeFromCompressedBase64(e, 32);
    merged.add(h);
    h.destroy();
  }
  return merged;
}

export function summarizeHistogram(h: Histogram): LatencySummary {
  const count = h.totalCount;
  const at = (p: number) => (count === 0 ? 0 : h.getValueAtPercentile(p));
  return {
    count,
    minUs: count === 0 ? 0 : h.minNonZeroValue,
    meanUs: count === 0 ? 0 : round1(h.mean),
    p50Us: at(50),
    p90Us: at(90),
    p99Us: at(99),
    p999Us: at(99.9),
    // The highest recorded value at the histogram's resolution (what survives encoding and merging).
    maxUs: at(100),
    curve: CURVE_PERCENTILES.map((percentile) => ({ percentile, us: at(percentile) })),
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
