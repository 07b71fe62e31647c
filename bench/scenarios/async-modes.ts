// Async write scheduling (DESIGN D4): the closed-loop echo through three wspass routes, async off,
// async on (writes corked per event-loop turn), async with a delay; latency percentiles and proxy CPU
// per message show the trade-off.
import { ASYNC_DELAY_MS, ROUTE_PREFIX } from '../processes/proxy.js';
import { baseMeasurement, costOf, measureWsLoad } from './ws-load.js';
import type { ScenarioDef } from './types.js';

export const asyncScenario: ScenarioDef = {
  name: 'async',
  title: 'Async off / on / delay',
  description: `closed-loop echo through routes with async off, async on, and asyncDelayMs ${ASYNC_DELAY_MS}`,
  defaults: { durationS: 5, warmupS: 1, connections: 50, sizeBytes: 64, ratePerSec: 0 },
  // A --target proxy has no such routes: only wspass runs the variants.
  proxyCases: (label, isTarget) =>
    isTarget
      ? []
      : [
          { variant: 'wspass', label: `${label} async=off`, prefix: ROUTE_PREFIX.plain },
          { variant: 'wspass', label: `${label} async=on`, prefix: ROUTE_PREFIX.asyncOn },
          { variant: 'wspass', label: `${label} async=${ASYNC_DELAY_MS}ms`, prefix: ROUTE_PREFIX.asyncDelay },
        ],
  async run(ctx) {
    const { load, cpu } = await measureWsLoad(ctx, 'echo', 'echo');
    return {
      units: load.units,
      throughput: { value: load.units / load.windowSeconds, unit: 'msg/s' },
      latency: load.latency,
      cpu,
      cost: costOf(cpu, load.units, 'µs/msg'),
      ...baseMeasurement(load),
    };
  },
};
