// The native tunnel engine as users run it: `wspass run --workers 2` in a child process. The engine of
// each worker is in /status and in the start-up line; a worker that throws with native tunnels open
// loses exactly those, the process lives on, the other worker's tunnels keep echoing, and no fd leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type net from 'node:net';
import { WebSocket } from 'ws';
import { spawnSync } from 'node:child_process';
import { CLI, SANITIZER_REPORT, spawnProxy, tempFile, waitForStatus } from '../helpers/cli.js';
import { nextMessage, openWs, rawClient, startWsBackend, wsHandshake } from '../helpers/peers.js';
import { scriptedBackend } from '../helpers/scripted-backend.js';
import { loadNative } from '../../src/tunnel/native-addon.js';
import { pollUntil } from '../helpers/poll.js';

const native = loadNative();
// Set by the sanitizer lane (native-addon-asan): each `wspass run` ends on SIGTERM by itself and must exit
// 0 without a sanitizer report, so LeakSanitizer checks it; elsewhere a SIGKILL, which is faster.
const checkedEnd = process.env.WSPASS_TEST_CHECKED_END === '1';
const skip = native.addon === undefined && process.env.CI !== 'true' ? `native addon not available: ${native.error}` : false;

function config(backendPort: number, engine: string) {
  return {
    listen: '127.0.0.1:0',
    admin: { listen: '127.0.0.1:0' },
    log: { level: 'warn' },
    tunnel: { engine },
    routes: [{ name: 'echo', path: '/', backend: `ws://127.0.0.1:${backendPort}/` }],
  };
}

async function echo(ws: WebSocket, text: string): Promise<string> {
  const reply = nextMessage(ws);
  ws.send(text);
  return (await reply).data.toString();
}

function fdsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

interface EngineStatus {
  workers: { engine?: string; restarts: number; state: string }[];
}

test('a worker that throws with 1,000 native tunnels open loses exactly those; the rest keep echoing; no fd leaks', { skip, timeout: 120_000 }, async (t) => {
  const backend = await startWsBackend(t);
  const { port, admin, child } = await spawnProxy(t, config(backend.port, 'native'), { args: ['--workers', '2'], env: { WSPASS_FAULT_INJECTION: '1' }, checkedEnd });
  const ready = (await waitForStatus(admin!, (s) => s.workers.every((w) => w.state === 'ready'), 'workers ready')) as unknown as EngineStatus;
  assert.deepEqual(ready.workers.map((w) => w.engine), ['native', 'native']);
  const baseline = fdsOf(child.pid!);
  const sockets: WebSocket[] = [];
  for (let wave = 0; wave < 4; wave++) sockets.push(...(await Promise.all(Array.from({ length: 250 }, () => openWs(t, `ws://127.0.0.1:${port}/`)))));
  const before = await waitForStatus(admin!, (s) => s.counters.routes.echo?.activeTunnels === 1000, '1000 active tunnels');
  const onWorker1 = before.counters.workers[1]!.activeTunnels;
  assert.ok(onWorker1 > 0 && onWorker1 < 1000, `worker 1 holds ${onWorker1} of 1000`);
  const closed = sockets.map((ws) => new Promise<void>((r) => ws.once('close', () => r())));
  const res = await fetch(`${admin}/debug/crash-worker?id=1`, { method: 'POST' });
  assert.equal(res.status, 202);
  await waitForStatus(admin!, (s) => s.workers[1]!.restarts === 1 && s.workers[1]!.state === 'ready', 'worker 1 respawned');
  // The crashed worker's tunnels are closed by its exit: wait until that many clients saw their close.
  let closedCount = 0;
  await new Promise<void>((resolve) => {
    for (const p of closed) void p.then(() => ++closedCount === onWorker1 && resolve());
  });
  assert.equal(child.exitCode, null, 'the process lives on');
  const survivors = sockets.filter((ws) => ws.readyState === WebSocket.OPEN);
  assert.equal(survivors.length, 1000 - onWorker1);
  for (const [i, ws] of survivors.slice(0, 100).entries()) assert.equal(await echo(ws, `still ${i}`), `still ${i}`);
  // Every tunnel closed from the client side: the proxy's fds return to where they were.
  for (const ws of sockets) ws.terminate();
  await waitForStatus(admin!, (s) => s.counters.routes.echo?.activeTunnels === 0, 'no active tunnels');
  await pollUntil(() => fdsOf(child.pid!) <= baseline, () => `fds back to ${baseline} (${fdsOf(child.pid!)})`, { everyMs: 25 });
  // At most the baseline: it can hold a socket of the status poll that closes later (then one fewer).
  const after = fdsOf(child.pid!);
  assert.ok(after <= baseline, `fds ${after} after the tunnels closed, ${baseline} before them`);
});

test('auto without the addon runs the JS engine and says so; native without it is a start-up error', async (t) => {
  const backend = await startWsBackend(t);
  const env = { WSPASS_NATIVE_ADDON: '/nonexistent/wspass_native.node' };
  const { admin, port } = await spawnProxy(t, config(backend.port, 'auto'), { args: ['--workers', '1'], env, checkedEnd });
  const s = (await waitForStatus(admin!, (st) => st.workers.every((w) => w.state === 'ready'), 'ready')) as unknown as EngineStatus;
  assert.deepEqual(s.workers.map((w) => w.engine), ['js']);
  const ws = await openWs(t, `ws://127.0.0.1:${port}/`);
  assert.equal(await echo(ws, 'on js'), 'on js');

  const file = tempFile(t, 'native.json', JSON.stringify(config(backend.port, 'native')));
  const r = spawnSync(process.execPath, [CLI, 'run', '--config', file, '--workers', '1'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /tunnel\.engine is native/);
  // It ends by itself: on the sanitized addon, LeakSanitizer has checked it too.
  assert.doesNotMatch(r.stderr, SANITIZER_REPORT);
});

test('a worker that throws while the front holds clients waiting for their backend closes exactly those clients; no fd leaks', { skip, timeout: 60_000 }, async (t) => {
  // A backend that takes each request and never answers: every handshake stays in flight, its client held
  // by the front as a raw fd (no socket), its backend connection a native leg.
  const waiting: net.Socket[] = [];
  const backend = await scriptedBackend(t, (s) => waiting.push(s));
  const { port, admin, child } = await spawnProxy(t, config(backend.port, 'native'), { args: ['--workers', '2'], env: { WSPASS_FAULT_INJECTION: '1' }, checkedEnd });
  await waitForStatus(admin!, (s) => s.workers.every((w) => w.state === 'ready'), 'workers ready');
  const baseline = fdsOf(child.pid!);
  const clients = await Promise.all(Array.from({ length: 40 }, () => rawClient(t, port)));
  // Half-open clients in flowing mode: a close by the proxy shows as 'end'.
  const ended = clients.map((c) => new Promise<void>((resolve) => c.once('end', () => resolve()).resume()));
  for (const c of clients) c.write(wsHandshake('/held'));
  const held = (await waitForStatus(admin!, (s) => frontTaken(s).reduce((a, b) => a + b, 0) === 40 && waiting.length === 40, '40 handshakes held')) as unknown as FrontStatus;
  const onWorker1 = held.counters.front[1]!.taken;
  assert.ok(onWorker1 > 0 && onWorker1 < 40, `worker 1 holds ${onWorker1} of 40`);
  assert.equal((await fetch(`${admin}/debug/crash-worker?id=1`, { method: 'POST' })).status, 202);
  // The crashed worker's held clients are closed by its exit (its cleanup hook), the others still wait.
  let closed = 0;
  await new Promise<void>((resolve) => {
    for (const e of ended) void e.then(() => ++closed === onWorker1 && resolve());
  });
  await waitForStatus(admin!, (s) => s.workers[1]!.restarts === 1 && s.workers[1]!.state === 'ready', 'worker 1 respawned');
  assert.equal(clients.filter((c) => !c.readableEnded).length, 40 - onWorker1);
  assert.equal(child.exitCode, null, 'the process lives on');
  // The backend lets go: the surviving worker answers its held clients (502) and closes; fds back to the start.
  for (const c of clients) c.destroy();
  for (const s of waiting) s.destroy();
  await pollUntil(() => fdsOf(child.pid!) <= baseline, () => `fds back to ${baseline} (${fdsOf(child.pid!)})`, { everyMs: 25 });
});

interface FrontStatus {
  counters: { front: { taken: number; givenBack: number }[] };
}

function frontTaken(s: unknown): number[] {
  return (s as FrontStatus).counters.front.map((w) => w.taken);
}
