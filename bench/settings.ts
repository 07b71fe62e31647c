// Scenario sizes: each scenario's defaults, shortened for the gate, then the user's overrides.
import type { BenchArgs } from './args.js';
import { SCENARIOS } from './scenarios/registry.js';
import type { ScenarioName, ScenarioSettings } from './scenarios/types.js';

/** The default run: every scenario. */
export const DEFAULT_SET: readonly ScenarioName[] = ['echo', 'open-loop', 'bulk', 'handshake', 'idle', 'http', 'async'];

/** The gate's subset: the per-unit CPU costs and memory per connection, in short windows. */
export const GATE_SET: readonly ScenarioName[] = ['echo', 'bulk', 'handshake', 'http', 'idle'];
const GATE_SIZES: Partial<Record<ScenarioName, Partial<ScenarioSettings>>> = {
  echo: { durationS: 2, warmupS: 0.5 },
  bulk: { durationS: 2, warmupS: 0.5 },
  handshake: { durationS: 2, warmupS: 0.5 },
  http: { durationS: 2, warmupS: 0.5 },
  idle: { durationS: 0.2, warmupS: 0.5, connections: 1000 },
};

export function settingsFor(name: ScenarioName, args: BenchArgs, forGate: boolean): ScenarioSettings {
  const s: ScenarioSettings = { ...SCENARIOS[name].defaults, shards: args.shards };
  if (forGate) Object.assign(s, GATE_SIZES[name]);
  if (args.durationS !== undefined && name !== 'idle') s.durationS = args.durationS;
  if (args.connections !== undefined) s.connections = args.connections;
  if (args.sizeBytes !== undefined && s.sizeBytes > 0) s.sizeBytes = args.sizeBytes;
  if (args.ratePerSec !== undefined && name === 'open-loop') s.ratePerSec = args.ratePerSec;
  return s;
}
