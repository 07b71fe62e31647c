// One gate run: resolve and build the base, measure every figure (cpu figures interleaved, memory
// alternated), decide, print the table, write the JSON record. The self-test calls it with an
// injected head; `bench:gate` with this checkout as head.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { roundForDiff } from '../report/results.js';
import type { AcceptEntry } from './accept.js';
import { runCpuFigure, runMemoryFigure, type AbOptions, type Revisions } from './ab-run.js';
import { decideFigure, decideGate, GATE_FIGURE_COUNT, gateTable, gateVerdict, wantsMoreBlocks, type FigureRecord, type GateOutcome } from './decision.js';
import { GATE_FIGURES } from './figures.js';

export interface GateRecord {
  format: 'wspass-gate-run/1';
  startedAt: string;
  /** What this run was: a CI gate, a self-test with an injected regression, ... */
  kind: string;
  head: { commit: string | null; dirty?: boolean; injected?: object };
  base: { commit: string | null; source: string; setup?: string };
  pinning: string;
  settings: Omit<AbOptions, 'pin'>;
  /** Where the minutes went, in seconds. */
  timings: Record<string, number>;
  outcome: GateOutcome;
  records: FigureRecord[];
}

export interface GateContext {
  kind: string;
  revs: Revisions;
  head: GateRecord['head'];
  base: GateRecord['base'];
  /** A base is recorded or given: a figure without one fails. */
  baseRequired: boolean;
  accepted: readonly AcceptEntry[];
  ab: AbOptions;
  pinning: string;
  /** Seconds already spent before measuring (base build), by name. */
  timings: Record<string, number>;
  jsonFile: string;
  /** Only these figure keys (empty: all). */
  only: readonly string[];
  log: (line: string) => void;
}

export async function measureAndDecide(c: GateContext): Promise<GateRecord> {
  const startedAt = new Date().toISOString();
  const timings = { ...c.timings };
  const records: FigureRecord[] = [];
  const figures = GATE_FIGURES.filter((f) => c.only.length === 0 || c.only.includes(f.key));
  const decideOpts = { baseRequired: c.baseRequired, baseCommit: c.base.commit, accepted: c.accepted };
  for (const fig of figures) {
    const t0 = performance.now();
    const what =
      fig.kind === 'cpu'
        ? `${c.ab.pairs} windows of ${c.ab.windowS} s, base and head at once, in ${c.ab.blocks} blocks of fresh proxies`
        : `${c.ab.memoryPairs} samples of fresh proxies, base and head at once, 2 × ${c.ab.idleConnections} idle tunnels each`;
    c.log(`${fig.key}: ${what}`);
    let rec = fig.kind === 'cpu' ? await runCpuFigure(fig, c.revs, c.ab, c.log) : await runMemoryFigure(fig, c.revs, c.ab, c.log);
    const first = decideFigure(rec, GATE_FIGURE_COUNT, decideOpts);
    if (fig.kind === 'cpu' && c.ab.extraBlocks > 0 && wantsMoreBlocks(first)) {
      c.log(`  ${fig.key}: ${first.interval!.ratio.toFixed(3)} [${first.interval!.lower.toFixed(3)}, ${first.interval!.upper.toFixed(3)}] is above ${first.limit} with its interval across it: ${c.ab.extraBlocks} more blocks`);
      rec = await runCpuFigure(fig, c.revs, c.ab, c.log, rec);
    }
    records.push(rec);
    timings[fig.key] = round1((performance.now() - t0) / 1000);
  }
  const outcome = decideGate(records, decideOpts);
  timings.total = round1(Object.values(timings).reduce((a, b) => a + b, 0));
  c.log('');
  c.log(gateTable(outcome));
  c.log('');
  c.log(gateVerdict(outcome));
  c.log(`minutes: ${Object.entries(timings).map(([k, v]) => `${k} ${v} s`).join(' · ')}`);
  const { pin: _pin, ...settings } = c.ab;
  const record: GateRecord = { format: 'wspass-gate-run/1', startedAt, kind: c.kind, head: c.head, base: c.base, pinning: c.pinning, settings, timings, outcome, records };
  mkdirSync(dirname(c.jsonFile), { recursive: true });
  writeFileSync(c.jsonFile, `${JSON.stringify(roundForDiff(record), null, 1)}\n`);
  c.log(`wrote ${c.jsonFile}`);
  return record;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

