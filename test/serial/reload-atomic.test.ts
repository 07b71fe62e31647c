// A reload applies in every worker or in none: when one worker cannot prepare the new config, the others
// do not switch either, and the running config keeps serving everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { WebSocket } from 'ws';
import { spawnProxy, waitForStatus } from '../helpers/cli.js';
import { nextMessage, openWs, startWsBackend } from '../helpers/peers.js';

async function answerFrom(ws: WebSocket): Promise<string> {
  const reply = nextMessage(ws);
  ws.send('who');
  return (await reply).data.toString();
}

test('a reload that one worker cannot prepare changes nothing in any worker; the next one applies everywhere', async (t) => {
  const a = await startWsBackend(t, {}, (ws) => ws.on('message', () => ws.send('A')));
  const b = await startWsBackend(t, {}, (ws) => ws.on('message', () => ws.send('B')));
  const config = (backend: number, adminPort: number) => ({
    listen: '127.0.0.1:0',
    admin: { listen: `127.0.0.1:${adminPort}` },
    log: { level: 'warn' },
    routes: [{ name: 'r', path: '/', backend: `ws://127.0.0.1:${backend}/` }],
  });
  const { port, admin, file } = await spawnProxy(t, config(a.port, 0), { args: ['--workers', '2'], env: { WSPASS_FAULT_INJECTION: '1' } });
  await waitForStatus(admin!, (s) => s.workers.every((w) => w.state === 'ready'), 'both workers ready');
  writeFileSync(file, JSON.stringify(config(b.port, Number(new URL(admin!).port))));

  assert.equal((await fetch(`${admin}/debug/fail-reload?id=1`, { method: 'POST' })).status, 202);
  const refused = await fetch(`${admin}/reload`, { method: 'POST' });
  assert.equal(refused.status, 422);
  const body = (await refused.json()) as { errors: string };
  assert.match(body.errors, /nothing changed: worker 1: fault injection: prepare refused/);

  // Connections spread over both workers: every one still reaches the old backend.
  const before = await Promise.all(Array.from({ length: 20 }, () => openWs(t, `ws://127.0.0.1:${port}/`)));
  assert.deepEqual(new Set(await Promise.all(before.map(answerFrom))), new Set(['A']));
  const spread = await waitForStatus(admin!, (s) => s.counters.routes.r?.activeTunnels === 20, '20 tunnels');
  assert.ok(spread.counters.workers.every((w) => w.activeTunnels > 0), 'both workers hold tunnels');

  const applied = await fetch(`${admin}/reload`, { method: 'POST' });
  assert.equal(applied.status, 200);
  const after = await Promise.all(Array.from({ length: 20 }, () => openWs(t, `ws://127.0.0.1:${port}/`)));
  assert.deepEqual(new Set(await Promise.all(after.map(answerFrom))), new Set(['B']));
});
