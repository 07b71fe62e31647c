// Handshake rate: parallel loops that open a WebSocket, close it and open the next. Latency is the time
// to 'open'; cost is proxy CPU per full connection lifetime (accept, route, backend connect, 101, close).
import { baseMeasurement, costOf, measureWsLoad, withWrites, writesOf } from './ws-load.js';
import type { ScenarioDef } from './types.js';

export const handshakeScenario: ScenarioDef = {
  name: 'handshake',
  title: 'Handshake rate',
  description: 'parallel open → close loops; time to open and proxy CPU per connection lifetime',
  // A 5 s warm-up: the figure is the steady state. In the first seconds V8 is still compiling the
  // handshake path (TurboFan was 15 % of wspass's CPU 3 s in, 0 % after 20 s, from `perf record`), so a
  // 1 s warm-up charged one-time JIT work to every handshake, more to a proxy with more code.
  defaults: { durationS: 6, warmupS: 5, connections: 16, sizeBytes: 0, ratePerSec: 0 },
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
