// Idle connections held: open N WebSockets, leave them quiet, and read the proxy's resident memory
// before and after. Memory per idle tunnel is a first-class figure (DESIGN D3): KiB per connection.
import { runLoad } from '../loadgen/run-shards.js';
import { kibPerConnection, median } from '../measure/cost.js';
import { readRssKiB, sumOverPids } from '../measure/proc.js';
import { baseMeasurement } from './ws-load.js';
import type { ScenarioDef } from './types.js';

const WARM_CONNECTIONS = 50;

function rssOf(pids: readonly number[] | null): number | null {
  return pids ? sumOverPids(pids, readRssKiB) : null;
}

/** Median of three readings 100 ms apart (RSS moves a little while the allocator settles). */
export async function settledRss(pids: readonly number[] | null): Promise<number | null> {
  const xs: (number | null)[] = [];
  for (let i = 0; i < 3; i++) {
    xs.push(rssOf(pids));
    await new Promise((r) => setTimeout(r, 100));
  }
  return median(xs);
}

/**
 * KiB per idle connection from three RSS readings: before (after a warm-up), with the first half of the
 * connections open, and with all of them. `marginal` is the second half's growth per connection: it
 * leaves out one-time growth the first connections trigger (V8's young generation grows from 1 MiB to
 * its 16 MiB semi-spaces under the handshakes' garbage, ~15 MiB per thread heap), which is not memory
 * per tunnel. `total` is the old figure, all growth over all connections.
 */
export function idleFigures(
  before: number | null,
  half: number | null,
  after: number | null,
  firstHalf: number,
  secondHalf: number,
): { total: number | null; marginal: number | null } {
  return {
    total: before === null || after === null ? null : kibPerConnection(before, after, firstHalf + secondHalf),
    marginal: half === null || after === null ? null : kibPerConnection(half, after, secondHalf),
  };
}

export const idleScenario: ScenarioDef = {
  name: 'idle',
  title: 'Idle connections held',
  description:
    'N quiet WebSockets held open, in two halves; resident memory each connection of the second half adds (proxy and backend)',
  // warmupS is the settle time before each RSS reading: longer than wspass's heap reclaim takes to run
  // after the last handshake (tunnel.heapReclaimMs 2 s, checked every 2 s: at most 4 s), so a reading
  // is of what the process keeps once quiet, not of the garbage the handshakes left.
  defaults: { durationS: 1, warmupS: 5, connections: 2000, sizeBytes: 0, ratePerSec: 0 },
  proxyCases: (label) => [{ variant: 'wspass', label, prefix: '/' }],
  async run(ctx) {
    const s = ctx.settings;
    const url = ctx.wsBase + 'echo';
    // Warm up first so code loading and first-connection allocations are not charged to the held ones.
    await runLoad({ kind: 'idle', urls: [url], connections: Math.min(WARM_CONNECTIONS, s.connections), shards: s.shards, sizeBytes: 0, warmupMs: 0, durationMs: 0 });
    const settleMs = s.warmupS * 1000;
    const settle = () => new Promise((r) => setTimeout(r, settleMs));
    await new Promise((r) => setTimeout(r, settleMs / 2));
    const proxyBefore = await settledRss(ctx.proxyPids);
    const backendBefore = await settledRss([ctx.backendPid]);
    const firstHalf = Math.ceil(s.connections / 2);
    const secondHalf = s.connections - firstHalf;
    let proxyHalf: number | null = null;
    let backendHalf: number | null = null;
    let proxyAfter: number | null = null;
    let backendAfter: number | null = null;
    let inner: Awaited<ReturnType<typeof runLoad>> | undefined;
    const hold = (connections: number, onReady: () => Promise<void>) =>
      runLoad({ kind: 'idle', urls: [url], connections, shards: s.shards, sizeBytes: 0, warmupMs: 0, durationMs: s.durationS * 1000, onReady });
    const outer = await hold(firstHalf, async () => {
      await settle();
      proxyHalf = await settledRss(ctx.proxyPids);
      backendHalf = await settledRss([ctx.backendPid]);
      if (secondHalf === 0) {
        [proxyAfter, backendAfter] = [proxyHalf, backendHalf];
        return;
      }
      // The second half is opened and held while the first stays open.
      inner = await hold(secondHalf, async () => {
        await settle();
        proxyAfter = await settledRss(ctx.proxyPids);
        backendAfter = await settledRss([ctx.backendPid]);
      });
    });
    const m = baseMeasurement({ ...outer, errors: outer.errors + (inner?.errors ?? 0), firstError: outer.firstError ?? inner?.firstError });
    m.warnings = m.warnings.filter((w) => !w.startsWith('no work'));
    const proxy = idleFigures(proxyBefore, proxyHalf, proxyAfter, firstHalf, secondHalf);
    const backend = idleFigures(backendBefore, backendHalf, backendAfter, firstHalf, secondHalf);
    return {
      units: s.connections,
      throughput: { value: s.connections, unit: 'conns' },
      latency: null,
      cpu: null,
      cost: { unit: 'KiB/conn', proxy: secondHalf > 0 ? proxy.marginal : proxy.total, backend: secondHalf > 0 ? backend.marginal : backend.total },
      rss: {
        connections: s.connections,
        proxyBeforeKiB: proxyBefore,
        proxyHalfKiB: proxyHalf,
        proxyAfterKiB: proxyAfter,
        backendBeforeKiB: backendBefore,
        backendHalfKiB: backendHalf,
        backendAfterKiB: backendAfter,
        proxyTotalKiBPerConn: proxy.total,
        backendTotalKiBPerConn: backend.total,
      },
      ...m,
    };
  },
};
