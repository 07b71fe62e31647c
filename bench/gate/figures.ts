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
  /** Settings over the scenario's defaults (the bench's own loads where unset). */
  sizes?: Partial<ScenarioSettings>;
}

const ENGINES: readonly TunnelEngine[] = ['native', 'js'];

/** A tunnel figure once per engine: key `<scenario>.<figure>.<engine>`, with each engine's own load if given. */
function perEngine(f: Omit<GateFigure, 'engine'>, sizes: Partial<Record<TunnelEngine, Partial<ScenarioSettings>>> = {}): GateFigure[] {
  return ENGINES.map((engine) => {
    const own = sizes[engine] ?? f.sizes;
    return { ...f, key: `${f.key}.${engine}`, description: `${f.description}, ${engine} engine`, engine, ...(own ? { sizes: own } : {}) };
  });
}

/**
 * The native engine's message figure runs 4 connections, not the echo scenario's 50. With 50 connections
 * held in ping-pong the two proxies on one core are the bottleneck, so events queue and a costlier proxy
 * finds more of them ready per wake-up; the native engine's cost per message is mostly per wake-up, so a
 * send made 10 % costlier measured only 0.45–0.9 of that (self-test records, bench/README.md). With 4
 * connections each proxy has at most 4 messages waiting and handles about one per wake-up, base and head
 * alike, and the same injection measures its full size. The JavaScript engine's figure keeps 50: its cost
 * per message is mostly per chunk of JavaScript, and at 4 connections the same injection measured half.
 */
export const GATE_FIGURES: readonly GateFigure[] = [
  ...perEngine(
    { key: 'echo.cpu_per_msg', scenario: 'echo', description: 'proxy CPU per 64 B message', unit: 'µs/msg', kind: 'cpu' },
    { native: { connections: 4 } },
  ),
  ...perEngine({ key: 'bulk.cpu_per_gb', scenario: 'bulk', description: 'proxy CPU per GB (64 KiB messages)', unit: 'ms/GB', kind: 'cpu' }),
  ...perEngine({ key: 'handshake.cpu_per_handshake', scenario: 'handshake', description: 'proxy CPU per handshake', unit: 'µs/handshake', kind: 'cpu' }),
  { key: 'http.cpu_per_request', scenario: 'http', description: 'proxy CPU per HTTP request', unit: 'µs/req', kind: 'cpu' },
  ...perEngine({ key: 'idle.rss_per_tunnel', scenario: 'idle', description: 'proxy RSS per idle tunnel', unit: 'KiB/conn', kind: 'memory' }),
];

/** What a figure record stores of its load, so records of another load are not pooled with it. */
export function loadOf(fig: GateFigure): { sizes?: Record<string, number> } {
  return fig.sizes ? { sizes: { ...fig.sizes } } : {};
}

/** Whether a recorded figure ran the load the figure runs today (records without sizes ran the defaults). */
export function sameLoad(fig: GateFigure, recorded: Record<string, number> | undefined): boolean {
  const a = loadOf(fig).sizes ?? {};
  const b = recorded ?? {};
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a as Record<string, unknown>)[k] === b[k]);
}

export const GATE_FIGURE_KEYS: readonly string[] = GATE_FIGURES.map((f) => f.key);

/** A regression the gate fails on: the lower bound of the ratio's interval above this. */
export const REGRESSION_LIMIT = 1.03;
/** An improvement it reports: the upper bound below this. */
export const IMPROVEMENT_LIMIT = 1 / REGRESSION_LIMIT;
/** Family-wise error of all the figures' intervals together (Bonferroni over the figures). */
export const FAMILY_ALPHA = 0.05;
