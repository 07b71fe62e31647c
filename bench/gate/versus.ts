// `npm run bench:versus -- --compare nginx,haproxy,node-minimal`: this checkout's wspass against each
// reference proxy, measured as the gate measures two revisions: both pinned to the proxy core at the same
// time, under the same load, in windows read at the same instants, in blocks of fresh processes
// (ab-run.ts). The bench's own comparison (`npm run bench -- --compare`) runs the cases one after the
// other, so a machine that got busier between two cases moves their ratio; here the other tenants'
// load falls on both alike, and each ratio comes with its interval. The figures and their loads are the
// gate's (figures.ts); each row is judged against the goal of its figure (report/goals.ts) where that
// goal is stated against this reference. Pure but for `commandVersus`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ArgError, type BenchArgs } from '../args.js';
import { median } from '../measure/cost.js';
import { setUpPinning } from '../measure/pinning.js';
import { CLI, NATIVE_ADDON_BUILT } from '../processes/proxy.js';
import { referenceMissing, type ReferenceName } from '../reference/start.js';
import { fmtNumber, textTable } from '../report/format.js';
import { GOALS, type Goal } from '../report/goals.js';
import { roundForDiff } from '../report/results.js';
import { runCpuFigure, runMemoryFigure } from './ab-run.js';
import { abOptions } from './commands.js';
import { blockLogRatios, type FigureRecord } from './decision.js';
import { FAMILY_ALPHA, GATE_FIGURE_KEYS, GATE_FIGURES } from './figures.js';
import { ratioInterval, unitLogRatios, type RatioInterval } from './stats.js';
import { headState } from './tree.js';

/** The figures measured when `--figure` is not given: one per goal, on the engine the build has. */
export function defaultVersusFigures(native: boolean): string[] {
  const engine = native ? 'native' : 'js';
  return [`echo.cpu_per_msg.${engine}`, `bulk.cpu_per_gb.${engine}`, `handshake.cpu_per_handshake.${engine}`, 'http.cpu_per_request', `idle.rss_per_tunnel.${engine}`];
}

/** The references a goal is stated against ("the better of nginx/HAProxy": both rows must meet it). */
const GOAL_REFERENCES: Record<Goal['against'], readonly ReferenceName[]> = {
  'better of nginx/HAProxy': ['nginx', 'haproxy'],
  HAProxy: ['haproxy'],
  nginx: ['nginx'],
  'minimal Node proxy': ['node-minimal'],
};

/** The cost goal of a gate figure against this reference, if the issue states one. */
export function goalFor(figureKey: string, reference: ReferenceName): Goal | null {
  const scenario = figureKey.split('.')[0];
  return GOALS.find((g) => g.read === 'cost' && g.scenario === scenario && GOAL_REFERENCES[g.against].includes(reference)) ?? null;
}

export interface VersusRecord {
  reference: ReferenceName;
  /** The gate's record: `base` windows are the reference's, `head` windows wspass's. */
  record: FigureRecord;
}

export type VersusVerdict = 'met' | 'missed' | 'undecided' | 'no goal' | 'not measured';

export interface VersusRow {
  key: string;
  reference: ReferenceName;
  unit: string;
  /** Median cost over each side's windows. */
  referenceCost: number | null;
  wspassCost: number | null;
  /** wspass ÷ reference. */
  interval: RatioInterval | null;
  goal: Goal | null;
  verdict: VersusVerdict;
  note?: string;
}

/**
 * Each record's ratio and interval (Bonferroni over all the rows of the run, as the gate corrects over
 * its figures) and its verdict: met when the whole interval is within the goal, missed when the whole
 * interval is above it, undecided when it spans it.
 */
export function versusRows(records: readonly VersusRecord[]): VersusRow[] {
  return records.map(({ reference, record }) => {
    const def = GATE_FIGURES.find((f) => f.key === record.key);
    const cost = (rev: 'base' | 'head') => median(record.windows.filter((w) => w.rev === rev).map((w) => w.cost));
    const goal = goalFor(record.key, reference);
    const row: VersusRow = { key: record.key, reference, unit: def?.unit ?? '', referenceCost: cost('base'), wspassCost: cost('head'), interval: null, goal, verdict: 'not measured' };
    const error = record.baseError ?? record.headError;
    if (error !== undefined) return { ...row, note: error };
    const interval = ratioInterval(unitLogRatios(blockLogRatios(record.windows)), records.length, FAMILY_ALPHA);
    if (interval === null) return { ...row, note: 'fewer than 3 complete blocks (or pairs)' };
    const verdict: VersusVerdict = goal === null ? 'no goal' : interval.upper <= goal.goal ? 'met' : interval.lower > goal.goal ? 'missed' : 'undecided';
    return { ...row, interval, verdict };
  });
}

function fmtInterval(i: RatioInterval | null): string {
  return i === null ? '—' : `${i.ratio.toFixed(3)} [${i.lower.toFixed(3)}, ${i.upper.toFixed(3)}]`;
}

export function versusTable(rows: readonly VersusRow[]): string {
  return textTable(
    ['figure (lower is better)', 'unit', 'against', 'reference', 'wspass', 'wspass ÷ reference [interval]', 'goal', 'verdict'],
    rows.map((r) => [
      r.key,
      r.unit,
      r.reference,
      fmtNumber(r.referenceCost, 4),
      fmtNumber(r.wspassCost, 4),
      fmtInterval(r.interval),
      r.goal ? `≤ ${r.goal.goal}× ${r.goal.against}${r.goal.required ? ' (required)' : ' (aimed)'}` : '—',
      r.verdict,
    ]),
  );
}


export async function commandVersus(args: BenchArgs): Promise<number> {
  const log = (l: string) => console.log(l);
  if (args.compare.length === 0) throw new ArgError('versus: name the proxies to measure wspass against with --compare nginx,haproxy,node-minimal');
  const bad = args.figures.find((f) => !GATE_FIGURE_KEYS.includes(f));
  if (bad !== undefined) throw new ArgError(`--figure: "${bad}" is not a gate figure; use ${GATE_FIGURE_KEYS.join(', ')}`);
  const keys = args.figures.length > 0 ? args.figures : defaultVersusFigures(NATIVE_ADDON_BUILT);
  // --connections / --size change the figures' loads (the goals' own load is 50 connections of 64 B).
  const load = { ...(args.connections !== undefined ? { connections: args.connections } : {}), ...(args.sizeBytes !== undefined ? { sizeBytes: args.sizeBytes } : {}) };
  const figures = GATE_FIGURES.filter((f) => keys.includes(f.key)).map((f) => (Object.keys(load).length > 0 && f.kind === 'cpu' ? { ...f, sizes: { ...f.sizes, ...load } } : f));
  const references = args.compare.filter((r) => {
    const missing = referenceMissing(r);
    if (missing !== null) log(`skipped: ${missing}`);
    return missing === null;
  });
  if (references.length === 0) {
    log('versus: none of the references is installed here; nothing measured');
    return 1;
  }
  const pinning = setUpPinning(1, args.pin);
  const o = abOptions(args, pinning);
  log(`wspass versus ${references.join(', ')}: per figure ${o.pairs} windows of ${o.windowS} s measuring both at once, in ${o.blocks} blocks of fresh processes (memory: ${o.memoryPairs} samples)`);
  log(pinning.description);
  const head = { commit: null, cli: CLI };
  const records: VersusRecord[] = [];
  const started = performance.now();
  for (const reference of references) {
    for (const fig of figures) {
      log(`${fig.key} against ${reference}:`);
      const revs = { head, base: { reference } };
      const record = fig.kind === 'cpu' ? await runCpuFigure(fig, revs, o, log) : await runMemoryFigure(fig, revs, o, log);
      records.push({ reference, record });
    }
  }
  const rows = versusRows(records);
  log('');
  log(versusTable(rows));
  for (const r of rows) if (r.note) log(`${r.key} against ${r.reference}: ${r.note}`);
  log(`base = the reference, head = wspass (this checkout); intervals are ${Math.round((1 - FAMILY_ALPHA) * 100)} % for all ${rows.length} rows together`);
  const file = args.jsonFile ?? join(args.outDir, 'versus.json');
  const { pin: _pin, ...settings } = o;
  const record = {
    format: 'wspass-versus-run/1',
    startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
    head: headState(),
    pinning: pinning.description,
    settings,
    rows,
    records,
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(roundForDiff(record), null, 1)}\n`);
  log(`wrote ${file}`);
  return rows.some((r) => r.verdict === 'not measured') ? 1 : 0;
}
