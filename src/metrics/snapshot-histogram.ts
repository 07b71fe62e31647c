// A prom-client Histogram whose values come from a snapshot of the shared counters at scrape time
// (workers observe into shared memory; prom-client's own histogram lives in one thread's heap).
import { Histogram, type MetricObjectWithValues, type MetricValueWithName, type Registry } from 'prom-client';
import type { HistogramSeries } from '../workers/shared-histograms.js';

export interface SnapshotHistogramSpec {
  readonly name: string;
  readonly help: string;
  /** The label each series is told apart by; undefined for a histogram of one series. */
  readonly label: string | undefined;
  readonly buckets: readonly number[];
  readonly read: () => readonly HistogramSeries[];
}

class SnapshotHistogram extends Histogram<string> {
  readonly #spec: SnapshotHistogramSpec;

  constructor(spec: SnapshotHistogramSpec) {
    super({ name: spec.name, help: spec.help, labelNames: spec.label !== undefined ? [spec.label] : [], buckets: [...spec.buckets], registers: [] });
    this.#spec = spec;
  }

  // prom-client's text exposition reads getForPromString (values with `sharedLabels`), its JSON get()
  // splays that: both are answered from the snapshot.
  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const { name, label, buckets } = this.#spec;
    const values: (MetricValueWithName<string> & { sharedLabels: Record<string, string> })[] = [];
    for (const s of this.#spec.read()) {
      const sharedLabels = label !== undefined ? { [label]: s.label } : {};
      s.cumulative.forEach((value, i) => {
        const le = i < buckets.length ? buckets[i]! : '+Inf';
        values.push({ metricName: `${name}_bucket`, labels: { le }, sharedLabels, value });
      });
      values.push({ metricName: `${name}_sum`, labels: {}, sharedLabels, value: s.sumSeconds });
      values.push({ metricName: `${name}_count`, labels: {}, sharedLabels, value: s.cumulative.at(-1) ?? 0 });
    }
    // The metric's own name, help, type and aggregator (it observes nothing itself), with the snapshot's values.
    const own = (await (Histogram.prototype as unknown as { getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> }).getForPromString.call(this));
    return { ...own, values };
  }
}

export function registerSnapshotHistogram(registry: Registry, spec: SnapshotHistogramSpec): void {
  registry.registerMetric(new SnapshotHistogram(spec));
}
