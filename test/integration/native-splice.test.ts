// Bulk through the native engine, where payloads move with splice(2) (src/native/relay_splice.c): large
// WebSocket messages both ways arrive whole and in order, and a drain's goodbye in the middle of bulk
// still lands between frames, and the pipes exist only while bulk needs them: none for idle tunnels, at
// most 8 per thread, none once the thread's last tunnel closed. The randomised raw-byte stream test (native-tunnel.test.ts) covers splice
// on tunnels that are not WebSocket. Skipped where the addon is not built (required with CI=true).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { WebSocket } from 'ws';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { ProxyServer } from '../../src/server/proxy-server.js';
import { loadNative } from '../../src/tunnel/native-addon.js';
import { registryOf } from '../../src/tunnel/native-registry.js';
import { skipFor } from '../helpers/engines.js';
import { startWsBackend } from '../helpers/peers.js';
import { pollUntil } from '../helpers/poll.js';

const skip = skipFor('native');
const POOL = randomBytes(3 * 1024 * 1024);

async function nativeProxy(t: TestContext, backendPort: number) {
  const config = configSchema.parse({
    listen: '127.0.0.1:0',
    tunnel: { engine: 'native' },
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backendPort}/` }],
    shutdown: { closeCode: 1012, closeHandshakeMs: 5_000 },
  });
  const proxy = new ProxyServer(config, { log: silentLogger() });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  return { proxy, port: addr!.port };
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A message of `size` bytes cut from the random pool at a place that depends on `i`. */
function message(i: number, size: number): Buffer {
  const at = (i * 104_729) % (POOL.length - size);
  return POOL.subarray(at, at + size);
}

async function openClient(t: TestContext, port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPayload: 0 });
  t.after(() => ws.terminate());
  await once(ws, 'open');
  return ws;
}

test('native: large WebSocket messages both ways arrive whole and in order', { skip, timeout: 60_000 }, async (t) => {
  const backend = await startWsBackend(t, { perMessageDeflate: false, maxPayload: 0 });
  const { proxy, port } = await nativeProxy(t, backend.port);
  const ws = await openClient(t, port);
  assert.deepEqual([...proxy.liveTunnels()].map(([tunnel]) => tunnel.engine), ['native']);
  // 16 KiB to 2 MiB: payloads that splice, tails a plain read cut, and frames of every length encoding.
  const sizes = Array.from({ length: 40 }, (_, i) => Math.floor(2 ** (14 + ((i * 7) % 8) * 0.98)) + (i % 3) * 13);
  const sent = sizes.map((size, i) => message(i, size));
  const echoes: string[] = [];
  const all = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer) => {
      echoes.push(sha(data));
      if (echoes.length === sent.length) resolve();
    });
  });
  for (const m of sent) ws.send(m);
  await all;
  assert.deepEqual(echoes, sent.map(sha));
});

test('native: a drain in the middle of bulk closes with a close frame between whole messages', { skip, timeout: 60_000 }, async (t) => {
  let backendGot = 0;
  const backend = await startWsBackend(t, { perMessageDeflate: false, maxPayload: 0 }, (bws) => {
    bws.on('message', (data: Buffer) => {
      backendGot++;
      if (bws.readyState === WebSocket.OPEN) bws.send(data);
    });
  });
  const { proxy, port } = await nativeProxy(t, backend.port);
  const ws = await openClient(t, port);
  const errors: string[] = [];
  ws.on('error', (err) => errors.push(err.message));
  let sentCount = 0;
  const sent: string[] = [];
  const send = () => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const m = message(sentCount++, 256 * 1024 + (sentCount % 5) * 1000);
    sent.push(sha(m));
    ws.send(m);
  };
  const echoes: string[] = [];
  let draining = false;
  const bulkFlowing = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer) => {
      echoes.push(sha(data));
      send(); // keeps 4 messages in flight
      if (echoes.length === 20 && !draining) resolve();
    });
  });
  for (let i = 0; i < 4; i++) send();
  await bulkFlowing;
  draining = true;
  const closed = once(ws, 'close') as Promise<[number, Buffer]>;
  await proxy.drain({ tunnelDrainMs: 0, deadlineMs: 10_000 });
  const [code] = await closed;
  assert.equal(code, 1012, 'the client got the configured close code, not 1006');
  assert.deepEqual(errors, [], 'no frame was cut');
  // Every echo that arrived is a whole message, in the order sent.
  assert.deepEqual(echoes, sent.slice(0, echoes.length));
  assert.ok(backendGot >= echoes.length);
});

/** Pipe fds of this process (the addon's pipes among them). */
function pipeFds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('pipe:')) n++;
    } catch {
      // closed between the listing and the readlink
    }
  }
  return n;
}

test('native: idle tunnels hold no pipe; bulk borrows at most 8 per thread; none after the last tunnel', { skip, timeout: 60_000 }, async (t) => {
  const backend = await startWsBackend(t, { perMessageDeflate: false, maxPayload: 0 });
  const { proxy, port } = await nativeProxy(t, backend.port);
  // The thread's pool closes with its last tunnel: wait (bounded) for the earlier tests' tunnels to go.
  const registry = registryOf(loadNative().addon!);
  await pollUntil(() => registry.size === 0, () => `the earlier tests' ${registry.size} tunnels closed`, { everyMs: 10 });
  const baseline = pipeFds();
  const idle = await Promise.all(Array.from({ length: 50 }, () => openClient(t, port)));
  assert.equal(proxy.tunnelCount, 50);
  assert.equal(pipeFds(), baseline, 'idle tunnels hold no pipe');
  const bulk = await openClient(t, port);
  const m = message(1, 2 * 1024 * 1024);
  const echoed = new Promise<Buffer>((resolve) => bulk.once('message', (d: Buffer) => resolve(d)));
  bulk.send(m);
  assert.equal(sha(await echoed), sha(m));
  const during = pipeFds() - baseline;
  assert.ok(during > 0 && during <= 16, `${during} pipe fds after bulk (idle in the pool)`);
  for (const ws of [...idle, bulk]) ws.terminate();
  // Tunnel closes are reported from the loop: a bounded poll for the count, then for the fds.
  await pollUntil(() => proxy.tunnelCount === 0, () => `every tunnel closed (${proxy.tunnelCount} open)`, { everyMs: 10 });
  assert.equal(pipeFds(), baseline, 'the pool closed its pipes with the last tunnel');
});
