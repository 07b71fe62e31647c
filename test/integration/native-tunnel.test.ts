// The native tunnel engine through the whole proxy: the hand-off while bytes flow both ways, a
// randomised stream test with checksums, counters and close reports, and fds back to their baseline.
// With CI=true the addon must have loaded (a build that silently fell back to JS fails here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { ProxyServer, type ProxyStats } from '../../src/server/proxy-server.js';
import { loadNative } from '../../src/tunnel/native-addon.js';
import type { TunnelCloseInfo } from '../../src/tunnel/tunnel.js';
import { readUntil } from '../helpers/peers.js';
import { pollUntil } from '../helpers/poll.js';

const native = loadNative();

test('the native engine loaded (required with CI=true)', (t) => {
  if (process.env.CI === 'true') assert.equal(native.error, undefined, 'CI=true: the native addon must load');
  else if (native.addon === undefined) t.skip(`native addon not available: ${native.error}`);
  assert.ok(process.env.CI !== 'true' || native.addon !== undefined);
});

const skip = native.addon === undefined ? 'native addon not available' : false;

interface Closed {
  route: string;
  info: TunnelCloseInfo;
}

async function startNativeProxy(t: TestContext, backendPort: number, extra: Record<string, unknown> = {}) {
  const closed: Closed[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  /** Resolves once `n` tunnels have reported their close. */
  const closedCount = (n: number): Promise<void> =>
    closed.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }));
  const stats: ProxyStats = {
    tunnelOpened: () => undefined,
    tunnelClosed: (route, info) => {
      closed.push({ route, info });
      for (const w of waiters) if (closed.length >= w.n) w.resolve();
    },
    httpRequest: () => undefined,
    error: () => undefined,
  };
  const config = configSchema.parse({
    listen: '127.0.0.1:0',
    tunnel: { engine: 'native' },
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backendPort}/`, ...extra }],
  });
  const proxy = new ProxyServer(config, { log: silentLogger(), stats });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  return { proxy, port: addr!.port, closed, closedCount };
}

function head(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

const POOL = randomBytes(2 * 1024 * 1024);

/** A stream of 1..3 messages of 1 B to 1 MiB (log-uniform), cut from a random pool. */
function randomStream(): Buffer[] {
  const n = 1 + Math.floor(Math.random() * 3);
  return Array.from({ length: n }, () => {
    const size = Math.max(1, Math.floor(2 ** (Math.random() * 20)));
    const at = Math.floor(Math.random() * (POOL.length - size));
    return POOL.subarray(at, at + size);
  });
}

function digest(chunks: readonly Buffer[]): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

/** Writes `chunks` honouring backpressure, then ends. */
async function sendAll(s: net.Socket, chunks: readonly Buffer[]): Promise<void> {
  for (const c of chunks) {
    if (s.destroyed) return;
    if (!s.write(c)) await once(s, 'drain');
  }
  s.end();
}

/** Reads to the end with random stalls (a slow reader now and then); resolves with hash and length. */
function receiveAll(s: net.Socket, skipHead: boolean, first?: Buffer): Promise<{ hash: string; length: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let length = first?.length ?? 0;
    if (first !== undefined) h.update(first);
    let pendingHead: Buffer | undefined = skipHead ? Buffer.alloc(0) : undefined;
    s.on('data', (d: Buffer) => {
      if (pendingHead !== undefined) {
        pendingHead = Buffer.concat([pendingHead, d]);
        const end = pendingHead.indexOf('\r\n\r\n');
        if (end < 0) return;
        d = pendingHead.subarray(end + 4);
        pendingHead = undefined;
      }
      h.update(d);
      length += d.length;
      if (Math.random() < 0.05) {
        s.pause();
        setTimeout(() => s.resume(), Math.floor(Math.random() * 15));
      }
    });
    s.on('end', () => resolve({ hash: h.digest('hex'), length }));
    s.on('error', reject);
  });
}

test('randomised streams: 200 tunnels, 1 B to 1 MiB messages both ways, reader stalls, hand-off while data flows', { skip, timeout: 90_000 }, async (t) => {
  const sentByClient = new Map<string, { hash: string; length: number }>();
  const sentByBackend = new Map<string, { hash: string; length: number }>();
  const gotByBackend = new Map<string, Promise<{ hash: string; length: number }>>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.removeListener('data', onData);
      const id = /^GET \/t\/(\d+)/.exec(buf.toString('latin1'))![1]!;
      const rest = buf.subarray(end + 4);
      // Bytes of the client's stream that came with (or right after) its head count too.
      gotByBackend.set(id, receiveAll(s, false, rest));
      const stream = randomStream();
      sentByBackend.set(id, { hash: digest(stream), length: stream.reduce((n, c) => n + c.length, 0) });
      // The 101 and the first bytes of the backend's stream in one write: they arrive before the hand-off.
      s.write(Buffer.concat([Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'), stream[0]!]));
      void sendAll(s, stream.slice(1));
    };
    s.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { proxy, port, closed, closedCount } = await startNativeProxy(t, (server.address() as AddressInfo).port);

  let sawNative = 0;
  const one = async (i: number) => {
    const id = String(i);
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    s.on('error', () => undefined);
    await once(s, 'connect');
    const stream = randomStream();
    sentByClient.set(id, { hash: digest(stream), length: stream.reduce((n, c) => n + c.length, 0) });
    const received = receiveAll(s, true);
    // The client's stream starts with its head, before any 101: the hand-off happens with data in flight.
    s.write(Buffer.concat([Buffer.from(head(`/t/${id}`)), stream[0]!]));
    // The rest once the 101 is there (a FIN before the 101 would end the request, not the tunnel).
    s.once('data', () => {
      // The 101 is here, so this tunnel is among the live ones.
      if ([...proxy.liveTunnels()].some(([tunnel]) => tunnel.engine === 'native')) sawNative++;
      void sendAll(s, stream.slice(1));
    });
    const got = await received;
    assert.deepEqual(got, sentByBackend.get(id), `tunnel ${id}: backend → client`);
    assert.deepEqual(await gotByBackend.get(id), sentByClient.get(id), `tunnel ${id}: client → backend`);
    s.destroy();
  };
  const WAVES = 4;
  const PER = 50;
  for (let wave = 0; wave < WAVES; wave++) await Promise.all(Array.from({ length: PER }, (_, i) => one(wave * PER + i)));
  assert.ok(sawNative > 0, 'tunnels ran on the native engine');
  // Every tunnel reports its close once, with the bytes that went each way.
  await closedCount(WAVES * PER);
  let toBackend = 0;
  let expected = 0;
  for (const c of closed) toBackend += c.info.bytesToBackend;
  for (const v of sentByClient.values()) expected += v.length;
  assert.equal(toBackend, expected);
  assert.ok(closed.every((c) => c.info.reason === 'client-closed' || c.info.reason === 'backend-closed'), JSON.stringify(closed.map((c) => c.info.reason)));
});

test('counts are pulled while the tunnel runs; close() passes FIN both ways and reports "closed"', { skip }, async (t) => {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    s.once('data', () => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello'));
    s.on('end', () => s.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { proxy, port, closed, closedCount } = await startNativeProxy(t, (server.address() as AddressInfo).port);
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  s.on('error', () => undefined);
  t.after(() => s.destroy());
  const greeted = readUntil(s, (b) => b.toString('latin1').endsWith('hello'));
  s.write(head('/'));
  await greeted;
  const tunnel = [...proxy.liveTunnels()][0]?.[0];
  assert.equal(tunnel!.engine, 'native');
  s.write('12345');
  // Counters are pulled from the C side in bulk (no event per byte): a bounded poll.
  await pollUntil(() => tunnel!.bytesToBackend >= 5, () => `5 bytes counted toward the backend (${tunnel!.bytesToBackend})`);
  assert.equal(tunnel!.bytesToBackend, 5);
  assert.equal(tunnel!.bytesToClient, 5);
  tunnel!.close();
  await once(s, 'end');
  s.end();
  await closedCount(1);
  assert.equal(closed[0]!.info.reason, 'closed');
  assert.equal(closed[0]!.info.bytesToBackend, 5);
});

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

test('fds return to their baseline after 10,000 native tunnels in waves of 1,000', { skip, timeout: 90_000 }, async (t) => {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'));
    s.on('data', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { proxy, port, closedCount } = await startNativeProxy(t, (server.address() as AddressInfo).port);
  const baseline = openFds();
  const open = async (): Promise<net.Socket> => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    s.write(head('/'));
    await once(s, 'data');
    return s;
  };
  for (let wave = 0; wave < 10; wave++) {
    // 1,000 open at once, connected 200 at a time, within the listen backlog (511): 1,000 connects at once
    // once failed with a reset under the sanitizer build, where the proxy accepts slowly (a backlog
    // overflow is the likely cause; not proven).
    const sockets: net.Socket[] = [];
    while (sockets.length < 1_000) sockets.push(...(await Promise.all(Array.from({ length: 200 }, open))));
    assert.equal(proxy.tunnelCount, 1_000);
    assert.ok([...proxy.liveTunnels()].every(([tunnel]) => tunnel.engine === 'native'));
    // Half end politely, half reset: both paths must release every fd.
    sockets.forEach((s, i) => (i % 2 === 0 ? s.end() : s.resetAndDestroy()));
    await closedCount((wave + 1) * 1_000);
    assert.equal(proxy.tunnelCount, 0);
    for (const s of sockets) s.destroy();
  }
  // Sockets of the test's own peers close asynchronously: wait (bounded) for the count to settle.
  await pollUntil(() => openFds() <= baseline, () => `fds back to ${baseline} (${openFds()})`, { everyMs: 10 });
  assert.equal(openFds(), baseline);
});
