// The native backend leg (src/native/backend_leg.c, src/tunnel/native-backend-leg.ts) against raw
// loopback backends: the request goes out as soon as the connection is up, a 101 leaves an fd that carries
// the tunnel's bytes, other answers come back through node:http, and each failure has the code the
// JavaScript path gives it (backend-connect.ts, backend-handshake.ts).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { once } from 'node:events';
import net from 'node:net';
import { WspassError } from '../../src/errors.js';
import type { BackendOrigin } from '../../src/routing/types.js';
import { requestHeadBytes, type HandshakeRequest } from '../../src/tunnel/backend-handshake.js';
import { loadNative, type NativeAddon } from '../../src/tunnel/native-addon.js';
import { connectLeg } from '../../src/tunnel/native-backend-leg.js';
import { ReleasedLeg } from '../../src/tunnel/released-leg.js';
import { skipFor } from '../helpers/engines.js';
import { hasHead, rawClient, readUntil, refusedPort, startRawBackend, wsHandshake } from '../helpers/peers.js';
import { startProxy } from '../helpers/proxy.js';

const skip = skipFor('native');
const addon = loadNative().addon as NativeAddon;

function origin(port: number): BackendOrigin {
  return { scheme: 'ws', secure: false, hostname: '127.0.0.1', port, hostHeader: `127.0.0.1:${port}`, httpOrigin: `http://127.0.0.1:${port}` };
}

const REQUEST: HandshakeRequest = {
  method: 'GET',
  path: '/chat',
  rawHeaders: ['Host', 'b', 'Connection', 'Upgrade', 'Upgrade', 'websocket'],
};
const OPTS = { handshakeTimeoutMs: 5_000, maxHeaderBytes: 16_384 };
const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';

function code(expected: string): (err: unknown) => true {
  return (err) => {
    assert.ok(err instanceof WspassError, `expected a WspassError, got ${String(err)}`);
    assert.equal(err.code, expected);
    return true;
  };
}

test('a 101 leaves an fd that carries the tunnel bytes; the bytes after the 101 come with it', { skip }, async (t) => {
  const seen: Buffer[] = [];
  const { port } = await startRawBackend(t, (s) => {
    void readUntil(s, hasHead).then((head) => {
      seen.push(head);
      // The 101 and the first tunnel bytes in one segment, split across two writes.
      s.write(SWITCH.slice(0, 20));
      setImmediate(() => s.write(`${SWITCH.slice(20)}hello`));
      s.on('data', (d: Buffer) => s.write(d)); // then an echo
    });
  });
  const leg = await connectLeg(addon, origin(port), requestHeadBytes(REQUEST), 5_000);
  const answer = await leg.answer(REQUEST, OPTS);
  assert.equal(answer.kind, 'switched');
  if (answer.kind !== 'switched') return;
  assert.equal(answer.upgrade, 'websocket');
  assert.equal(answer.head.toString(), 'hello');
  assert.match(seen[0]!.toString(), /^GET \/chat HTTP\/1\.1\r\nHost: b\r\n/);
  assert.ok(answer.socket instanceof ReleasedLeg);
  // The fd is a working connection: wrapped in a socket, it echoes through the backend.
  const socket = answer.socket.toSocket();
  t.after(() => socket.destroy());
  socket.write('ping');
  const echoed = await readUntil(socket, (b) => b.length >= 4);
  assert.equal(echoed.toString(), 'ping');
});

test('what the backend sends before the answer is read does not get lost', { skip }, async (t) => {
  // The backend answers on accept, without waiting for the request: the 101 may arrive with the connect.
  const { port } = await startRawBackend(t, (s) => s.write(`${SWITCH}early`));
  const leg = await connectLeg(addon, origin(port), requestHeadBytes(REQUEST), 5_000);
  const answer = await leg.answer(REQUEST, OPTS);
  assert.equal(answer.kind, 'switched');
  if (answer.kind === 'switched') {
    assert.equal(answer.head.toString(), 'early');
    answer.socket.destroy();
  }
});

test('a non-101 answer is read by node:http with its body', { skip }, async (t) => {
  const { port } = await startRawBackend(t, (s) => {
    void readUntil(s, hasHead).then(() => s.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!'));
  });
  const leg = await connectLeg(addon, origin(port), requestHeadBytes(REQUEST), 5_000);
  const answer = await leg.answer(REQUEST, OPTS);
  assert.equal(answer.kind, 'response');
  if (answer.kind !== 'response') return;
  assert.equal(answer.response.statusCode, 403);
  let body = '';
  for await (const chunk of answer.response) body += String(chunk);
  assert.equal(body, 'nope!');
});

test('a refused connect is WSP_BACKEND_REFUSED', { skip }, async () => {
  const port = await refusedPort();
  await assert.rejects(connectLeg(addon, origin(port), requestHeadBytes(REQUEST), 5_000), (err) => {
    code('WSP_BACKEND_REFUSED')(err);
    // The socket's own error, as net.connect reports it (libuv calls a refused poll EBADF).
    assert.match((err as Error).message, new RegExp(`: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
    return true;
  });
});

test('the connect timeout is WSP_CONNECT_TIMEOUT', { skip }, async (t) => {
  const { port } = await startRawBackend(t, () => undefined);
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const pending = connectLeg(addon, origin(port), requestHeadBytes(REQUEST), 1_000);
  // The connect completes on a later I/O turn; the timer fires first, synchronously, here.
  t.mock.timers.tick(1_000);
  await assert.rejects(pending, code('WSP_CONNECT_TIMEOUT'));
});

test('no answer in time is WSP_HANDSHAKE_TIMEOUT, and the backend sees the connection end', { skip }, async (t) => {
  let closed: Promise<unknown> | undefined;
  const { port } = await startRawBackend(t, (s) => {
    closed = once(s, 'end'); // the raw backend allows half-open: the leg's close shows as its FIN
    s.resume();
  });
  const leg = await connectLeg(addon, origin(port), requestHeadBytes(REQUEST), 5_000);
  await assert.rejects(leg.answer(REQUEST, { ...OPTS, handshakeTimeoutMs: 50 }), code('WSP_HANDSHAKE_TIMEOUT'));
  await closed;
});

test('a backend that closes before a whole head, or sends a bad one, is WSP_BACKEND_BAD_RESPONSE', { skip }, async (t) => {
  for (const reply of ['HTTP/1.1 101 Swi', 'HTTP/1.1 101 OK\nUpgrade: websocket\n\n', 'HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n\r\n']) {
    const { port } = await startRawBackend(t, (s) => {
      void readUntil(s, hasHead).then(() => s.end(reply));
    });
    const leg = await connectLeg(addon, origin(port), requestHeadBytes(REQUEST), 5_000);
    // The last one lacks `Connection: upgrade`: checkSwitch refuses it, as on the JavaScript path.
    await assert.rejects(leg.answer(REQUEST, OPTS), code('WSP_BACKEND_BAD_RESPONSE'));
  }
});

test("the client's FIN reaches the backend after the request", { skip }, async (t) => {
  let got: Promise<Buffer> | undefined;
  const { port } = await startRawBackend(t, (s) => {
    got = new Promise((resolve) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('end', () => {
        resolve(Buffer.concat(parts));
        s.end(SWITCH);
      });
    });
  });
  const leg = await connectLeg(addon, origin(port), requestHeadBytes(REQUEST), 5_000);
  const answer = leg.answer(REQUEST, OPTS);
  leg.end();
  assert.match((await got!).toString(), /\r\n\r\n$/);
  const result = await answer;
  assert.equal(result.kind, 'switched');
  if (result.kind === 'switched') result.socket.destroy();
});

test('destroying a leg mid-handshake closes the connection and ends the wait for its answer', { skip }, async (t) => {
  let closed: Promise<unknown> | undefined;
  const { port } = await startRawBackend(t, (s) => {
    closed = once(s, 'end'); // the raw backend allows half-open: the leg's close shows as its FIN
    s.resume();
  });
  const leg = await connectLeg(addon, origin(port), requestHeadBytes(REQUEST), 5_000);
  const answer = leg.answer(REQUEST, OPTS);
  leg.destroy();
  assert.ok(leg.destroyed);
  await assert.rejects(answer, code('WSP_BACKEND_BAD_RESPONSE'));
  await closed;
});

test('connect address families: IPv6 loopback works where the machine has it', { skip }, async (t) => {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    void readUntil(s, hasHead).then(() => s.end(SWITCH));
  });
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => resolve(true));
  });
  if (!ok) {
    t.skip('no IPv6 loopback');
    return;
  }
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const leg = await connectLeg(addon, { ...origin(port), hostname: '::1' }, requestHeadBytes(REQUEST), 5_000);
  const answer = await leg.answer(REQUEST, OPTS);
  assert.equal(answer.kind, 'switched');
  if (answer.kind === 'switched') answer.socket.destroy();
});

/** A spy in place of this thread's addon (its own functions are read-only): the legs the proxy opens. */
function spyLegs(t: TestContext): string[] {
  const opened: string[] = [];
  const spy = Object.create(addon) as NativeAddon;
  Object.defineProperty(spy, 'legOpen', {
    value: (ip: string, port: number, request: Buffer) => {
      opened.push(`${ip}:${port}`);
      return addon.legOpen(ip, port, request);
    },
  });
  // The proxy made after this takes the addon from loadNative().
  const load = loadNative() as { addon: NativeAddon };
  load.addon = spy;
  t.after(() => {
    load.addon = addon;
  });
  return opened;
}

/** dns.lookup answering `answers` for the names given (others as before), for this test only. */
function fakeNames(t: TestContext, answers: Record<string, dns.LookupAddress[] | 'never' | 'ENOTFOUND'>): void {
  const real = dns.lookup;
  const fake = (hostname: string, options: unknown, callback: (err: Error | null, addresses: dns.LookupAddress[]) => void): void => {
    const answer = answers[hostname];
    if (answer === undefined) return void (real as (...a: unknown[]) => void)(hostname, options, callback);
    if (answer === 'ENOTFOUND') setImmediate(callback, Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    else if (answer !== 'never') setImmediate(callback, null, answer);
  };
  (dns as { lookup: unknown }).lookup = fake;
  t.after(() => {
    (dns as { lookup: unknown }).lookup = real;
  });
}

test('on the native engine an upgrade takes a leg to an IP address, or to a name with one address; a name with several keeps net.connect', { skip }, async (t) => {
  const { port: backendPort } = await startRawBackend(t, (s) => {
    void readUntil(s, hasHead).then(() => s.write(SWITCH));
  });
  const opened = spyLegs(t);
  // net.connect looks names up through the same dns.lookup, so both paths see these answers.
  fakeNames(t, {
    'one.backend.test': [{ address: '127.0.0.1', family: 4 }, { address: '127.0.0.1', family: 4 }],
    'two.backend.test': [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }],
  });
  const { port } = await startProxy(t, {
    tunnel: { engine: 'native' },
    routes: [
      { path: '/ip/', backend: `ws://127.0.0.1:${backendPort}/` },
      { path: '/one/', backend: `ws://one.backend.test:${backendPort}/` },
      { path: '/two/', backend: `ws://two.backend.test:${backendPort}/` },
    ],
  });
  for (const path of ['/ip/x', '/one/x', '/two/x']) {
    const s = await rawClient(t, port);
    s.write(wsHandshake(path));
    assert.match((await readUntil(s, hasHead)).toString(), /^HTTP\/1\.1 101 /, path);
    s.destroy();
  }
  assert.deepEqual(opened, [`127.0.0.1:${backendPort}`, `127.0.0.1:${backendPort}`]);
});

test("a name that does not resolve gets the JavaScript path's 503; a lookup slower than connectTimeoutMs gets 504", { skip }, async (t) => {
  const opened = spyLegs(t);
  fakeNames(t, { 'none.backend.test': 'ENOTFOUND', 'slow.backend.test': 'never' });
  const { port } = await startProxy(t, {
    tunnel: { engine: 'native' },
    routes: [
      { path: '/none/', backend: 'ws://none.backend.test:9/' },
      { path: '/slow/', backend: 'ws://slow.backend.test:9/', connectTimeoutMs: 100 },
    ],
  });
  for (const [path, status] of [['/none/x', 503], ['/slow/x', 504]] as const) {
    const s = await rawClient(t, port);
    s.write(wsHandshake(path));
    assert.match((await readUntil(s, hasHead)).toString(), new RegExp(`^HTTP/1\\.1 ${status} `), path);
    s.destroy();
  }
  assert.deepEqual(opened, []);
});
