// The perf gate's arithmetic: which figures are gated, how a run's figures compare with the baseline,
// and the table that names each regressed figure. Pure (the runs are in gate-run.ts).
//
// Every gated figure is "lower is better" and is either a ratio measured within one run (the proxy's
// CPU per unit of work divided by the echo backend's CPU per unit in the same window, which cancels
// the machine's speed and most of its load) or memory per connection (which does not depend on speed).
import { median, ratio } from './measure/cost.js';
import type { CaseResult, ScenarioName } from './scenarios/types.js';
import { fmtNumber, textTable } from './report/format.js';

export interface GatedFigure {
  key: string;
  scenario: ScenarioName;
  description: string;
  kind: 'relative-cpu' | 'memory';
}

export const GATED_FIGURES: readonly GatedFigure[] = [
  { key: 'echo.cpu_per_msg.vs_backend', scenario: 'echo', description: 'echo: proxy CPU per message ÷ backend CPU per message', kind: 'relative-cpu' },
  { key: 'bulk.cpu_per_gb.vs_backend', scenario: 'bulk', description: 'bulk: proxy CPU per GB ÷ backend CPU per GB', kind: 'relative-cpu' },
  { key: 'handshake.cpu_per_handshake.vs_backend', scenario: 'handshake', description: 'handshake: proxy CPU per handshake ÷ backend CPU per handshake', kind: 'relative-cpu' },
  { key: 'http.cpu_per_request.vs_backend', scenario: 'http', description: 'http: proxy CPU per request ÷ backend CPU per request', kind: 'relative-cpu' },
  { key: 'idle.kib_per_conn', scenario: 'idle', description: 'idle: proxy KiB per idle connection (all growth)', kind: 'memory' },
];

export type Figures = Record<string, number | null>;

export interface Baseline {
  format: 'wspass-bench-baseline/1';
  createdAt: string;
  machine: string;
  /** Allowed worsening of a figure's median before the gate fails, in percent. */
  tolerancePct: number;
  /** How the tolerance was chosen (the measured false-alarm rate). */
  toleranceNote: string;
  repeats: number;
  figures: Record<string, number>;
  /** Each repeat's figures, for the record. */
  samples: Record<string, number[]>;
}

/**
 * The gate's memory figure is all RSS growth over all connections, not the report's second-half
 * (marginal) figure: with the gate's 1,000 connections the young-generation growth lands in either half
 * at random, which moved the marginal figure between 3.5 and 11 KiB over 15 repeats, while the total
 * includes it every time.
 */
function memoryFigure(c: CaseResult): number | null {
  return c.rss?.proxyTotalKiBPerConn ?? c.cost.proxy;
}

/** The gated figures of one repeat's cases. */
export function figuresOf(cases: readonly CaseResult[]): Figures {
  const out: Figures = {};
  for (const f of GATED_FIGURES) {
    const c = cases.find((x) => x.scenario === f.scenario && x.variant !== 'direct');
    out[f.key] = !c ? null : f.kind === 'memory' ? memoryFigure(c) : ratio(c.cost.proxy, c.cost.backend);
  }
  return out;
}

/** Median of each figure over the repeats. */
export function medianFigures(repeats: readonly Figures[]): Figures {
  const out: Figures = {};
  for (const f of GATED_FIGURES) out[f.key] = median(repeats.map((r) => r[f.key]));
  return out;
}

export interface GateRow {
  key: string;
  description: string;
  baseline: number | null;
  current: number | null;
  /** (current − baseline) / baseline; positive is worse. */
  change: number | null;
  verdict: 'ok' | 'REGRESSED' | 'better' | 'not measured' | 'no baseline';
}

export interface GateOutcome {
  tolerancePct: number;
  rows: GateRow[];
  failed: boolean;
}

export function compareToBaseline(current: Figures, baseline: Pick<Baseline, 'figures'>, tolerancePct: number): GateOutcome {
  const tol = tolerancePct / 100;
  const rows: GateRow[] = GATED_FIGURES.map((f) => {
    const b = baseline.figures[f.key] ?? null;
    const c = current[f.key] ?? null;
    const change = b !== null && c !== null && b !== 0 ? (c - b) / Math.abs(b) : null;
    let verdict: GateRow['verdict'];
    if (b === null) verdict = 'no baseline';
    else if (c === null) verdict = 'not measured';
    else if (change! > tol) verdict = 'REGRESSED';
    else if (change! < -tol) verdict = 'better';
    else verdict = 'ok';
    return { key: f.key, description: f.description, baseline: b, current: c, change, verdict };
  });
  return { tolerancePct, rows, failed: rows.some((r) => r.verdict === 'REGRESSED' || r.verdict === 'not measured') };
}

export function gateTable(outcome: GateOutcome): string {
  const rows = outcome.rows.map((r) => [
    r.description,
    fmtNumber(r.baseline, 4),
    fmtNumber(r.current, 4),
    r.change === null ? '—' : `${r.change >= 0 ? '+' : ''}${(r.change * 100).toFixed(1)}%`,
    `+${outcome.tolerancePct}%`,
    r.verdict,
  ]);
  return textTable(['figure (lower is better)', 'baseline', 'this run', 'change', 'allowed', 'verdict'], rows);
}

/** The one-paragraph verdict printed under the table. */
export function gateVerdict(outcome: GateOutcome): string {
  const bad = outcome.rows.filter((r) => r.verdict === 'REGRESSED' || r.verdict === 'not measured');
  if (bad.length === 0) {
    const better = outcome.rows.filter((r) => r.verdict === 'better');
    const hint = better.length ? ` ${better.length} figure(s) improved beyond the tolerance: record them with \`npm run bench:baseline\`.` : '';
    return `perf gate PASSED: every figure within +${outcome.tolerancePct}% of the baseline.${hint}`;
  }
  return `perf gate FAILED: ${bad.map((r) => `${r.description} ${r.verdict === 'REGRESSED' ? `is ${((r.change ?? 0) * 100).toFixed(1)}% worse` : 'was not measured'}`).join('; ')} (allowed +${outcome.tolerancePct}%).`;
}
