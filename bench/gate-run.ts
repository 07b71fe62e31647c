// Runs the gate's short scenario subset `repeats` times (fresh processes per case, wspass only: the
// gated figures are ratios within one case) and returns each repeat's figures and their medians.
import { figuresOf, medianFigures, GATED_FIGURES, type Figures } from './gate.js';
import type { BenchArgs } from './args.js';
import type { Runner } from './runner.js';
import { GATE_SET, settingsFor } from './settings.js';
import type { CaseResult } from './scenarios/types.js';
import { fmtNumber } from './report/format.js';

export interface GateRun {
  repeats: Figures[];
  medians: Figures;
  cases: CaseResult[];
}

export async function runGateRepeats(args: BenchArgs, runner: Runner, log: (line: string) => void): Promise<GateRun> {
  const repeats: Figures[] = [];
  const all: CaseResult[] = [];
  for (let i = 0; i < args.repeats; i++) {
    const cases: CaseResult[] = [];
    for (const name of GATE_SET) cases.push(...(await runner.runScenario(name, settingsFor(name, args, true), args.workers ?? [1])));
    const figs = figuresOf(cases);
    repeats.push(figs);
    all.push(...cases);
    log(`repeat ${i + 1}/${args.repeats}: ${GATED_FIGURES.map((f) => `${f.key.split('.')[0]} ${fmtNumber(figs[f.key], 4)}`).join(' · ')}`);
  }
  return { repeats, medians: medianFigures(repeats), cases: all };
}

/** Per-figure values across repeats, for the baseline file. */
export function samplesOf(repeats: readonly Figures[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const f of GATED_FIGURES) out[f.key] = repeats.map((r) => r[f.key]).filter((v): v is number => v !== null).map((v) => Number(v.toPrecision(4)));
  return out;
}
