// ByteTunnel between real loopback sockets: a client peer ⇄ [proxy client socket | tunnel | proxy
// backend socket] ⇄ a backend peer. Checks integrity, half-close, errors, idle timeout, backpressure,
// write scheduling and that onClose runs exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ByteTunnel } from '../../src/tunnel/byte-tunnel.js';
import type { TunnelCloseInfo, TunnelInitialBytes, TunnelOptions } from '../../src/tunnel/byte-tunnel.js';

type TestContext = Parameters<NonNullable<Parameters<typeof test>[0]>>[0];

const BASE: TunnelOptions = { idleTimeoutMs: 0, highWaterMarkBytes: 256 * 1024, async: false, asyncDelayMs: 0 };

interface Sockets {
  /** The client application's socket. */
  clientPeer: net.Socket;
  /** The proxy's accepted client socket (allowHalfOpen, as the HTTP server hands it over). */
  proxyClient: net.Socket;
  /** The proxy's connection to the backend. */
  proxyBackend: net.Socket;
  /** The backend application's socket. */
  backendPeer: net.Socket;
}

interface SocketOptions {
  /** Peers keep their write side open after a FIN (needed to test half-close). Default false. */
  peersHalfOpen?: boolean;
  /** The backend peer does not read until resumed. */
  backendPaused?: boolean;
}

async function listen(t: TestContext, server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

async function connectPair(
  t: TestContext,
  server: net.Server,
  clientHalfOpen: boolean,
): Promise<[connected: net.Socket, accepted: net.Socket]> {
  const port = await listen(t, server);
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const connected = net.connect({ port, host: '127.0.0.1', allowHalfOpen: clientHalfOpen });
  await once(connected, 'connect');
  const [socket] = await accepted;
  for (const s of [connected, socket]) t.after(() => s.destroy());
  return [connected, socket];
}

async function sockets(t: TestContext, opts: SocketOptions = {}): Promise<Sockets> {
  const halfOpen = opts.peersHalfOpen ?? false;
  const [clientPeer, proxyClient] = await connectPair(t, net.createServer({ allowHalfOpen: true }), halfOpen);
  const backendServer = net.createServer({ allowHalfOpen: halfOpen, pauseOnConnect: opts.backendPaused ?? false });
  const [proxyBackend, backendPeer] = await connectPair(t, backendServer, true);
  // Peers may see resets in the error tests; the assertions look at 'close'.
  clientPeer.on('error', () => {});
  backendPeer.on('error', () => {});
  return { clientPeer, proxyClient, proxyBackend, backendPeer };
}

interface Running extends Sockets {
  tunnel: ByteTunnel;
  /** Resolves with the close info on the first onClose call. */
  closed: Promise<TunnelCloseInfo>;
  /** How many times onClose ran. */
  closeCalls(): number;
}

function startTunnel(
  t: TestContext,
  s: Sockets,
  options: Partial<TunnelOptions> = {},
  initial: TunnelInitialBytes = {},
): Running {
  let calls = 0;
  let resolve!: (info: TunnelCloseInfo) => void;
  const closed = new Promise<TunnelCloseInfo>((r) => (resolve = r));
  const tunnel = new ByteTunnel(s.proxyClient, s.proxyBackend, { ...BASE, ...options }, initial, (info) => {
    calls++;
    resolve(info);
  });
  t.after(() => tunnel.destroy());
  return { ...s, tunnel, closed, closeCalls: () => calls };
}

async function running(t: TestContext, opts: SocketOptions & Partial<TunnelOptions> = {}): Promise<Running> {
  return startTunnel(t, await sockets(t, opts), opts);
}

/** Everything `socket` reads until its 'end'. */
async function readAll(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  if (!socket.readableEnded) await once(socket, 'end');
  return Buffer.concat(chunks);
}

/** Resolves with the first `n` bytes `socket` reads (and stops listening). */
function readBytes(socket: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got < n) return;
      socket.removeListener('data', onData);
      resolve(Buffer.concat(chunks));
    };
    socket.on('data', onData);
  });
}

async function closedSocket(socket: net.Socket): Promise<void> {
  if (!socket.closed) await once(socket, 'close');
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Writes `data` in `piece`-sized writes, then ends. */
function sendAndEnd(socket: net.Socket, data: Buffer, piece: number): void {
  for (let i = 0; i < data.length; i += piece) socket.write(data.subarray(i, i + piece));
  socket.end();
}

const MODES: [string, Partial<TunnelOptions>][] = [
  ['write-through', { async: false }],
  ['async, one flush per turn', { async: true, asyncDelayMs: 0 }],
  ['async, 5 ms delay', { async: true, asyncDelayMs: 5 }],
];

for (const [name, mode] of MODES) {
  test(`1 MiB each way arrives intact (${name})`, async (t) => {
    const r = await running(t, { peersHalfOpen: true, ...mode });
    const up = randomBytes(1024 * 1024);
    const down = randomBytes(1024 * 1024);
    const atBackend = readAll(r.backendPeer);
    const atClient = readAll(r.clientPeer);
    sendAndEnd(r.clientPeer, up, 16 * 1024);
    sendAndEnd(r.backendPeer, down, 7_000);
    assert.equal(sha256(await atBackend), sha256(up));
    assert.equal(sha256(await atClient), sha256(down));
    const info = await r.closed;
    assert.equal(info.bytesToBackend, up.length);
    assert.equal(info.bytesToClient, down.length);
    assert.ok(info.reason === 'client-closed' || info.reason === 'backend-closed', info.reason);
    assert.equal(info.error, undefined);
    assert.ok(info.flushes >= 1 && info.flushes <= info.writes);
    if (mode.async === false) assert.equal(info.flushes, info.writes);
    await Promise.all([closedSocket(r.clientPeer), closedSocket(r.backendPeer)]);
    assert.equal(r.closeCalls(), 1);
  });
}

test('bytes read past the heads go first, before bytes already waiting in the sockets', async (t) => {
  const s = await sockets(t, { peersHalfOpen: true });
  s.clientPeer.write('later-up');
  s.backendPeer.write('later-down');
  // Make sure both are already sitting in the proxy sockets before the tunnel starts.
  await Promise.all([once(s.proxyClient, 'readable'), once(s.proxyBackend, 'readable')]);
  const r = startTunnel(t, s, {}, { toBackend: Buffer.from('early-up|'), toClient: Buffer.from('early-down|') });
  const atBackend = readAll(r.backendPeer);
  const atClient = readAll(r.clientPeer);
  r.clientPeer.end();
  r.backendPeer.end();
  assert.equal((await atBackend).toString(), 'early-up|later-up');
  assert.equal((await atClient).toString(), 'early-down|later-down');
  const info = await r.closed;
  assert.equal(info.bytesToBackend, 'early-up|later-up'.length);
  assert.equal(info.bytesToClient, 'early-down|later-down'.length);
  assert.equal(r.closeCalls(), 1);
});

test('counters are readable while the tunnel runs', async (t) => {
  const r = await running(t);
  r.clientPeer.write('12345');
  await readBytes(r.backendPeer, 5);
  r.backendPeer.write('123');
  await readBytes(r.clientPeer, 3);
  assert.equal(r.tunnel.bytesToBackend, 5);
  assert.equal(r.tunnel.bytesToClient, 3);
  assert.equal(r.closeCalls(), 0);
});

test('half-close from the client: the backend still sends after the FIN, then ends', async (t) => {
  const r = await running(t, { peersHalfOpen: true });
  const atBackend = readAll(r.backendPeer);
  r.clientPeer.end('last words');
  assert.equal((await atBackend).toString(), 'last words'); // data, then the FIN, reached the backend
  assert.equal(r.closeCalls(), 0, 'the tunnel stays up for the other direction');
  const atClient = readAll(r.clientPeer);
  r.backendPeer.write('reply after FIN, ');
  r.backendPeer.end('and done');
  assert.equal((await atClient).toString(), 'reply after FIN, and done');
  const info = await r.closed;
  assert.equal(info.reason, 'client-closed');
  await Promise.all([closedSocket(r.clientPeer), closedSocket(r.backendPeer)]);
  assert.equal(r.closeCalls(), 1);
});

test('half-close from the backend: the client still sends after the FIN, then ends', async (t) => {
  const r = await running(t, { peersHalfOpen: true });
  const atClient = readAll(r.clientPeer);
  r.backendPeer.end('server done');
  assert.equal((await atClient).toString(), 'server done');
  assert.equal(r.closeCalls(), 0);
  const atBackend = readAll(r.backendPeer);
  r.clientPeer.end('client still talking');
  assert.equal((await atBackend).toString(), 'client still talking');
  const info = await r.closed;
  assert.equal(info.reason, 'backend-closed');
  assert.equal(r.closeCalls(), 1);
});

test('a reset from the client destroys the backend side', async (t) => {
  const r = await running(t);
  r.clientPeer.write('hello');
  await readBytes(r.backendPeer, 5);
  r.clientPeer.resetAndDestroy();
  const info = await r.closed;
  assert.equal(info.reason, 'client-error');
  const err: NodeJS.ErrnoException | undefined = info.error;
  assert.equal(err?.code, 'ECONNRESET');
  await closedSocket(r.backendPeer);
  assert.equal(r.proxyBackend.destroyed, true);
  assert.equal(r.closeCalls(), 1);
});

test('a reset from the backend destroys the client side', async (t) => {
  const r = await running(t);
  r.backendPeer.write('hi');
  await readBytes(r.clientPeer, 2);
  r.backendPeer.resetAndDestroy();
  const info = await r.closed;
  assert.equal(info.reason, 'backend-error');
  const err: NodeJS.ErrnoException | undefined = info.error;
  assert.equal(err?.code, 'ECONNRESET');
  await closedSocket(r.clientPeer);
  assert.equal(r.closeCalls(), 1);
});

test('a side destroyed from outside takes the other down', async (t) => {
  const r = await running(t);
  r.proxyBackend.destroy();
  const info = await r.closed;
  assert.equal(info.reason, 'backend-closed');
  await closedSocket(r.clientPeer);
  assert.equal(r.closeCalls(), 1);
});

test('idle timeout closes both sides and reports idle-timeout', async (t) => {
  const r = await running(t, { idleTimeoutMs: 40 });
  r.clientPeer.write('one message');
  await readBytes(r.backendPeer, 11);
  const clientEnd = once(r.clientPeer, 'end');
  const backendEnd = once(r.backendPeer, 'end');
  const info = await r.closed;
  assert.equal(info.reason, 'idle-timeout');
  assert.ok(info.durationMs >= 20, `closed after ${info.durationMs} ms`); // not at once (timers are ms-granular)
  await Promise.all([clientEnd, backendEnd]); // both peers got a FIN
  assert.equal(r.closeCalls(), 1);
});

test('traffic in either single direction keeps the idle timer from firing', async (t) => {
  // Long enough that a loaded machine's stall between two exchanges does not look like idleness.
  const idleTimeoutMs = 400;
  const r = await running(t, { idleTimeoutMs });
  const chunk = Buffer.alloc(32, 1);
  // A tunnel closed by its timer fails the test at once, instead of leaving a read waiting for ever.
  const closedEarly = r.closed.then((info) => {
    throw new Error(`the tunnel closed (${info.reason}) while traffic flowed`);
  });
  closedEarly.catch(() => undefined);
  // Each leg lasts several idle periods; every byte only travels one way.
  for (const [from, to] of [
    [r.clientPeer, r.backendPeer],
    [r.backendPeer, r.clientPeer],
  ] as const) {
    const start = performance.now();
    while (performance.now() - start < idleTimeoutMs * 2.5) {
      const arrived = readBytes(to, chunk.length);
      from.write(chunk);
      await Promise.race([arrived, closedEarly]);
    }
    assert.equal(r.closeCalls(), 0, 'an active tunnel is not idle');
  }
  // Once traffic stops, the same timer does fire.
  const info = await r.closed;
  assert.equal(info.reason, 'idle-timeout');
});

test('idleTimeoutMs 0 clears a timeout left on the client socket', async (t) => {
  const s = await sockets(t);
  s.proxyClient.setTimeout(10); // as an HTTP server might leave it
  startTunnel(t, s, { idleTimeoutMs: 0 });
  assert.equal(s.proxyClient.timeout, 0);
  assert.equal(s.proxyBackend.timeout, 0);
});

test('backpressure: a backend that does not read pauses the client side, bounded by the mark', async (t) => {
  const highWaterMarkBytes = 128 * 1024;
  const maxReadChunk = 64 * 1024; // a socket read delivers at most its readable highWaterMark
  const r = await running(t, { backendPaused: true, highWaterMarkBytes, peersHalfOpen: true });
  let maxQueued = 0;
  // Registered after the tunnel's own listener, so it sees the queue right after each forwarded chunk.
  r.proxyClient.on('data', () => {
    maxQueued = Math.max(maxQueued, r.proxyBackend.writableLength);
  });
  let pauses = 0;
  let resumes = 0;
  r.proxyClient.on('pause', () => pauses++);
  r.proxyClient.on('resume', () => resumes++);
  const paused = once(r.proxyClient, 'pause');
  let pausedYet = false;
  void paused.then(() => (pausedYet = true));

  // Send until the tunnel pauses the client socket (how much that takes depends on kernel buffers).
  const sent: Buffer[] = [];
  while (!pausedYet) {
    assert.ok(sent.length < 512, 'the tunnel never paused its source');
    const piece = randomBytes(1024 * 1024);
    sent.push(piece);
    if (!r.clientPeer.write(piece)) await Promise.race([once(r.clientPeer, 'drain'), paused]);
  }
  assert.equal(r.proxyClient.isPaused(), true);
  assert.ok(r.proxyBackend.writableLength > highWaterMarkBytes);
  r.clientPeer.end();

  // Now let the backend read everything.
  const received = readAll(r.backendPeer);
  r.backendPeer.resume();
  const all = Buffer.concat(sent);
  assert.equal(sha256(await received), sha256(all));
  assert.ok(maxQueued <= highWaterMarkBytes + maxReadChunk, `queued up to ${maxQueued} bytes`);
  assert.ok(pauses >= 1 && resumes >= 1, `${pauses} pauses, ${resumes} resumes`);
  r.backendPeer.end();
  const info = await r.closed;
  assert.equal(info.bytesToBackend, all.length);
  assert.equal(r.closeCalls(), 1);
});

/** Feeds `count` chunks to the tunnel as `count` reads within one event-loop turn. */
function burst(socket: net.Socket, count: number, size: number): Buffer {
  const all = Buffer.alloc(count * size);
  for (let i = 0; i < count; i++) {
    const chunk = all.subarray(i * size, (i + 1) * size);
    chunk.fill(i % 251);
    socket.emit('data', chunk);
  }
  return all;
}

test('write-through: one flush per chunk', async (t) => {
  const r = await running(t, { async: false });
  const arrived = readBytes(r.backendPeer, 100 * 64);
  const sent = burst(r.proxyClient, 100, 64);
  assert.equal(r.tunnel.flushes, 100);
  assert.deepEqual(await arrived, sent);
  assert.equal(r.tunnel.writes, 100);
});

test('async with no delay: a burst of small chunks in one turn goes out in one flush', async (t) => {
  const r = await running(t, { async: true, asyncDelayMs: 0 });
  const arrived = readBytes(r.backendPeer, 100 * 64);
  const sent = burst(r.proxyClient, 100, 64);
  assert.equal(r.tunnel.flushes, 0, 'held until the end of the turn');
  assert.deepEqual(await arrived, sent);
  assert.equal(r.tunnel.writes, 100);
  assert.equal(r.tunnel.flushes, 1);
});

test('async with a delay: chunks are held for the delay and go out together', async (t) => {
  const r = await running(t, { async: true, asyncDelayMs: 200 });
  const arrived = readBytes(r.backendPeer, 2 * 50 * 64);
  const first = burst(r.proxyClient, 50, 64);
  await new Promise<void>((resolve) => setImmediate(resolve)); // a later turn, still within the delay
  const second = burst(r.proxyClient, 50, 64);
  assert.equal(r.tunnel.flushes, 0);
  assert.deepEqual(await arrived, Buffer.concat([first, second]));
  assert.equal(r.tunnel.writes, 100);
  assert.equal(r.tunnel.flushes, 1);
});

test('async with a delay: a quarter of the high-water mark held flushes at once', async (t) => {
  const highWaterMarkBytes = 4096;
  const r = await running(t, { async: true, asyncDelayMs: 600_000, highWaterMarkBytes });
  const quarter = highWaterMarkBytes / 4;
  const arrived = readBytes(r.backendPeer, quarter);
  const held = burst(r.proxyClient, 3, quarter / 4);
  assert.equal(r.tunnel.flushes, 0, 'three quarters of the threshold stay held');
  const last = burst(r.proxyClient, 1, quarter / 4);
  assert.equal(r.tunnel.flushes, 1, 'the chunk reaching the threshold flushes');
  assert.deepEqual(await arrived, Buffer.concat([held, last])); // long before the 10-minute delay
});

test('async: a FIN releases held bytes before it', async (t) => {
  const r = await running(t, { async: true, asyncDelayMs: 600_000, peersHalfOpen: true });
  const atBackend = readAll(r.backendPeer);
  r.clientPeer.end('held then FIN');
  assert.equal((await atBackend).toString(), 'held then FIN');
});

test('close() ends both sides gracefully', async (t) => {
  const r = await running(t);
  const clientEnd = once(r.clientPeer, 'end');
  const backendEnd = once(r.backendPeer, 'end');
  r.clientPeer.write('before close');
  await readBytes(r.backendPeer, 12);
  r.tunnel.close();
  r.tunnel.close();
  await Promise.all([clientEnd, backendEnd]);
  const info = await r.closed;
  assert.equal(info.reason, 'closed');
  assert.equal(info.bytesToBackend, 12);
  await Promise.all([closedSocket(r.clientPeer), closedSocket(r.backendPeer)]);
  assert.equal(r.closeCalls(), 1);
});

test('close() destroys after the grace period when a peer never finishes', async (t) => {
  // Half-open peers ignore our FIN and never send theirs.
  const r = await running(t, { peersHalfOpen: true });
  r.tunnel.close(30);
  const info = await r.closed;
  assert.equal(info.reason, 'closed');
  assert.equal(r.proxyClient.destroyed, true);
  assert.equal(r.proxyBackend.destroyed, true);
  assert.equal(r.closeCalls(), 1);
});

test('destroy(err) is immediate, reports the error, and is idempotent', async (t) => {
  const r = await running(t);
  const boom = new Error('shutting down now');
  r.tunnel.destroy(boom);
  r.tunnel.destroy();
  r.tunnel.close();
  const info = await r.closed;
  assert.equal(info.reason, 'destroyed');
  assert.equal(info.error, boom);
  await Promise.all([closedSocket(r.clientPeer), closedSocket(r.backendPeer)]);
  assert.equal(r.closeCalls(), 1);
});

test('a backend socket already destroyed before the tunnel starts still reports once', async (t) => {
  const s = await sockets(t);
  s.proxyBackend.destroy();
  const r = startTunnel(t, s);
  const info = await r.closed;
  assert.equal(info.reason, 'backend-closed');
  await closedSocket(r.clientPeer);
  assert.equal(r.closeCalls(), 1);
});
