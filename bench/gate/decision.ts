// The gate's verdict per figure, from the windows measured for base and head: the Bonferroni-corrected
// t interval of the mean per-pair log ratio (stats.ts), compared with 1.03 (or a reviewed acceptance).
// Pure, with the table and the one-paragraph verdict the gate prints.
import { median } from '../measure/cost.js';
import { fmtNumber, textTable } from '../report/format.js';
import { acceptanceFor, type AcceptEntry } from './accept.js';
import { FAMILY_ALPHA, GATE_FIGURES, IMPROVEMENT_LIMIT, REGRESSION_LIMIT } from './figures.js';
import { pairLogRatios, ratioInterval, unitLogRatios, type RatioInterval, type WindowCost } from './stats.js';

/** One measured window (cpu figures) or one fresh sample (memory), as recorded in the gate's JSON. */
export interface WindowRecord extends WindowCost {
  /** Which pair of proxy processes measured it (memory: the sample). */
  block?: number;
  units: number;
  /** Proxy CPU ticks (10 ms) in the window, and its CPU time from schedstat (null for memory samples). */
  ticks: number | null;
  cpuMs: number | null;
  seconds: number;
  /** Other tenants' CPU during the window, in cores (null for memory samples). */
  foreignCores: number | null;
  /** Recorded by earlier gates (the backend is shared by both proxies now): always null. */
  backendCost: number | null;
}

/**
 * A proxy's cost per unit from its schedstat nanoseconds, in the figure's unit (null without work). A
 * tick is 10 ms: a 1.5 s window in which the proxy used half a core holds about 75 ticks, so one tick more
 * or less moves a window's cost by 1.3 % and a pair's ratio by up to 2.7 %; the nanosecond count takes
 * that rounding out of the gate's noise.
 */
export function costFromNs(ns: number, units: number, unit: string): number | null {
  if (units <= 0) return null;
  return unit === 'ms/GB' ? ns / 1e6 / (units / 1e9) : ns / 1e3 / units;
}

export interface FigureRecord {
  key: string;
  /** The figure's load settings over its scenario's defaults, when it has any (figures.ts `sizes`). */
  sizes?: Record<string, number>;
  windows: WindowRecord[];
  /** Why the base revision could not be measured (unbuildable, config rejected, crashed). */
  baseError?: string;
  /** Why the head revision could not be measured. */
  headError?: string;
}

/** The pair log ratios of each block of windows (one group when no window names a block). */
export function blockLogRatios(windows: readonly WindowRecord[]): number[][] {
  const blocks = [...new Set(windows.map((w) => w.block ?? 0))].sort((a, b) => a - b);
  return blocks.map((b) => pairLogRatios(windows.filter((w) => (w.block ?? 0) === b))).filter((g) => g.length > 0);
}

export type Verdict = 'ok' | 'REGRESSED' | 'better' | 'no base' | 'not measured';

export interface FigureDecision {
  key: string;
  description: string;
  unit: string;
  /** Median cost over each revision's windows. */
  base: number | null;
  head: number | null;
  /** Its `n` counts blocks when there were several (their means are the units), else pairs. */
  interval: RatioInterval | null;
  /** Complete pairs measured. */
  pairs: number;
  /** The ratio the interval's lower bound must stay under. */
  limit: number;
  accepted?: AcceptEntry;
  verdict: Verdict;
  /** Whether this row fails the gate. */
  fails: boolean;
  note?: string;
}

export interface GateOutcome {
  rows: FigureDecision[];
  failed: boolean;
}

export interface DecideOptions {
  /** A base commit is recorded (or given with --base): a figure without a base fails. */
  baseRequired: boolean;
  /** The full hash of the base commit, for gate-accept.json entries. */
  baseCommit: string | null;
  accepted: readonly AcceptEntry[];
}

export function decideFigure(rec: FigureRecord, figureCount: number, opts: DecideOptions): FigureDecision {
  const def = GATE_FIGURES.find((f) => f.key === rec.key);
  const accepted = acceptanceFor(opts.accepted, rec.key, opts.baseCommit);
  const costs = (rev: 'base' | 'head') => median(rec.windows.filter((w) => w.rev === rev).map((w) => w.cost));
  const row: FigureDecision = {
    key: rec.key,
    description: def?.description ?? rec.key,
    unit: def?.unit ?? '',
    base: costs('base'),
    head: costs('head'),
    interval: null,
    pairs: 0,
    limit: Math.max(REGRESSION_LIMIT, accepted?.ratio ?? 0),
    verdict: 'ok',
    fails: false,
  };
  if (accepted) row.accepted = accepted;
  if (rec.baseError !== undefined) {
    return { ...row, verdict: 'no base', fails: opts.baseRequired, note: rec.baseError };
  }
  if (rec.headError !== undefined) return { ...row, verdict: 'not measured', fails: true, note: rec.headError };
  const blocks = blockLogRatios(rec.windows);
  const interval = ratioInterval(unitLogRatios(blocks), figureCount, FAMILY_ALPHA);
  row.pairs = blocks.reduce((a, g) => a + g.length, 0);
  if (interval === null) return { ...row, verdict: 'not measured', fails: true, note: 'fewer than 3 complete blocks (or pairs)' };
  row.interval = interval;
  if (interval.lower > row.limit) return { ...row, verdict: 'REGRESSED', fails: true };
  if (interval.upper < IMPROVEMENT_LIMIT) return { ...row, verdict: 'better' };
  return row;
}

/**
 * Whether a CPU figure gets its second stage of blocks: its point estimate is above the limit and its
 * interval already excludes "no change" (lower bound above 1) but still reaches below the limit, so the
 * first blocks can neither pass it with confidence nor fail it. An unchanged figure rarely gets here, and
 * a figure whose interval is wide enough to hold 1 (bulk on the JavaScript engine spans 0.76–1.60 in six
 * blocks) would stay undecided after six more, so the extra minutes go where they can change the verdict.
 * The estimate (estimate.ts) simulates the same rule, so the measured false-alarm rate includes this
 * second look.
 */
export function wantsMoreBlocks(d: FigureDecision): boolean {
  return d.verdict === 'ok' && d.interval !== null && d.interval.lower > 1 && d.interval.ratio > d.limit;
}

/**
 * Every figure is judged with the full gate's correction (all of GATE_FIGURES), also when a run measures
 * only some (`--figure`, the self-test): a regression must be caught as the CI gate would judge it.
 */
export const GATE_FIGURE_COUNT = GATE_FIGURES.length;

export function decideGate(records: readonly FigureRecord[], opts: DecideOptions): GateOutcome {
  const rows = records.map((r) => decideFigure(r, GATE_FIGURE_COUNT, opts));
  return { rows, failed: rows.some((r) => r.fails) };
}

function fmtRatio(i: RatioInterval | null): string {
  if (!i) return '—';
  return `${i.ratio.toFixed(3)} [${i.lower.toFixed(3)}, ${i.upper.toFixed(3)}]`;
}

export function gateTable(outcome: GateOutcome): string {
  const rows = outcome.rows.map((r) => [
    `${r.key.split('.')[0]}: ${r.description}`,
    r.unit,
    fmtNumber(r.base, 4),
    fmtNumber(r.head, 4),
    fmtRatio(r.interval),
    r.interval ? (r.interval.n === r.pairs ? String(r.pairs) : `${r.pairs} in ${r.interval.n} blocks`) : '—',
    `≤ ${r.limit.toFixed(2)}${r.accepted ? ' (accepted)' : ''}`,
    r.verdict === 'no base' && !r.fails ? 'no base (passes: none recorded)' : r.verdict,
  ]);
  return textTable(['figure (lower is better)', 'unit', 'base', 'head', 'head ÷ base [interval]', 'pairs', 'lower bound', 'verdict'], rows);
}

/** The lines printed under the table: each problem, each acceptance used, and the overall verdict. */
export function gateVerdict(outcome: GateOutcome): string {
  const lines: string[] = [];
  for (const r of outcome.rows) {
    if (r.note) lines.push(`${r.key}: ${r.verdict}: ${r.note}`);
    if (r.accepted) lines.push(`${r.key}: accepted up to ${r.accepted.ratio} against ${r.accepted.baseCommit}: ${r.accepted.reason}`);
  }
  const bad = outcome.rows.filter((r) => r.fails);
  if (bad.length === 0) {
    const better = outcome.rows.filter((r) => r.verdict === 'better').map((r) => `${r.key} (${fmtRatio(r.interval)})`);
    lines.push(`perf gate PASSED: no figure's interval lies above its limit.${better.length ? ` Improved: ${better.join(', ')}.` : ''}`);
  } else {
    const why = bad.map((r) => (r.verdict === 'REGRESSED' ? `${r.key} is ${fmtRatio(r.interval)} × the base (limit ${r.limit.toFixed(2)})` : `${r.key}: ${r.verdict}`));
    lines.push(`perf gate FAILED: ${why.join('; ')}.`);
  }
  return lines.join('\n');
}
