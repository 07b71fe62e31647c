// CPU pinning with taskset: the proxy on its own core(s), the echo backend and the load generator on
// the others, as in the anchor measurements (DESIGN §4). Checked at run time: taskset may be missing,
// forbidden in a container, or the machine may have one CPU; the bench then runs unpinned and says so.
import { spawnSync } from 'node:child_process';

export interface PinPlan {
  proxy: number[];
  backend: number[];
  loadgen: number[];
}

export interface Pinning {
  plan: PinPlan | null;
  /** One line for the output: what is pinned where, or why nothing is. */
  description: string;
}

/** Parses a CPU list such as "0-3,6" into [0,1,2,3,6]. */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-').map((s) => Number(s.trim()));
    if (a === undefined || !Number.isInteger(a)) throw new Error(`bad CPU list "${list}"`);
    const end = b === undefined ? a : b;
    if (!Number.isInteger(end) || end < a) throw new Error(`bad CPU list "${list}"`);
    for (let c = a; c <= end; c++) out.push(c);
  }
  return out;
}

/**
 * Splits the allowed CPUs: the proxy gets `proxyCpus` of them (one per worker thread when --workers is
 * given), the backend the next one, the load generator what is left (sharing the backend's core on a
 * 2-CPU machine, as the anchor figures were taken). Null when there are fewer than two CPUs.
 */
export function planPinning(allowed: readonly number[], proxyCpus: number): PinPlan | null {
  if (allowed.length < 2) return null;
  const nProxy = Math.max(1, Math.min(proxyCpus, allowed.length - 1));
  const proxy = allowed.slice(0, nProxy);
  const others = allowed.slice(nProxy);
  const backend = others.slice(0, 1);
  const loadgen = others.length > 1 ? others.slice(1) : backend;
  return { proxy, backend, loadgen };
}

/** The CPUs this process may run on, per taskset; null when taskset is unusable. */
function allowedCpus(): number[] | null {
  const r = spawnSync('taskset', ['-c', '-p', String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0 || typeof r.stdout !== 'string') return null;
  const m = /:\s*([0-9,\-\s]+)$/.exec(r.stdout.trim());
  return m?.[1] ? parseCpuList(m[1]) : null;
}

/** Decides the pinning and pins this process (the load generator; its threads inherit it). */
export function setUpPinning(proxyCpus: number, enabled: boolean): Pinning {
  if (!enabled) return { plan: null, description: 'not pinned (--no-pin)' };
  const allowed = allowedCpus();
  if (allowed === null) return { plan: null, description: 'not pinned: taskset is missing or not permitted here' };
  const plan = planPinning(allowed, proxyCpus);
  if (plan === null) return { plan: null, description: `not pinned: only ${allowed.length} CPU available` };
  const self = spawnSync('taskset', ['-a', '-c', '-p', plan.loadgen.join(','), String(process.pid)], { encoding: 'utf8' });
  if (self.status !== 0) return { plan: null, description: `not pinned: taskset failed (${(self.stderr || '').trim()})` };
  return {
    plan,
    description: `pinned with taskset: proxy → CPU ${plan.proxy.join(',')}, echo backend → CPU ${plan.backend.join(',')}, load generator → CPU ${plan.loadgen.join(',')}`,
  };
}

/** The command prefix that runs a child on these CPUs (empty when not pinned). */
export function pinPrefix(cpus: readonly number[] | undefined): string[] {
  return cpus && cpus.length > 0 ? ['taskset', '-c', cpus.join(',')] : [];
}
