// Closed-loop echo: each connection sends a message and waits for its echo before sending the next.
// Gives round-trip latency and, from the proxy's CPU time, the cost per message relayed.
import { baseMeasurement, costOf, measureWsLoad, withWrites, writesOf } from './ws-load.js';
import type { ScenarioDef } from './types.js';

/** The closed-loop echo measurement; the async scenario runs the same one through its own routes. */
export const runEcho: ScenarioDef['run'] = async (ctx) => {
  const { load, cpu } = await measureWsLoad(ctx, 'echo', 'echo', { inFlight: ctx.settings.inFlight });
  return withWrites(
    {
      units: load.units,
      throughput: { value: load.units / load.windowSeconds, unit: 'msg/s' },
      latency: load.latency,
      cpu,
      cost: costOf(cpu, load.units, 'µs/msg'),
      ...baseMeasurement(load),
    },
    writesOf(cpu, load.units, 'msg'),
  );
};

export const echoScenario: ScenarioDef = {
  name: 'echo',
  title: 'Closed-loop echo',
  description: 'each connection sends a message and waits for its echo; round-trip latency and proxy CPU per message',
  defaults: { durationS: 6, warmupS: 1, connections: 50, sizeBytes: 64, ratePerSec: 0 },
  proxyCases: (label) => [{ variant: 'wspass', label, prefix: '/' }],
  run: runEcho,
};
