// The results document (results.json): everything a run measured, with the machine it ran on, in a
// stable shape and rounding so two runs diff line by line.
import { cpus, release, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseResult } from '../scenarios/types.js';
import { capacityOf, type Capacity } from './capacity.js';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memGiB: number;
  kernel: string;
  node: string;
}

export interface BenchResults {
  format: 'wspass-bench/1';
  createdAt: string;
  command: string;
  /** The commit of the checkout that ran (its wspass is the one measured) and whether it had local changes. */
  source?: { commit: string | null; dirty: boolean };
  machine: MachineInfo;
  pinning: string;
  backend: { impl: 'uws' | 'ws'; fallbackReason?: string };
  /** workers: the wspass worker counts the run's cases used. */
  /** `references`: version line of each --compare proxy that ran. */
  proxy: { name: string; target?: string; workers?: number[]; references?: Record<string, string> };
  cases: CaseResult[];
  capacity: Capacity;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
  };
}

export function hostLabel(m: MachineInfo): string {
  return `${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB`;
}

export function buildResults(parts: Omit<BenchResults, 'format' | 'capacity' | 'createdAt'>): BenchResults {
  return {
    format: 'wspass-bench/1',
    createdAt: new Date().toISOString(),
    ...parts,
    capacity: capacityOf(parts.cases, hostLabel(parts.machine)),
  };
}

/** Rounds every number to 4 significant digits (integers stay as they are) so diffs show real changes. */
export function roundForDiff(value: unknown): unknown {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || Number.isInteger(value)) return value;
    return Number(value.toPrecision(4));
  }
  if (Array.isArray(value)) return value.map(roundForDiff);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundForDiff(v)]));
  }
  return value;
}

export function writeResultsJson(dir: string, results: BenchResults, name = 'results.json'): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, `${JSON.stringify(roundForDiff(results), null, 2)}\n`);
  return file;
}
