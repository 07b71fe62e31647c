// Soak: many tunnels opened, echoed and closed in waves, then the proxy must be back where it started.
//
//   warm-up wave as large as the soak's waves → settle, GC → baseline fds and RSS
//   waves of at most WAVE_MAX open at once (echo for durationS, then all closed) until `connections` tunnels
//   → every tunnel closed (GET /status), fds settled, GC in every thread (SIGUSR2; wspass runs with
//     --expose-gc, a bench-only flag) → fds within 2 % of the baseline, RSS within max(5 MiB, 2 %)
//
// A leak of one fd, buffer or listener per tunnel shows as thousands of fds or megabytes here.
import { readdirSync } from 'node:fs';
import { runLoad, splitEvenly } from '../loadgen/run-shards.js';
import { settledRss } from './idle.js';
import { baseMeasurement } from './ws-load.js';
import type { CaseContext, ScenarioDef, SoakFigures } from './types.js';

/** Most tunnels open at once: the proxy holds two fds each, under a 20,000 fd limit per process. */
export const WAVE_MAX = 8_000;
const FD_TOLERANCE = 0.02;
const RSS_TOLERANCE = 0.02;
const RSS_FLOOR_KIB = 5 * 1024;
/** After SIGUSR2, time for every thread's collection to run (it is posted to the workers' loops). */
const GC_SETTLE_MS = 1_500;

function fdsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bounded poll (no event says "every thread closed its last socket"): until `ok` holds or ~10 s. */
async function until(ok: () => Promise<boolean> | boolean): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await ok()) return true;
    await pause(50);
  }
  return false;
}

/** The soak's verdict from its readings. */
export function soakVerdict(f: Omit<SoakFigures, 'fdsOk' | 'rssOk'>): SoakFigures {
  const rssRoom = Math.max(RSS_FLOOR_KIB, f.rssBeforeKiB * RSS_TOLERANCE);
  return {
    ...f,
    fdsOk: f.fdsAfter <= f.fdsBefore * (1 + FD_TOLERANCE),
    rssOk: f.rssAfterKiB - f.rssBeforeKiB <= rssRoom,
  };
}

export function soakSummary(f: SoakFigures): string {
  const pct = (a: number, b: number) => `${(((b - a) / a) * 100).toFixed(1)} %`;
  return (
    `soak: ${f.tunnels} tunnels in waves of ${f.waves.join(', ')}; ` +
    `fds ${f.fdsBefore} → ${f.fdsAfter} (${pct(f.fdsBefore, f.fdsAfter)}, ${f.fdsOk ? 'ok' : 'OVER'} 2 %); ` +
    `RSS ${(f.rssBeforeKiB / 1024).toFixed(1)} → ${(f.rssAfterKiB / 1024).toFixed(1)} MiB (${pct(f.rssBeforeKiB, f.rssAfterKiB)}, ` +
    `${f.rssOk ? 'ok' : 'OVER'} max(5 MiB, 2 %); after each wave ${f.rssPerWaveKiB.map((k) => (k / 1024).toFixed(1)).join(', ')} MiB)`
  );
}

async function settle(ctx: CaseContext, pid: number, fdTarget: number | undefined): Promise<void> {
  const admin = ctx.admin;
  if (admin) await until(async () => (await admin.status()).counters.workers.every((w) => w.activeTunnels === 0));
  if (fdTarget !== undefined) await until(() => fdsOf(pid) <= fdTarget);
  process.kill(pid, 'SIGUSR2');
  await pause(GC_SETTLE_MS);
}

export const soakScenario: ScenarioDef = {
  name: 'soak',
  title: 'Soak: tunnels opened and closed in waves',
  description:
    'N tunnels opened, echoed and closed in waves of at most 8,000; after settling and a forced GC the proxy\'s fds and RSS are back at their baseline',
  // connections: tunnels over the whole soak; durationS: echo time of each wave.
  defaults: { durationS: 2, warmupS: 0, connections: 10_000, sizeBytes: 32, ratePerSec: 0 },
  defaultWorkers: [2],
  proxyOnly: true,
  // The young generation at its full size from the start (as the perf gate's memory figure does): V8
  // grows it from 1 MiB under the first thousands of handshakes, ~15 MiB per thread once, not per tunnel.
  nodeFlags: ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'],
  proxyCases: (label) => [{ variant: 'wspass', label, prefix: '/' }],
  async run(ctx) {
    const pid = ctx.proxyPids?.[0];
    if (pid === undefined) throw new Error('soak measures a proxy process it knows');
    const s = ctx.settings;
    const url = ctx.wsBase + 'echo';
    const wave = (connections: number) =>
      runLoad({ kind: 'echo', urls: [url], connections, shards: s.shards, sizeBytes: s.sizeBytes, warmupMs: 0, durationMs: s.durationS * 1000 });
    const waves = splitEvenly(s.connections, Math.ceil(s.connections / WAVE_MAX));
    // Code loading, pools and the allocator's high-water mark of one wave belong to the baseline: what the
    // soak looks for is growth that repeats with every tunnel, not the first wave's one-time growth.
    await wave(waves[0]!);
    await settle(ctx, pid, undefined);
    const fdsBefore = fdsOf(pid);
    const rssBeforeKiB = (await settledRss([pid])) ?? 0;
    let units = 0;
    let errors = 0;
    let firstError: string | undefined;
    const rssPerWaveKiB: number[] = [];
    for (const n of waves) {
      const load = await wave(n);
      units += load.units;
      errors += load.errors;
      firstError ??= load.firstError;
      // Settled after each wave: growth that repeats per wave is a leak, growth once is not.
      await settle(ctx, pid, Math.floor(fdsBefore * (1 + FD_TOLERANCE)));
      rssPerWaveKiB.push((await settledRss([pid])) ?? 0);
    }
    const soak = soakVerdict({ tunnels: s.connections, waves, fdsBefore, fdsAfter: fdsOf(pid), rssBeforeKiB, rssAfterKiB: rssPerWaveKiB.at(-1)!, rssPerWaveKiB });
    const m = baseMeasurement({ units, bytes: 0, errors, firstError, outstanding: 0, latency: null, windowSeconds: 0, perTarget: [] });
    m.warnings = m.warnings.filter((w) => !w.startsWith('no work'));
    // The verdict is printed with the case whether or not it passed.
    m.warnings.push(soakSummary(soak));
    return {
      units: s.connections,
      throughput: { value: s.connections, unit: 'conns' },
      latency: null,
      cpu: null,
      cost: { unit: 'KiB/conn', proxy: ((soak.rssAfterKiB - soak.rssBeforeKiB) / s.connections) || 0, backend: null },
      soak,
      ...m,
    };
  },
};
