// The native data plane's cost goals, checked against the references of the same run (--compare):
// each wspass engine's figure divided by the named reference's, beside the goal ratio. Ratios only
// within one run (absolute costs move 3–4× between machines of one kind; ratios held). Pure.
import type { CaseResult } from '../scenarios/types.js';
import { fmtNumber } from './format.js';

type Against = 'better of nginx/HAProxy' | 'HAProxy' | 'nginx' | 'minimal Node proxy';

export interface Goal {
  scenario: CaseResult['scenario'];
  figure: string;
  /** What the figure reads from a case: its proxy cost, or its round-trip p99. */
  read: 'cost' | 'p99';
  /** Which cases the goal is about (the message figure is for many connections, the p99 for one). */
  applies: (c: CaseResult) => boolean;
  against: Against;
  /** wspass ÷ reference at most this. */
  goal: number;
  required: boolean;
}

const many = (c: CaseResult) => c.settings.connections > 1;
const one = (c: CaseResult) => c.settings.connections === 1;
const any = () => true;

export const GOALS: readonly Goal[] = [
  { scenario: 'echo', figure: 'CPU per 64 B message', read: 'cost', applies: many, against: 'better of nginx/HAProxy', goal: 1.05, required: true },
  { scenario: 'idle', figure: 'RSS per idle tunnel', read: 'cost', applies: any, against: 'HAProxy', goal: 0.6, required: true },
  { scenario: 'handshake', figure: 'CPU per handshake', read: 'cost', applies: any, against: 'minimal Node proxy', goal: 1.1, required: true },
  { scenario: 'bulk', figure: 'CPU per GB', read: 'cost', applies: any, against: 'better of nginx/HAProxy', goal: 0.9, required: false },
  { scenario: 'http', figure: 'CPU per HTTP request', read: 'cost', applies: any, against: 'nginx', goal: 1.8, required: false },
  { scenario: 'echo', figure: 'round trip p99, 1 connection', read: 'p99', applies: one, against: 'better of nginx/HAProxy', goal: 1.2, required: false },
];

export interface GoalRow {
  goal: Goal;
  /** The wspass case (one per engine). */
  label: string;
  value: number | null;
  reference: { name: string; value: number } | null;
  ratio: number | null;
  met: boolean | null;
}

function valueOf(c: CaseResult, read: Goal['read']): number | null {
  const v = read === 'cost' ? c.cost.proxy : (c.latency?.p99Us ?? null);
  return v !== null && v > 0 ? v : null;
}

function referenceFor(cases: readonly CaseResult[], g: Goal): { name: string; value: number } | null {
  const names: Record<Against, string[]> = {
    'better of nginx/HAProxy': ['nginx', 'haproxy'],
    HAProxy: ['haproxy'],
    nginx: ['nginx'],
    'minimal Node proxy': ['node-minimal'],
  };
  const found = cases
    .filter((c) => c.variant === 'reference' && names[g.against].includes(c.reference ?? ''))
    .map((c) => ({ name: c.reference ?? c.label, value: valueOf(c, g.read) }))
    .filter((r): r is { name: string; value: number } => r.value !== null);
  return found.length === 0 ? null : found.reduce((a, b) => (b.value < a.value ? b : a));
}

/** One row per goal and wspass engine case that the run measured (scenarios not run give no row). */
export function goalRows(cases: readonly CaseResult[]): GoalRow[] {
  return GOALS.flatMap((g) => {
    const of = cases.filter((c) => c.scenario === g.scenario && g.applies(c));
    const reference = referenceFor(of, g);
    if (reference === null) return [];
    return of
      .filter((c) => c.variant === 'wspass' && !c.accessLog && !c.noFront)
      .map((c) => {
        const value = valueOf(c, g.read);
        const ratio = value === null ? null : value / reference.value;
        return { goal: g, label: c.label, value, reference, ratio, met: ratio === null ? null : ratio <= g.goal };
      });
  });
}

export const GOAL_HEADER = ['figure', 'wspass case', 'wspass', 'against', 'ratio', 'goal', ''];

export function goalTable(rows: readonly GoalRow[]): string[][] {
  return rows.map((r) => [
    `${r.goal.figure} (${r.goal.scenario})`,
    r.label,
    r.value === null ? '—' : fmtNumber(r.value),
    r.reference ? `${r.reference.name} ${fmtNumber(r.reference.value)}` : '—',
    r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`,
    `≤ ${r.goal.goal}× ${r.goal.against}${r.goal.required ? ' (required)' : ' (aimed)'}`,
    r.met === null ? '—' : r.met ? 'met' : 'missed',
  ]);
}
