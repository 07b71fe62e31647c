// Handshake rate: parallel loops that open a WebSocket, close it and open the next. Latency is the time
// to 'open'; cost is proxy CPU per full connection lifetime (accept, route, backend connect, 101, close).
import { baseMeasurement, costOf, measureWsLoad, withWrites, writesOf } from './ws-load.js';
import type { ScenarioDef } from './types.js';

export const handshakeScenario: ScenarioDef = {
  name: 'handshake',
  title: 'Handshake rate',
  description: 'parallel open → close loops; time to open and proxy CPU per connection lifetime',
  defaults: { durationS: 6, warmupS: 1, connections: 16, sizeBytes: 0, ratePerSec: 0 },
  proxyCases: (label) => [{ variant: 'wspass', label, prefix: '/' }],
  async run(ctx) {
    const { load, cpu } = await measureWsLoad(ctx, 'handshake', 'echo');
    return withWrites(
      {
        units: load.units,
        throughput: { value: load.units / load.windowSeconds, unit: 'handshakes/s' },
        latency: load.latency,
        cpu,
        cost: costOf(cpu, load.units, 'µs/handshake'),
        ...baseMeasurement(load),
      },
      writesOf(cpu, load.units, 'handshake'),
    );
  },
};
