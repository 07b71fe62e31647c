// Client frames a drain dropped after the backend's close frame reach the shared counters and
// `wspass_tunnel_frames_dropped_total`, per route, added up over tunnels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../src/metrics/prometheus.js';
import type { TunnelCloseInfo } from '../../src/tunnel/tunnel.js';
import { SharedCounters } from '../../src/workers/shared-counters.js';
import { WorkerStats } from '../../src/workers/worker-stats.js';

const closeInfo = (framesDropped: number | undefined): TunnelCloseInfo => ({
  reason: 'closed',
  bytesToBackend: 0,
  bytesToClient: 0,
  writes: 0,
  flushes: 0,
  durationMs: 1,
  ...(framesDropped !== undefined ? { goodbye: 'handshake' as const, framesDropped } : {}),
});

test('frames dropped by drains are counted per route and published as a total', async () => {
  const counters = new SharedCounters(1);
  const slots = new Map([['chat', 0]]);
  const stats = new WorkerStats(counters.writer(0), slots);
  for (const dropped of [3, 0, undefined, 4]) {
    stats.tunnelOpened('chat');
    stats.tunnelClosed('chat', closeInfo(dropped), { route: 'chat', member: undefined, bytesToBackend: 0, bytesToClient: 0, countedToBackend: 0, countedToClient: 0, engine: 'js', flushes: 0 });
  }
  assert.equal(counters.snapshot(slots).routes.chat!.framesDropped, 7);
  const registry = createMetrics(() => ({ workers: [], counters: counters.snapshot(slots) }));
  assert.match(await registry.metrics(), /^wspass_tunnel_frames_dropped_total\{route="chat"\} 7$/m);
});
