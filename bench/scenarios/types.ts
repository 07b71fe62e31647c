// What a scenario is, and what one measured case (one scenario through one path: direct to the
// backend, through wspass, or through a --target proxy) produces. The results file is a list of these.
import type { LatencySummary } from '../loadgen/histogram.js';
import type { WindowCpu } from '../measure/window.js';

export const SCENARIO_NAMES = ['echo', 'open-loop', 'bulk', 'handshake', 'idle', 'http', 'async'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** The path the load takes: straight to the backend (the no-proxy baseline), wspass, or a --target. */
export type Variant = 'direct' | 'wspass' | 'target';

export type CostUnit = 'µs/msg' | 'ms/GB' | 'µs/handshake' | 'µs/req' | 'KiB/conn';
export type ThroughputUnit = 'msg/s' | 'MB/s' | 'handshakes/s' | 'req/s' | 'conns';

/** Sizes of one scenario run (defaults per scenario, overridden by --duration/--connections/--size/--rate). */
export interface ScenarioSettings {
  durationS: number;
  warmupS: number;
  connections: number;
  sizeBytes: number;
  /** open-loop only: messages per second over all connections. */
  ratePerSec: number;
  /** Load-generator shards (piscina threads). */
  shards: number;
}

export interface CaseContext {
  /** ws:// base ending in "/": the scenario appends "echo" or "sink". */
  wsBase: string;
  /** http:// base ending in "/". */
  httpBase: string;
  /** Processes whose CPU is "the proxy" (null: unknown, cost is not computed). */
  proxyPids: readonly number[] | null;
  backendPid: number;
  settings: ScenarioSettings;
}

/** What a scenario's run returns; the runner adds identity, noise and attempts. */
export interface Measurement {
  /** Units of work done inside the window (messages, bytes, handshakes, requests, connections). */
  units: number;
  throughput: { value: number; unit: ThroughputUnit };
  latency: LatencySummary | null;
  cpu: WindowCpu | null;
  cost: {
    unit: CostUnit;
    /** The proxy's cost per unit (null for direct, or when the proxy's CPU is unknown). */
    proxy: number | null;
    /** The backend's cost per unit in the same window: the gate divides by it to cancel machine speed. */
    backend: number | null;
  };
  rss?: {
    connections: number;
    proxyBeforeKiB: number | null;
    proxyAfterKiB: number | null;
    backendBeforeKiB: number | null;
    backendAfterKiB: number | null;
  };
  errors: number;
  firstError?: string;
  warnings: string[];
}

export interface CaseSpec {
  variant: Variant;
  /** Shown in tables: "direct", "wspass", "wspass async=on", ... */
  label: string;
  /** Path prefix on the proxy (async variants use their own routes). */
  prefix: string;
}

export interface ScenarioDef {
  name: ScenarioName;
  title: string;
  /** One sentence: what is measured and how. */
  description: string;
  defaults: Omit<ScenarioSettings, 'shards'>;
  /** The cases this scenario runs for the proxy under test (besides 'direct'). */
  proxyCases(proxyLabel: string, isTarget: boolean): CaseSpec[];
  run(ctx: CaseContext): Promise<Measurement>;
}

export interface CaseResult extends Measurement {
  scenario: ScenarioName;
  variant: Variant;
  label: string;
  settings: ScenarioSettings;
  /** Runs made of this case (more than one when other tenants' CPU made a run noisy). */
  attempts: number;
}
