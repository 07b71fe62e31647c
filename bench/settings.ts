// Scenario sizes and worker counts: each scenario's defaults, a named set's overrides (the engine set),
// then the user's overrides. The run plan is the list of (scenario, settings,
// worker counts) the CLI walks through.
import type { BenchArgs } from './args.js';
import { SCENARIOS } from './scenarios/registry.js';
import type { ScenarioName, ScenarioSettings, SetName } from './scenarios/types.js';

/** The default run: every scenario. */
export const DEFAULT_SET: readonly ScenarioName[] = ['echo', 'open-loop', 'bulk', 'handshake', 'idle', 'http', 'async', 'burst'];

/** Worker count of a wspass case when nothing else says: one worker on the proxy's one pinned core. */
export const DEFAULT_WORKERS: readonly number[] = [1];

export interface PlanEntry {
  scenario: ScenarioName;
  /** Overrides of the scenario's defaults (before the user's). */
  sizes?: Partial<ScenarioSettings>;
  /** Worker counts of the wspass cases (before --workers). */
  workers?: readonly number[];
}

/**
 * The engine set (issue 3): how the worker-thread engine spreads and costs. The kernel's share of a
 * connect burst over 2 workers; memory per idle tunnel at 5,000 tunnels; CPU per message, per
 * handshake and per request with 1 and 2 workers in the same run; writes per message and latency
 * for async off / on / delay.
 */
export const ENGINE_SET: readonly PlanEntry[] = [
  { scenario: 'burst', workers: [2], sizes: { connections: 1000 } },
  { scenario: 'idle', workers: [1], sizes: { connections: 5000 } },
  { scenario: 'echo', workers: [1, 2] },
  { scenario: 'async', workers: [1] },
  { scenario: 'handshake', workers: [1, 2] },
  { scenario: 'http', workers: [1, 2] },
];

export function setEntries(set: SetName): readonly PlanEntry[] {
  return set === 'engine' ? ENGINE_SET : DEFAULT_SET.map((scenario) => ({ scenario }));
}

/** What a `run` performs: the named set, the listed scenarios, or the default set. */
export function runPlan(args: Pick<BenchArgs, 'scenarios' | 'set'>): readonly PlanEntry[] {
  if (args.set !== undefined) return setEntries(args.set);
  return (args.scenarios.length ? args.scenarios : DEFAULT_SET).map((scenario) => ({ scenario }));
}

/** Worker counts of an entry's wspass cases: --workers, else the set's, else the scenario's, else 1. */
export function workersFor(entry: PlanEntry, args: Pick<BenchArgs, 'workers'>): readonly number[] {
  return args.workers ?? entry.workers ?? SCENARIOS[entry.scenario].defaultWorkers ?? DEFAULT_WORKERS;
}

export function settingsFor(name: ScenarioName, args: BenchArgs, sizes?: Partial<ScenarioSettings>): ScenarioSettings {
  const s: ScenarioSettings = { ...SCENARIOS[name].defaults, inFlight: 1, shards: args.shards, ...sizes };
  if (args.durationS !== undefined && name !== 'idle') s.durationS = args.durationS;
  if (args.connections !== undefined) s.connections = args.connections;
  if (args.sizeBytes !== undefined && s.sizeBytes > 0) s.sizeBytes = args.sizeBytes;
  if (args.ratePerSec !== undefined && name === 'open-loop') s.ratePerSec = args.ratePerSec;
  if (args.inFlight !== undefined && (name === 'echo' || name === 'async')) s.inFlight = args.inFlight;
  return s;
}
