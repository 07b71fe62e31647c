// wspass against the incumbents of the same run (--compare): per scenario, each wspass engine's cost
// divided by the better of nginx and HAProxy, and by the minimal Node.js proxy (the JavaScript floor).
// Ratios only within one run: absolute costs move 3–4× between machines of one kind, ratios held. Pure.
import type { CaseResult } from '../scenarios/types.js';
import { fmtNumber } from './format.js';

export interface IncumbentRow {
  scenario: string;
  unit: string;
  /** wspass cases of the scenario (one per engine). */
  wspass: { label: string; cost: number | null }[];
  /** The cheaper of nginx and HAProxy, when either ran. */
  best: { name: string; cost: number } | null;
  floor: number | null;
  references: { name: string; cost: number | null }[];
}

const INCUMBENTS = ['nginx', 'haproxy'];

export function incumbentRows(cases: readonly CaseResult[]): IncumbentRow[] {
  const scenarios = [...new Set(cases.filter((c) => c.variant === 'reference').map((c) => c.scenario))];
  return scenarios.map((scenario) => {
    const of = cases.filter((c) => c.scenario === scenario);
    const refs = of.filter((c) => c.variant === 'reference').map((c) => ({ name: c.reference ?? c.label, cost: c.cost.proxy }));
    const candidates = refs.filter((r): r is { name: string; cost: number } => INCUMBENTS.includes(r.name) && r.cost !== null && r.cost > 0);
    const best = candidates.length === 0 ? null : candidates.reduce((a, b) => (b.cost < a.cost ? b : a));
    const floor = refs.find((r) => r.name === 'node-minimal')?.cost ?? null;
    return {
      scenario,
      unit: of[0]?.cost.unit ?? '',
      wspass: of.filter((c) => c.variant === 'wspass' && !c.accessLog && !c.noFront).map((c) => ({ label: c.label, cost: c.cost.proxy })),
      best,
      floor,
      references: refs,
    };
  });
}

const ratio = (a: number | null, b: number | null | undefined) => (a === null || b == null || b <= 0 ? '—' : `${(a / b).toFixed(2)}×`);

/** Table rows: scenario, wspass case, its cost, ÷ the better incumbent (named), ÷ the minimal Node proxy. */
export function incumbentTable(rows: readonly IncumbentRow[]): string[][] {
  return rows.flatMap((r) =>
    r.wspass.map((w) => [
      r.scenario,
      w.label,
      w.cost === null ? '—' : `${fmtNumber(w.cost)} ${r.unit}`,
      r.best ? `${ratio(w.cost, r.best.cost)} (${r.best.name} ${fmtNumber(r.best.cost)})` : '—',
      r.floor !== null ? `${ratio(w.cost, r.floor)} (${fmtNumber(r.floor)})` : '—',
    ]),
  );
}

export const INCUMBENT_HEADER = ['scenario', 'wspass case', 'cost', '÷ better of nginx/HAProxy', '÷ minimal Node proxy'];
