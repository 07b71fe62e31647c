// Connect burst across worker threads: N WebSockets opened at once against wspass running several
// workers (each binds the listener with SO_REUSEPORT, DESIGN D2), then the per-worker `tunnelsOpened`
// from `GET /status` shows how evenly the kernel spread them. Latency is each connection's time to
// 'open' from the start of the burst; cost is proxy CPU per connect (accept, route, backend connect, 101).
import { runLoad } from '../loadgen/run-shards.js';
import { CpuWindow } from '../measure/window.js';
import { baseMeasurement, costOf, withWrites, writesOf } from './ws-load.js';
import type { AdminClient, ScenarioDef } from './types.js';

const WARM_CONNECTIONS = 64;

async function openedPerWorker(admin: AdminClient): Promise<number[]> {
  const s = await admin.status();
  return s.counters.workers.map((w) => w.tunnelsOpened);
}

/** Per-worker difference of two `tunnelsOpened` readings (a worker missing from `before` counts 0). */
export function tunnelsDuring(before: readonly number[], after: readonly number[]): number[] {
  return after.map((n, i) => n - (before[i] ?? 0));
}

/** "worker 0: 507 (50.7%), worker 1: 493 (49.3%)". */
export function describeShare(perWorker: readonly number[]): string {
  const total = perWorker.reduce((a, b) => a + b, 0);
  return perWorker
    .map((n, i) => `worker ${i}: ${n}${total > 0 ? ` (${((n / total) * 100).toFixed(1)}%)` : ''}`)
    .join(', ');
}

export const burstScenario: ScenarioDef = {
  name: 'burst',
  title: 'Connect burst across workers',
  description: 'N WebSockets opened at once; tunnels each wspass worker opened (from /status), time to open, proxy CPU per connect',
  // durationS bounds the window the burst must complete in; there is no warm-up (it would pre-open tunnels).
  defaults: { durationS: 4, warmupS: 0, connections: 1000, sizeBytes: 0, ratePerSec: 0 },
  defaultWorkers: [2],
  proxyOnly: true,
  // The share comes from wspass's own counters: a --target has none.
  proxyCases: (label, isTarget) => (isTarget ? [] : [{ variant: 'wspass', label, prefix: '/' }]),
  async run(ctx) {
    const s = ctx.settings;
    if (!ctx.admin) throw new Error('the burst scenario needs wspass started with its admin endpoint');
    // A few connections first, opened and closed, so a cold process's first-call costs (code loading,
    // JIT) are not charged to the burst; the share counts only what the burst opened.
    await runLoad({ kind: 'idle', urls: [`${ctx.wsBase}echo`], connections: Math.min(WARM_CONNECTIONS, s.connections), shards: s.shards, sizeBytes: 0, warmupMs: 0, durationMs: 0 });
    const before = await openedPerWorker(ctx.admin);
    const win = new CpuWindow(ctx.proxyPids, [ctx.backendPid], ctx.admin);
    const load = await runLoad({
      kind: 'burst',
      urls: [`${ctx.wsBase}echo`],
      connections: s.connections,
      shards: s.shards,
      sizeBytes: 0,
      warmupMs: 0,
      durationMs: s.durationS * 1000,
      onWindowStart: () => win.begin(),
      onWindowEnd: () => void win.end(),
    });
    const cpu = await win.settled();
    const perWorker = tunnelsDuring(before, await openedPerWorker(ctx.admin));
    const m = withWrites(
      {
        units: load.units,
        // The burst's rate: connections over the time the last one took to open.
        throughput: { value: load.latency && load.latency.maxUs > 0 ? load.units / (load.latency.maxUs / 1e6) : 0, unit: 'connects/s' },
        latency: load.latency,
        cpu,
        cost: costOf(cpu, load.units, 'µs/connect'),
        ...baseMeasurement(load),
      },
      writesOf(cpu, load.units, 'connect'),
    );
    m.workerTunnels = perWorker;
    if (load.latency && load.latency.maxUs > s.durationS * 1e6) {
      m.warnings.push(`the burst took ${(load.latency.maxUs / 1e6).toFixed(1)} s, longer than the ${s.durationS} s window: CPU per connect is undercounted`);
    }
    const opened = perWorker.reduce((a, b) => a + b, 0);
    if (opened !== load.units) m.warnings.push(`wspass counted ${opened} tunnels opened, the clients ${load.units}`);
    return m;
  },
};
