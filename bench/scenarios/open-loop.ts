// Open-loop latency: messages leave at a fixed total rate whatever the answers do, and each latency is
// measured from the message's intended send time, so a stall is counted in full (coordinated omission
// corrected). This is the figure behind "X msg/s at p99 under Y ms".
import { baseMeasurement, costOf, measureWsLoad, withWrites, writesOf } from './ws-load.js';
import type { ScenarioDef } from './types.js';

export const openLoopScenario: ScenarioDef = {
  name: 'open-loop',
  title: 'Open-loop fixed-rate latency',
  description: 'a fixed message rate over all connections; latency from each intended send time (coordinated omission corrected)',
  defaults: { durationS: 6, warmupS: 1, connections: 50, sizeBytes: 64, ratePerSec: 10_000 },
  proxyCases: (label) => [{ variant: 'wspass', label, prefix: '/' }],
  async run(ctx) {
    const { load, cpu } = await measureWsLoad(ctx, 'open-loop', 'echo', { ratePerSec: ctx.settings.ratePerSec });
    const m = baseMeasurement(load);
    const achieved = load.units / load.windowSeconds;
    if (achieved < ctx.settings.ratePerSec * 0.95) {
      m.warnings.push(
        `answered ${Math.round(achieved)} msg/s of the ${ctx.settings.ratePerSec} asked: the path is saturated, latencies include queueing`,
      );
    }
    return withWrites(
      {
        units: load.units,
        throughput: { value: achieved, unit: 'msg/s' },
        latency: load.latency,
        cpu,
        cost: costOf(cpu, load.units, 'µs/msg'),
        ...m,
      },
      writesOf(cpu, load.units, 'msg'),
    );
  },
};
