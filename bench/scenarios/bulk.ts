// Bulk throughput: large messages uploaded to the sink backend, which acknowledges every MiB; each
// connection keeps a bounded window unacknowledged. Cost is proxy CPU per GB actually delivered.
import { baseMeasurement, costOf, measureWsLoad } from './ws-load.js';
import type { ScenarioDef } from './types.js';

/** Bytes a connection may have sent and not had acknowledged (the perf gate uses the same). */
export const WINDOW_BYTES = 4 * 1024 * 1024;

export const bulkScenario: ScenarioDef = {
  name: 'bulk',
  title: 'Bulk throughput',
  description: `large messages to a sink that acks every MiB, ${WINDOW_BYTES / 1048576} MiB window per connection; proxy CPU per GB delivered`,
  defaults: { durationS: 6, warmupS: 1, connections: 4, sizeBytes: 64 * 1024, ratePerSec: 0 },
  proxyCases: (label) => [{ variant: 'wspass', label, prefix: '/' }],
  async run(ctx) {
    const { load, cpu } = await measureWsLoad(ctx, 'bulk', 'sink', { windowBytes: WINDOW_BYTES });
    return {
      units: load.bytes,
      throughput: { value: load.bytes / load.windowSeconds / 1e6, unit: 'MB/s' },
      latency: null,
      cpu,
      cost: costOf(cpu, load.bytes, 'ms/GB'),
      ...baseMeasurement(load),
    };
  },
};
