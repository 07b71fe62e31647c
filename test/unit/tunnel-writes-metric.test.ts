// The writes tunnels make reach the shared counters per worker and engine and `wspass_tunnel_writes_total`,
// without a per-tunnel "already counted" field: each flush takes the thread's total (closed tunnels'
// reports, open JavaScript tunnels' own counts, the native engine's pull) and adds its growth only.
// The native backend legs' sends (handshake requests) go to a counter of their own the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../src/metrics/prometheus.js';
import type { CountedTunnel } from '../../src/server/proxy-server.js';
import type { TunnelCloseInfo } from '../../src/tunnel/tunnel.js';
import { SharedCounters } from '../../src/workers/shared-counters.js';
import { WorkerStats } from '../../src/workers/worker-stats.js';

const closeInfo = (flushes: number): TunnelCloseInfo => ({ reason: 'closed', bytesToBackend: 0, bytesToClient: 0, writes: flushes, flushes, durationMs: 1 });

function counted(engine: 'js' | 'native', flushes: number): CountedTunnel & { flushes: number } {
  return { route: 'chat', member: undefined, bytesToBackend: 0, bytesToClient: 0, countedToBackend: 0, countedToClient: 0, engine, flushes };
}

test('writes: open and closed tunnels of both engines, counted once each, growth only', async () => {
  const counters = new SharedCounters(2);
  const slots = new Map([['chat', 0]]);
  let nativeLive = 0;
  const stats = new WorkerStats(counters.writer(1), slots, () => nativeLive);
  const live = new Set<CountedTunnel & { flushes: number }>();
  stats.watch(() => live);
  const writes = () => counters.snapshot(slots).tunnelWrites[1]!;

  const js = counted('js', 5);
  live.add(js);
  live.add(counted('native', 0)); // a running native tunnel: its sends come from the pull
  nativeLive = 7;
  stats.flush();
  assert.deepEqual(writes(), { js: 5, native: 7 });

  // The JS tunnel writes 3 more and closes with 8; the native one closes with 9 (2 more than pulled).
  js.flushes = 8;
  live.clear();
  stats.tunnelClosed('chat', closeInfo(8), js);
  stats.tunnelClosed('chat', closeInfo(9), counted('native', 9));
  nativeLive = 0;
  stats.flush();
  assert.deepEqual(writes(), { js: 8, native: 9 });

  // A native tunnel C stopped relaying whose close is not reported yet is in neither sum: no count is
  // taken back, and its sends arrive with its report.
  const c = counted('native', 0);
  live.add(c);
  nativeLive = 4;
  stats.flush();
  live.delete(c);
  nativeLive = 0;
  stats.flush();
  assert.deepEqual(writes(), { js: 8, native: 13 });
  stats.tunnelClosed('chat', closeInfo(6), c);
  stats.flush();
  assert.deepEqual(writes(), { js: 8, native: 15 });
  assert.deepEqual(counters.snapshot(slots).tunnelWrites[0], { js: 0, native: 0 }, 'only the worker\'s own row');

  const registry = createMetrics(() => ({ workers: [], counters: counters.snapshot(slots) }));
  const text = await registry.metrics();
  assert.match(text, /^wspass_tunnel_writes_total\{engine="js"\} 8$/m);
  assert.match(text, /^wspass_tunnel_writes_total\{engine="native"\} 15$/m);
});

test("backend legs' sends: the thread's total from C, growth only, in their own counter and not the tunnels'", async () => {
  const counters = new SharedCounters(2);
  const slots = new Map([['chat', 0]]);
  let legSends = 0;
  const stats = new WorkerStats(counters.writer(1), slots, () => 0, () => legSends);
  legSends = 3;
  stats.flush();
  stats.flush(); // the same total again adds nothing
  assert.deepEqual(counters.snapshot(slots).backendLegWrites, [0, 3]);
  legSends = 5;
  stats.flush();
  const snap = counters.snapshot(slots);
  assert.deepEqual(snap.backendLegWrites, [0, 5]);
  assert.deepEqual(snap.tunnelWrites[1], { js: 0, native: 0 });

  const text = await createMetrics(() => ({ workers: [], counters: counters.snapshot(slots) })).metrics();
  assert.match(text, /^wspass_backend_leg_writes_total 5$/m);
  assert.match(text, /^wspass_tunnel_writes_total\{engine="native"\} 0$/m);
});
