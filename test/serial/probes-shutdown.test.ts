// Liveness, readiness and the SIGTERM sequence of a real `wspass run` (2 workers): /healthz stays 200
// while workers are respawned (/readyz is 503 only while none is ready); /readyz turns 503 at the first
// SIGTERM while new connections are still served for shutdown.preStopDelayMs, then the listeners close;
// a second SIGTERM exits at once. The "starting" state is covered by test/unit/probes.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { spawnProxy, waitForLine, waitForStatus } from '../helpers/cli.js';
import { nextMessage, openWs, startWsBackend } from '../helpers/peers.js';
import { testTunnelEngine } from '../helpers/proxy.js';
import type { WebSocket } from 'ws';
import { pollUntil } from '../helpers/poll.js';

async function echo(ws: WebSocket, text: string): Promise<string> {
  const reply = nextMessage(ws);
  ws.send(text);
  return (await reply).data.toString();
}

/** Status code of GET `url` on a fresh connection. */
async function statusOf(url: string): Promise<number> {
  const res = await fetch(url, { headers: { connection: 'close' } });
  await res.text();
  return res.status;
}

/** Whether a TCP connection to `port` is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('healthz/readyz across a respawn and SIGTERM: not ready at once, serving during preStopDelayMs, then refused; a second SIGTERM exits at once', async (t) => {
  const backend = await startWsBackend(t);
  const preStopDelayMs = 2_000;
  const { child, port, admin, startup } = await spawnProxy(
    t,
    {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      health: { listen: '127.0.0.1:0' },
      log: { level: 'warn' },
      tunnel: { engine: testTunnelEngine() },
      shutdown: { preStopDelayMs, tunnelDrainMs: 60_000, deadlineMs: 90_000 },
      routes: [{ name: 'echo', path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
    },
    { args: ['--workers', '2'], env: { WSPASS_FAULT_INJECTION: '1' } },
  );
  const health = /"health":"([^"]+)"/.exec(startup)?.[1];
  assert.ok(health, startup);
  for (const base of [health, admin!]) {
    assert.equal(await statusOf(`${base}/healthz`), 200);
    assert.equal(await statusOf(`${base}/readyz`), 200);
  }
  assert.equal(await statusOf(`${health}/status`), 404, 'the health listener serves the probes only');

  // A worker respawn: liveness stays 200 (a restart would cut every tunnel), readiness too (one is ready).
  assert.equal((await fetch(`${admin}/debug/crash-worker?id=1`, { method: 'POST' })).status, 202);
  await waitForStatus(admin!, (s) => s.workers[1]!.state !== 'ready', 'worker 1 down');
  assert.equal(await statusOf(`${health}/healthz`), 200);
  assert.equal(await statusOf(`${health}/readyz`), 200);
  await waitForStatus(admin!, (s) => s.workers[1]!.state === 'ready' && s.workers[1]!.restarts === 1, 'worker 1 respawned');

  // Both workers down at once: nothing accepts, so not ready; still alive (both are being respawned).
  for (const id of [0, 1]) assert.equal((await fetch(`${admin}/debug/crash-worker?id=${id}`, { method: 'POST' })).status, 202);
  let answer = '';
  await pollUntil(
    async () => {
      const res = await fetch(`${health}/readyz`, { headers: { connection: 'close' } });
      answer = (await res.text()).trim();
      return res.status === 503;
    },
    'readiness 503 while both workers are down',
    { everyMs: 10 },
  );
  assert.equal(answer, 'no worker ready');
  assert.equal(await statusOf(`${health}/healthz`), 200, 'alive while every worker is respawned');
  await waitForStatus(admin!, (s) => s.workers.every((w) => w.state === 'ready') && s.workers[0]!.restarts === 1 && s.workers[1]!.restarts === 2, 'both respawned');
  assert.equal(await statusOf(`${health}/readyz`), 200);

  const before = await openWs(t, `ws://127.0.0.1:${port}/`);
  assert.equal(await echo(before, 'a'), 'a');

  // First SIGTERM: not ready at once; new connections still succeed during preStopDelayMs.
  const stopping = waitForLine(child, /"msg":"stopping: not ready"/);
  const sentAt = Date.now();
  child.kill('SIGTERM');
  await stopping;
  assert.equal(await statusOf(`${health}/readyz`), 503);
  assert.equal(await statusOf(`${admin}/readyz`), 503);
  assert.equal(await statusOf(`${health}/healthz`), 200, 'alive while stopping');
  const during = await openWs(t, `ws://127.0.0.1:${port}/`);
  assert.equal(await echo(during, 'b'), 'b');
  assert.ok(Date.now() - sentAt < preStopDelayMs, 'the new connection was served inside preStopDelayMs');

  // Then the drain: listeners close (new connections refused), open tunnels go on until their turn.
  await waitForLine(child, /"msg":"draining"/);
  assert.ok(Date.now() - sentAt >= preStopDelayMs - 50, 'the drain waited for preStopDelayMs');
  await pollUntil(async () => !(await accepts(port)), 'new connections are refused once the drain started', { everyMs: 25 });
  assert.equal(await statusOf(`${health}/readyz`), 503);
  assert.equal(await echo(before, 'c'), 'c', 'an open tunnel goes on during the drain');

  // Second SIGTERM: exit now, not after tunnelDrainMs.
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  const secondAt = Date.now();
  child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 1);
  assert.ok(Date.now() - secondAt < 5_000, `exited ${Date.now() - secondAt} ms after the second SIGTERM`);
});
