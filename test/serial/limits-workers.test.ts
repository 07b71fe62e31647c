// Tunnel limits counted across worker threads (`wspass run --workers 2`): concurrent handshakes landing
// on both workers race for the last slots and exactly the limit gets through; a worker that dies gives
// its reservations back (the primary reclaims them), so its slots are usable again after the respawn.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnProxy, waitForStatus } from '../helpers/cli.js';
import { rawExchange, statusOf, wsHandshake } from '../helpers/peers.js';
import { testTunnelEngine } from '../helpers/proxy.js';
import { switchEchoBackend } from '../helpers/scripted-backend.js';

interface Answer {
  readonly status: number;
  readonly code: string | undefined;
  destroy(): void;
}

async function upgrade(t: TestContext, port: number, path: string): Promise<Answer> {
  const { head, socket } = await rawExchange(t, port, wsHandshake(path));
  socket.on('error', () => undefined);
  return { status: statusOf(head), code: /\r\nX-Wspass-Error: (\w+)\r\n/i.exec(head)?.[1], destroy: () => socket.destroy() };
}

/** `n` handshakes at once; the answers by "status code". */
async function race(t: TestContext, port: number, path: string, n: number): Promise<{ answers: Answer[]; tally: Record<string, number> }> {
  const answers = await Promise.all(Array.from({ length: n }, () => upgrade(t, port, path)));
  const tally: Record<string, number> = {};
  for (const a of answers) {
    const key = a.status === 101 ? '101' : `${a.status} ${a.code}`;
    tally[key] = (tally[key] ?? 0) + 1;
  }
  return { answers, tally };
}

function config(backendPort: number, limits: object, routes: object[]) {
  return {
    listen: '127.0.0.1:0',
    admin: { listen: '127.0.0.1:0' },
    log: { level: 'warn' },
    tunnel: { engine: testTunnelEngine() },
    limits,
    routes: routes.map((r) => ({ backend: `ws://127.0.0.1:${backendPort}/`, ...r })),
  };
}

test('2 workers share the process and route limits exactly; a dead worker\'s slots come back', async (t) => {
  const backend = await switchEchoBackend(t, 'hi');
  const cfg = config(backend.port, { maxTunnels: 16 }, [
    { name: 'r', path: '/r', maxTunnels: 6 },
    { name: 'g', path: '/' },
  ]);
  const { port, admin } = await spawnProxy(t, cfg, { args: ['--workers', '2'], env: { WSPASS_FAULT_INJECTION: '1' } });
  const onRoute = await race(t, port, '/r', 10);
  assert.deepEqual(onRoute.tally, { '101': 6, '503 WSP_LIMIT_ROUTE': 4 });
  const global = await race(t, port, '/g', 14);
  assert.deepEqual(global.tally, { '101': 10, '503 WSP_LIMIT_TUNNELS': 4 });
  // Each refusal is counted by limit, over both workers.
  const metrics = await (await fetch(`${admin}/metrics`)).text();
  assert.match(metrics, /^wspass_limit_rejections_total\{limit="route"\} 4$/m);
  assert.match(metrics, /^wspass_limit_rejections_total\{limit="tunnels"\} 4$/m);
  assert.match(metrics, /^wspass_limit_rejections_total\{limit="client_rate"\} 0$/m);
  const full = await waitForStatus(admin!, (s) => s.counters.workers.reduce((n, w) => n + w.activeTunnels, 0) === 16, '16 tunnels');
  const perWorker = full.counters.workers.map((w) => w.activeTunnels);
  t.diagnostic(`tunnels per worker: ${perWorker.join(' / ')}`);
  assert.ok(perWorker.every((n) => n > 0), `both workers must hold tunnels for this test: ${perWorker.join('/')}`);

  // Worker 1 dies with its tunnels: the primary gives their slots back before the respawn.
  const lost = perWorker[1]!;
  const crash = await fetch(`${admin}/debug/crash-worker?id=1`, { method: 'POST' });
  assert.equal(crash.status, 202);
  await waitForStatus(admin!, (s) => s.workers[1]!.restarts === 1 && s.workers[1]!.state === 'ready', 'worker 1 respawned');
  const again = await race(t, port, '/g', lost + 4);
  assert.deepEqual(again.tally, { '101': lost, '503 WSP_LIMIT_TUNNELS': 4 });
});

test('2 workers share the per-client table: the address limit holds across them, and frees on close', async (t) => {
  const backend = await switchEchoBackend(t, 'hi');
  const cfg = config(backend.port, { perClient: { maxTunnels: 5 } }, [{ name: 'g', path: '/' }]);
  const { port, admin } = await spawnProxy(t, cfg, { args: ['--workers', '2'] });
  const first = await race(t, port, '/', 9);
  assert.deepEqual(first.tally, { '101': 5, '429 WSP_LIMIT_CLIENT_TUNNELS': 4 });
  for (const a of first.answers.filter((x) => x.status === 101).slice(0, 2)) a.destroy();
  await waitForStatus(admin!, (s) => s.counters.routes.g?.activeTunnels === 3, '3 tunnels left');
  const second = await race(t, port, '/', 5);
  assert.deepEqual(second.tally, { '101': 2, '429 WSP_LIMIT_CLIENT_TUNNELS': 3 });
});
