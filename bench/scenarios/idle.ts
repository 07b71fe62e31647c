// Idle connections held: open N WebSockets, leave them quiet, and read the proxy's resident memory
// before and after. Memory per idle tunnel is a first-class figure (DESIGN D3): KiB per connection.
import { runLoad } from '../loadgen/run-shards.js';
import { kibPerConnection, median } from '../measure/cost.js';
import { readRssKiB } from '../measure/proc.js';
import { baseMeasurement } from './ws-load.js';
import type { ScenarioDef } from './types.js';

const WARM_CONNECTIONS = 50;

function rssOf(pids: readonly number[] | null): number | null {
  if (!pids) return null;
  let total = 0;
  for (const pid of pids) {
    const r = readRssKiB(pid);
    if (r === null) return null;
    total += r;
  }
  return total;
}

/** Median of three readings 100 ms apart (RSS moves a little while the allocator settles). */
async function settledRss(pids: readonly number[] | null): Promise<number | null> {
  const xs: (number | null)[] = [];
  for (let i = 0; i < 3; i++) {
    xs.push(rssOf(pids));
    await new Promise((r) => setTimeout(r, 100));
  }
  return median(xs);
}

export const idleScenario: ScenarioDef = {
  name: 'idle',
  title: 'Idle connections held',
  description: 'N quiet WebSockets held open; resident memory added per connection (proxy and backend)',
  // warmupS is the settle time before each RSS reading.
  defaults: { durationS: 1, warmupS: 1, connections: 2000, sizeBytes: 0, ratePerSec: 0 },
  proxyCases: (label) => [{ variant: 'wspass', label, prefix: '/' }],
  async run(ctx) {
    const s = ctx.settings;
    const url = ctx.wsBase + 'echo';
    // Warm up first so code loading and first-connection allocations are not charged to the held ones.
    await runLoad({ kind: 'idle', url, connections: Math.min(WARM_CONNECTIONS, s.connections), shards: s.shards, sizeBytes: 0, warmupMs: 0, durationMs: 0 });
    const settleMs = s.warmupS * 1000;
    await new Promise((r) => setTimeout(r, settleMs / 2));
    const proxyBefore = await settledRss(ctx.proxyPids);
    const backendBefore = await settledRss([ctx.backendPid]);
    let proxyAfter: number | null = null;
    let backendAfter: number | null = null;
    const load = await runLoad({
      kind: 'idle',
      url,
      connections: s.connections,
      shards: s.shards,
      sizeBytes: 0,
      warmupMs: 0,
      durationMs: s.durationS * 1000,
      onReady: async () => {
        await new Promise((r) => setTimeout(r, settleMs));
        proxyAfter = await settledRss(ctx.proxyPids);
        backendAfter = await settledRss([ctx.backendPid]);
      },
    });
    const m = baseMeasurement(load);
    m.warnings = m.warnings.filter((w) => !w.startsWith('no work'));
    const perConn = (a: number | null, b: number | null) => (a === null || b === null ? null : kibPerConnection(a, b, s.connections));
    return {
      units: s.connections,
      throughput: { value: s.connections, unit: 'conns' },
      latency: null,
      cpu: null,
      cost: { unit: 'KiB/conn', proxy: perConn(proxyBefore, proxyAfter), backend: perConn(backendBefore, backendAfter) },
      rss: {
        connections: s.connections,
        proxyBeforeKiB: proxyBefore,
        proxyAfterKiB: proxyAfter,
        backendBeforeKiB: backendBefore,
        backendAfterKiB: backendAfter,
      },
      ...m,
    };
  },
};
