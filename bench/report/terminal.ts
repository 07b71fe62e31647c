// The terminal report: one row per case, then the proxy's cost against the direct baseline per
// scenario, the engine figures (per-worker share, writes per unit), then the capacity summary.
import type { CaseResult } from '../scenarios/types.js';
import type { BenchResults } from './results.js';
import { WRITES_HEADER, workerShareLines, writesRows } from './engine.js';
import { INCUMBENT_HEADER, incumbentRows, incumbentTable } from './incumbents.js';
import { GOAL_HEADER, goalRows, goalTable } from './goals.js';
import { optionCostLines } from './option-cost.js';
import { fmtLatencyUs, fmtNumber, fmtPercent, fmtThroughput, textTable } from './format.js';

export function caseRow(c: CaseResult): string[] {
  return [
    c.scenario,
    c.label,
    fmtThroughput(c.throughput.value, c.throughput.unit),
    fmtLatencyUs(c.latency?.p50Us),
    fmtLatencyUs(c.latency?.p99Us),
    c.cost.proxy === null ? '—' : `${fmtNumber(c.cost.proxy)} ${c.cost.unit}`,
    c.cost.backend === null ? '—' : `${fmtNumber(c.cost.backend)} ${c.cost.unit}`,
    c.cpu ? `${(c.cpu.foreignCores * 100).toFixed(0)}%` : '—',
  ];
}

export const CASE_HEADER = ['scenario', 'case', 'throughput', 'p50', 'p99', 'proxy cost', 'backend cost', 'noise'];

/** Per scenario: proxy cost per unit, and latency/throughput next to the direct baseline. */
export function comparisonRows(cases: readonly CaseResult[]): string[][] {
  const rows: string[][] = [];
  for (const c of cases) {
    if (c.variant === 'direct') continue;
    const d = cases.find((x) => x.scenario === c.scenario && x.variant === 'direct');
    const p50 = c.latency && d?.latency ? c.latency.p50Us - d.latency.p50Us : null;
    rows.push([
      c.scenario,
      c.label,
      c.cost.proxy === null ? '—' : `${fmtNumber(c.cost.proxy)} ${c.cost.unit}`,
      p50 === null ? '—' : `${p50 < 0 ? '-' : '+'}${fmtLatencyUs(Math.abs(p50))}`,
      d && d.throughput.value > 0 && c.throughput.unit !== 'conns' ? fmtPercent(c.throughput.value / d.throughput.value - 1) : '—',
    ]);
  }
  return rows;
}

export function terminalReport(r: BenchResults): string {
  const out: string[] = [];
  if (r.source?.commit) out.push(`wspass ${r.source.commit.slice(0, 12)}${r.source.dirty ? ' with local changes' : ''} · ${r.command}`);
  out.push(textTable(CASE_HEADER, r.cases.map(caseRow)));
  out.push('');
  out.push('Proxy cost per unit of work (its own CPU time; memory for idle), and what it adds over direct:');
  out.push(textTable(['scenario', 'case', 'proxy cost', 'p50 added', 'throughput vs direct'], comparisonRows(r.cases)));
  const incumbents = incumbentRows(r.cases);
  if (incumbents.length > 0) {
    out.push('');
    out.push(`wspass against the incumbents in this run (lower is better; ${Object.entries(r.proxy.references ?? {}).map(([k, v]) => `${k}: ${v}`).join('; ')}):`);
    out.push(textTable(INCUMBENT_HEADER, incumbentTable(incumbents)));
  }
  const goals = goalRows(r.cases);
  if (goals.length > 0) {
    out.push('');
    out.push('The native data plane\'s cost goals, against the references of this run (ratios only):');
    out.push(textTable(GOAL_HEADER, goalTable(goals)));
  }
  const logCost = optionCostLines(r.cases, 'accessLog');
  if (logCost.length > 0) {
    out.push('');
    out.push('The access log (one JSON line per tunnel and per request; off in every other case):');
    for (const l of logCost) out.push(`  ${l}`);
  }
  const frontCost = optionCostLines(r.cases, 'noFront');
  if (frontCost.length > 0) {
    out.push('');
    out.push('The native front turned off (tunnel.front: false; on in every other native case: C accepts and reads upgrade heads):');
    for (const l of frontCost) out.push(`  ${l}`);
  }
  const shares = workerShareLines(r.cases);
  if (shares.length > 0) {
    out.push('');
    out.push('Tunnels opened per wspass worker (GET /status):');
    for (const l of shares) out.push(`  ${l.scenario} · ${l.label}: ${l.text}`);
  }
  const writes = writesRows(r.cases);
  if (writes.length > 0) {
    out.push('');
    out.push('Proxy write syscalls per unit of work (an echoed message is 2 writes when written through). Counted by /proc/<pid>/io syscw');
    out.push('(write/writev, all threads); for wspass plus its own count of its native engine\'s send/splice-out calls (its tunnels\' and its backend');
    out.push('legs\' sends of the handshake requests), which syscw does not see:');
    out.push(textTable(WRITES_HEADER, writes));
  }
  const warned = r.cases.filter((c) => c.warnings.length > 0);
  if (warned.length > 0) {
    out.push('');
    for (const c of warned) out.push(`! ${c.scenario} · ${c.label}: ${c.warnings.join('; ')}`);
  }
  out.push('');
  out.push(r.capacity.lines[0] ?? '');
  for (const l of r.capacity.lines.slice(1)) out.push(`  • ${l}`);
  return out.join('\n');
}
