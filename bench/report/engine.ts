// The engine figures of a run, shared by the terminal and HTML reports: how the connect burst spread over
// wspass's worker threads, and the proxy's write syscalls per unit of work with latency next to them
// (the async write-scheduling trade-off, DESIGN D4) and where each count comes from. Pure.
import { describeShare } from '../scenarios/burst.js';
import type { CaseResult } from '../scenarios/types.js';
import { fmtLatencyUs, fmtNumber } from './format.js';

export interface WorkerShareLine {
  scenario: string;
  label: string;
  perWorker: number[];
  /** "worker 0: 507 (50.7%), worker 1: 493 (49.3%)" */
  text: string;
  /** Largest share over the even share (1 = perfectly even; 2 workers at 60/40 → 1.2). */
  imbalance: number | null;
}

export function workerShareLines(cases: readonly CaseResult[]): WorkerShareLine[] {
  return cases
    .filter((c) => c.workerTunnels && c.workerTunnels.length > 0)
    .map((c) => {
      const perWorker = c.workerTunnels!;
      const total = perWorker.reduce((a, b) => a + b, 0);
      return {
        scenario: c.scenario,
        label: c.label,
        perWorker,
        text: describeShare(perWorker),
        imbalance: total > 0 ? Math.max(...perWorker) / (total / perWorker.length) : null,
      };
    });
}

export const WRITES_HEADER = ['scenario', 'case', 'writes/unit', 'p50', 'p99', 'proxy cost', 'counted by'];

/**
 * Where a case's writes figure comes from: syscw (the kernel's count of write/writev), or for wspass
 * syscw plus its own count of its native engine's send/splice-out calls (which syscw does not see), each
 * part per unit, with the backend legs' part of the sends where there is one.
 */
export function writesSource(c: CaseResult): string {
  const w = c.writes!;
  if (w.source !== 'syscw+wspass' || w.nativeSends === undefined) return 'syscw';
  if (c.units <= 0) return 'syscw + wspass (native sends)';
  const per = (n: number) => (n / c.units).toFixed(2);
  const legs = w.legSends ? ` (backend leg ${per(w.legSends)})` : '';
  return `syscw ${per(w.syscalls - w.nativeSends)} + wspass's native sends ${per(w.nativeSends)}${legs}`;
}

/** One row per proxy case whose write syscalls were read. */
export function writesRows(cases: readonly CaseResult[]): string[][] {
  return cases
    .filter((c) => c.variant !== 'direct' && c.writes)
    .map((c) => [
      c.scenario,
      c.label,
      // Two decimals: 2.00 against 2.31 writes per message is the whole story of the async modes.
      c.writes!.perUnit === null ? '—' : `${c.writes!.perUnit.toFixed(2)} /${c.writes!.unit}`,
      fmtLatencyUs(c.latency?.p50Us),
      fmtLatencyUs(c.latency?.p99Us),
      c.cost.proxy === null ? '—' : `${fmtNumber(c.cost.proxy)} ${c.cost.unit}`,
      writesSource(c),
    ]);
}
