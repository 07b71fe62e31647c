// connectBackend on loopback: plain and TLS success, and each failure mapped to its catalogue code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connectBackend } from '../../src/tunnel/backend-connect.js';
import { WspassError } from '../../src/errors.js';
import type { BackendOrigin } from '../../src/routing/types.js';

const fixtures = new URL('../../../test/fixtures/', import.meta.url);
const CERT = readFileSync(new URL('backend-cert.pem', fixtures), 'utf8');
const KEY = readFileSync(new URL('backend-key.pem', fixtures), 'utf8');

function origin(scheme: BackendOrigin['scheme'], port: number, hostname = '127.0.0.1'): BackendOrigin {
  const secure = scheme === 'wss' || scheme === 'https';
  return {
    scheme,
    secure,
    hostname,
    port,
    hostHeader: `${hostname}:${port}`,
    httpOrigin: `${secure ? 'https' : 'http'}://${hostname}:${port}`,
  };
}

type TestContext = Parameters<NonNullable<Parameters<typeof test>[0]>>[0];

/** Listens on 127.0.0.1:0; every accepted socket is destroyed when the test ends. */
async function listen(t: TestContext, server: net.Server): Promise<number> {
  const sockets = new Set<net.Socket>();
  // For a TLS server this is the raw TCP socket; destroying it ends the TLS socket on top too.
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

function own(t: TestContext, socket: net.Socket): net.Socket {
  t.after(() => socket.destroy());
  return socket;
}

function assertCode(err: unknown, code: string): true {
  assert.ok(err instanceof WspassError, `expected a WspassError, got ${String(err)}`);
  assert.equal(err.code, code);
  assert.ok(err.cause instanceof Error, 'the original error is kept as cause');
  return true;
}

test('plain ws:// connects with half-open allowed and the socket carries bytes', async (t) => {
  const server = net.createServer((s) => s.pipe(s));
  const port = await listen(t, server);
  const socket = own(t, await connectBackend(origin('ws', port), { connectTimeoutMs: 1_000 }));
  assert.equal(socket.allowHalfOpen, true);
  assert.equal(socket.remotePort, port);
  socket.write('ping');
  const [echo] = (await once(socket, 'data')) as [Buffer];
  assert.equal(echo.toString(), 'ping');
});

test('a refused port rejects with WSP_BACKEND_REFUSED (503)', async () => {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  await assert.rejects(connectBackend(origin('ws', port), { connectTimeoutMs: 1_000 }), (err) => {
    assertCode(err, 'WSP_BACKEND_REFUSED');
    assert.equal((err as WspassError).status, 503);
    assert.equal(((err as WspassError).cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    return true;
  });
});

test('an unknown host name rejects with WSP_BACKEND_REFUSED', async () => {
  // RFC 6761: .invalid never resolves (ENOTFOUND, or EAI_AGAIN without a resolver).
  await assert.rejects(
    connectBackend(origin('ws', 80, 'wspass-no-such-host.invalid'), { connectTimeoutMs: 0 }),
    (err) => assertCode(err, 'WSP_BACKEND_REFUSED'),
  );
});

test('connect timeout rejects with WSP_CONNECT_TIMEOUT (504) and destroys the socket', async (t) => {
  const server = net.createServer();
  const port = await listen(t, server);
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const pending = connectBackend(origin('ws', port), { connectTimeoutMs: 1_000 });
  // The TCP connect completes on a later I/O turn; the timer fires first, synchronously, here.
  t.mock.timers.tick(999);
  t.mock.timers.tick(1);
  await assert.rejects(pending, (err) => {
    assertCode(err, 'WSP_CONNECT_TIMEOUT');
    assert.equal((err as WspassError).status, 504);
    return true;
  });
});

test('the connect timeout also covers a TLS handshake that never completes', async (t) => {
  // A plain TCP listener that never answers the ClientHello.
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => {
    accepted.push(s);
    s.resume(); // read (and drop) the ClientHello so the FIN is seen
  });
  const port = await listen(t, server);
  await assert.rejects(connectBackend(origin('wss', port), { connectTimeoutMs: 50 }), (err) =>
    assertCode(err, 'WSP_CONNECT_TIMEOUT'),
  );
  // Our side was destroyed: the backend sees the connection go away.
  const peer = accepted[0];
  assert.ok(peer !== undefined);
  if (!peer.closed) await once(peer, 'close');
});

test('connectTimeoutMs 0 sets no timer', async (t) => {
  const server = net.createServer();
  const port = await listen(t, server);
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const socket = own(t, await connectBackend(origin('ws', port), { connectTimeoutMs: 0 }));
  t.mock.timers.tick(10_000_000);
  assert.equal(socket.destroyed, false);
});

test('no timer outlives a successful connect', async (t) => {
  const server = net.createServer();
  const port = await listen(t, server);
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const socket = own(t, await connectBackend(origin('ws', port), { connectTimeoutMs: 1_000 }));
  t.mock.timers.tick(5_000);
  assert.equal(socket.destroyed, false);
  assert.equal(socket.listenerCount('error'), 0, 'no error listener left behind');
  assert.equal(socket.listenerCount('connect'), 0);
});

interface TlsBackend {
  port: number;
  /** Resolves with the SNI name (false when none) of the next connection the server completes. */
  nextServername(): Promise<string | false | null>;
}

async function tlsBackend(t: TestContext): Promise<TlsBackend> {
  const server = tls.createServer({ key: KEY, cert: CERT, allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  server.on('tlsClientError', () => {});
  const port = await listen(t, server);
  return {
    port,
    // With TLS 1.3 the client is done before the server: wait for the server's side explicitly.
    nextServername: async () => ((await once(server, 'secureConnection')) as [tls.TLSSocket])[0].servername,
  };
}

test('wss:// with the self-signed certificate as ca is accepted; no SNI for an IP host', async (t) => {
  const backend = await tlsBackend(t);
  const servername = backend.nextServername();
  const socket = own(
    t,
    await connectBackend(origin('wss', backend.port), {
      connectTimeoutMs: 1_000,
      tls: { ca: CERT, rejectUnauthorized: true },
    }),
  );
  assert.ok(socket instanceof tls.TLSSocket);
  assert.equal(socket.authorized, true);
  assert.equal(socket.allowHalfOpen, true);
  socket.write('over tls');
  const [echo] = (await once(socket, 'data')) as [Buffer];
  assert.equal(echo.toString(), 'over tls');
  assert.equal(await servername, false);
});

test('wss:// without the ca rejects with WSP_BACKEND_TLS (502)', async (t) => {
  const backend = await tlsBackend(t);
  await assert.rejects(connectBackend(origin('wss', backend.port), { connectTimeoutMs: 1_000 }), (err) => {
    assertCode(err, 'WSP_BACKEND_TLS');
    assert.equal((err as WspassError).status, 502);
    return true;
  });
});

test('wss:// with rejectUnauthorized false is accepted without the ca', async (t) => {
  const backend = await tlsBackend(t);
  const socket = own(
    t,
    await connectBackend(origin('https', backend.port), {
      connectTimeoutMs: 1_000,
      tls: { rejectUnauthorized: false },
    }),
  );
  assert.equal((socket as tls.TLSSocket).authorized, false);
  assert.equal(socket.destroyed, false);
});

test('servername is sent as SNI and checked against the certificate', async (t) => {
  const backend = await tlsBackend(t);
  const servername = backend.nextServername();
  own(
    t,
    await connectBackend(origin('wss', backend.port), {
      connectTimeoutMs: 1_000,
      tls: { ca: CERT, rejectUnauthorized: true, servername: 'localhost' },
    }),
  );
  assert.equal(await servername, 'localhost');
  await assert.rejects(
    connectBackend(origin('wss', backend.port), {
      connectTimeoutMs: 1_000,
      tls: { ca: CERT, rejectUnauthorized: true, servername: 'other.example' },
    }),
    (err) => assertCode(err, 'WSP_BACKEND_TLS'),
  );
});

test('a backend hanging up during the TLS handshake is WSP_BACKEND_TLS, not refused', async (t) => {
  const server = net.createServer((s) => s.destroy());
  const port = await listen(t, server);
  await assert.rejects(connectBackend(origin('wss', port), { connectTimeoutMs: 1_000 }), (err) =>
    assertCode(err, 'WSP_BACKEND_TLS'),
  );
});
