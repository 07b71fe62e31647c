// The figures the perf gate compares between the base and the head revision. All are "lower is
// better" and absolute (µs, ms, KiB): base and head are measured in the same minutes on the same
// machine, so the machine's speed cancels in their ratio and no stored figure can go stale.
import type { TunnelEngine } from '../processes/proxy.js';
import type { CostUnit, ScenarioName, ScenarioSettings } from '../scenarios/types.js';

export type GateScenario = Extract<ScenarioName, 'echo' | 'bulk' | 'handshake' | 'http' | 'idle'>;

export interface GateFigure {
  key: string;
  scenario: GateScenario;
  description: string;
  unit: CostUnit;
  /** cpu: windows through two live proxies at once; memory: fresh proxies per sample. */
  kind: 'cpu' | 'memory';
  /** The tunnel engine both revisions run (`tunnel.engine`); unset for plain HTTP, which has no tunnel. */
  engine?: TunnelEngine;
  /** Settings over the scenario's defaults (none today: the gate runs the bench's own loads). */
  sizes?: Partial<ScenarioSettings>;
}

const ENGINES: readonly TunnelEngine[] = ['native', 'js'];

/** A tunnel figure once per engine: key `<scenario>.<figure>.<engine>`. */
function perEngine(f: Omit<GateFigure, 'engine'>): GateFigure[] {
  return ENGINES.map((engine) => ({ ...f, key: `${f.key}.${engine}`, description: `${f.description}, ${engine} engine`, engine }));
}

export const GATE_FIGURES: readonly GateFigure[] = [
  ...perEngine({ key: 'echo.cpu_per_msg', scenario: 'echo', description: 'proxy CPU per 64 B message', unit: 'µs/msg', kind: 'cpu' }),
  ...perEngine({ key: 'bulk.cpu_per_gb', scenario: 'bulk', description: 'proxy CPU per GB (64 KiB messages)', unit: 'ms/GB', kind: 'cpu' }),
  ...perEngine({ key: 'handshake.cpu_per_handshake', scenario: 'handshake', description: 'proxy CPU per handshake', unit: 'µs/handshake', kind: 'cpu' }),
  { key: 'http.cpu_per_request', scenario: 'http', description: 'proxy CPU per HTTP request', unit: 'µs/req', kind: 'cpu' },
  ...perEngine({ key: 'idle.rss_per_tunnel', scenario: 'idle', description: 'proxy RSS per idle tunnel', unit: 'KiB/conn', kind: 'memory' }),
];

export const GATE_FIGURE_KEYS: readonly string[] = GATE_FIGURES.map((f) => f.key);

/** A regression the gate fails on: the lower bound of the ratio's interval above this. */
export const REGRESSION_LIMIT = 1.03;
/** An improvement it reports: the upper bound below this. */
export const IMPROVEMENT_LIMIT = 1 / REGRESSION_LIMIT;
/** Family-wise error of all the figures' intervals together (Bonferroni over the figures). */
export const FAMILY_ALPHA = 0.05;
