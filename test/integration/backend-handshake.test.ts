// backendHandshake against raw `net` backends that answer with hand-written bytes: 101 and the bytes
// behind it, interim responses, non-101 responses with bodies, and every way a backend can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { text } from 'node:stream/consumers';
import { backendHandshake } from '../../src/tunnel/backend-handshake.js';
import type { HandshakeRequest } from '../../src/tunnel/backend-handshake.js';
import { WspassError } from '../../src/errors.js';

type TestContext = Parameters<NonNullable<Parameters<typeof test>[0]>>[0];

const REQUEST: HandshakeRequest = {
  method: 'GET',
  path: '/chat?room=1',
  rawHeaders: [
    'Host', 'backend.test:8080',
    'upgrade', 'websocket',
    'Connection', 'Upgrade',
    'Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version', '13',
    'X-Multi', 'a',
    'x-multi', 'b',
  ],
};
const REQUEST_HEAD =
  'GET /chat?room=1 HTTP/1.1\r\nHost: backend.test:8080\r\nupgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Multi: a\r\nx-multi: b\r\n\r\n';

const SWITCH =
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRxK+xOo=\r\n\r\n';

interface Backend {
  /** The proxy-side socket, connected to the backend. */
  socket: net.Socket;
  /** The backend's accepted socket. */
  peer: net.Socket;
  /** Resolves with the exact request head bytes the backend received. */
  head: Promise<string>;
  /** Bytes the backend received in the same reads as the head, after it. */
  afterHead(): string;
}

/**
 * A backend that collects the request head and then runs `answer`. Returns the proxy-side socket,
 * connected, as connectBackend would hand it over.
 */
async function backend(t: TestContext, answer: (peer: net.Socket) => void): Promise<Backend> {
  const server = net.createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const socket = net.connect({
    port: (server.address() as net.AddressInfo).port,
    host: '127.0.0.1',
    allowHalfOpen: true,
  });
  await once(socket, 'connect');
  const [peer] = await accepted;
  peer.on('error', () => {});
  t.after(() => {
    socket.destroy();
    peer.destroy();
    server.close();
  });
  let after = '';
  const head = new Promise<string>((resolve) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('latin1');
      const end = seen.indexOf('\r\n\r\n');
      if (end === -1) return;
      peer.removeListener('data', onData);
      after = seen.slice(end + 4);
      resolve(seen.slice(0, end + 4));
      answer(peer);
    };
    peer.on('data', onData);
  });
  return { socket, peer, head, afterHead: () => after };
}

const OPTS = { handshakeTimeoutMs: 5_000, maxHeaderBytes: 16 * 1024 };

function isCode(code: string, status: number) {
  return (err: unknown): true => {
    assert.ok(err instanceof WspassError, `expected a WspassError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    return true;
  };
}

test('sends the head as given and returns the 101 with the bytes that followed it in the same packet', async (t) => {
  const b = await backend(t, (peer) => peer.write(Buffer.from(SWITCH + '\x81\x05hello', 'latin1')));
  const result = await backendHandshake(b.socket, REQUEST, OPTS);
  assert.equal(await b.head, REQUEST_HEAD, 'method, path, header order and letter case are kept');
  assert.equal(result.kind, 'switched');
  assert.equal(result.statusMessage, 'Switching Protocols');
  assert.deepEqual(result.rawHeaders, [
    'Upgrade', 'websocket',
    'Connection', 'Upgrade',
    'Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRxK+xOo=',
  ]);
  assert.equal(result.head.toString('latin1'), '\x81\x05hello');
  assert.equal(result.socket, b.socket);
  assert.equal(result.socket.allowHalfOpen, true);
  assert.equal(result.socket.listenerCount('error'), 0, 'node:http let go of the socket');

  // The socket is now a raw byte stream both ways.
  result.socket.write('raw-up');
  const [up] = (await once(b.peer, 'data')) as [Buffer];
  assert.equal(up.toString(), 'raw-up');
  b.peer.write('raw-down');
  const [down] = (await once(result.socket, 'data')) as [Buffer];
  assert.equal(down.toString(), 'raw-down');
});

test('a POST head without framing gets Content-Length: 0, not chunked framing', async (t) => {
  const b = await backend(t, (peer) => peer.write(SWITCH));
  const post: HandshakeRequest = { method: 'POST', path: '/rpc', rawHeaders: ['Host', 'h', 'Upgrade', 'websocket', 'Connection', 'Upgrade'] };
  const result = await backendHandshake(b.socket, post, OPTS);
  assert.equal(result.kind, 'switched');
  assert.equal(await b.head, 'POST /rpc HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n');
  assert.equal(b.afterHead(), '');
});

test('a chunked head is sent as given, with no last-chunk added after it', async (t) => {
  const b = await backend(t, (peer) => peer.write(SWITCH));
  const rawHeaders = ['Host', 'h', 'Transfer-Encoding', 'chunked', 'Upgrade', 'websocket', 'Connection', 'Upgrade'];
  const result = await backendHandshake(b.socket, { method: 'POST', path: '/', rawHeaders }, OPTS);
  assert.equal(await b.head, 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  // The next bytes the backend sees are the ones sent through the socket afterwards.
  const next = new Promise<string>((resolve) => {
    let got = b.afterHead();
    b.peer.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (got.length >= 10) resolve(got);
    });
  });
  assert.equal(result.kind, 'switched');
  result.socket.write('5\r\nhello\r\n');
  assert.equal(await next, '5\r\nhello\r\n');
});

test('a 100 Continue before the 101 is skipped', async (t) => {
  const b = await backend(t, (peer) => {
    peer.write('HTTP/1.1 100 Continue\r\n\r\n');
    peer.write(SWITCH + 'after');
  });
  const result = await backendHandshake(b.socket, REQUEST, OPTS);
  assert.equal(result.kind, 'switched');
  assert.equal(result.head.toString(), 'after');
});

test('a 101 with nothing after it gives an empty head', async (t) => {
  const b = await backend(t, (peer) => peer.write(SWITCH));
  const result = await backendHandshake(b.socket, REQUEST, OPTS);
  assert.equal(result.kind, 'switched');
  assert.equal(result.head.length, 0);
});

test('a non-101 answer is returned as a response whose body streams', async (t) => {
  const body = 'no such room\n'.repeat(1000);
  const b = await backend(t, (peer) => {
    peer.write(`HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`);
    peer.write(body.slice(0, 100));
    peer.end(body.slice(100));
  });
  const result = await backendHandshake(b.socket, REQUEST, OPTS);
  assert.equal(result.kind, 'response');
  assert.equal(result.response.statusCode, 404);
  assert.equal(result.response.statusMessage, 'Not Found');
  assert.deepEqual(result.response.rawHeaders.slice(0, 2), ['Content-Type', 'text/plain']);
  assert.equal(await text(result.response), body);
});

test('a chunked non-101 body streams too', async (t) => {
  const b = await backend(t, (peer) => {
    peer.end('HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nnope.\r\n0\r\n\r\n');
  });
  const result = await backendHandshake(b.socket, REQUEST, OPTS);
  assert.equal(result.kind, 'response');
  assert.equal(result.response.statusCode, 403);
  assert.equal(await text(result.response), 'nope.');
});

test('garbage instead of a status line is WSP_BACKEND_BAD_RESPONSE (502)', async (t) => {
  const b = await backend(t, (peer) => peer.write('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
  await assert.rejects(backendHandshake(b.socket, REQUEST, OPTS), isCode('WSP_BACKEND_BAD_RESPONSE', 502));
  assert.equal(b.socket.destroyed, true);
});

test('a malformed header line is WSP_BACKEND_BAD_RESPONSE', async (t) => {
  const b = await backend(t, (peer) => peer.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade websocket\r\n\r\n'));
  await assert.rejects(backendHandshake(b.socket, REQUEST, OPTS), isCode('WSP_BACKEND_BAD_RESPONSE', 502));
});

test('a response head larger than maxHeaderBytes is WSP_BACKEND_BAD_RESPONSE', async (t) => {
  const b = await backend(t, (peer) => peer.write(SWITCH.replace('\r\n\r\n', `\r\nX-Big: ${'x'.repeat(4096)}\r\n\r\n`)));
  await assert.rejects(
    backendHandshake(b.socket, REQUEST, { handshakeTimeoutMs: 5_000, maxHeaderBytes: 1024 }),
    isCode('WSP_BACKEND_BAD_RESPONSE', 502),
  );
});

test('a 101 without "Connection: upgrade" is WSP_BACKEND_BAD_RESPONSE', async (t) => {
  const b = await backend(t, (peer) => peer.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'));
  await assert.rejects(backendHandshake(b.socket, REQUEST, OPTS), isCode('WSP_BACKEND_BAD_RESPONSE', 502));
  assert.equal(b.socket.destroyed, true);
});

test('the backend closing before a complete head is WSP_BACKEND_BAD_RESPONSE', async (t) => {
  const b = await backend(t, (peer) => peer.end('HTTP/1.1 101 Switching Pro'));
  await assert.rejects(backendHandshake(b.socket, REQUEST, OPTS), isCode('WSP_BACKEND_BAD_RESPONSE', 502));
});

test('the backend closing without a byte is WSP_BACKEND_BAD_RESPONSE', async (t) => {
  const b = await backend(t, (peer) => peer.end());
  await assert.rejects(backendHandshake(b.socket, REQUEST, OPTS), isCode('WSP_BACKEND_BAD_RESPONSE', 502));
});

test('a reset before the head is WSP_BACKEND_BAD_RESPONSE', async (t) => {
  const b = await backend(t, (peer) => peer.resetAndDestroy());
  await assert.rejects(backendHandshake(b.socket, REQUEST, OPTS), isCode('WSP_BACKEND_BAD_RESPONSE', 502));
});

test('a silent backend is WSP_HANDSHAKE_TIMEOUT (504) and the socket is destroyed', async (t) => {
  const b = await backend(t, () => {});
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const pending = backendHandshake(b.socket, REQUEST, { handshakeTimeoutMs: 3_000, maxHeaderBytes: 16384 });
  await b.head; // the request went out; the backend says nothing
  t.mock.timers.tick(2_999);
  assert.equal(b.socket.destroyed, false);
  t.mock.timers.tick(1);
  await assert.rejects(pending, isCode('WSP_HANDSHAKE_TIMEOUT', 504));
  assert.equal(b.socket.destroyed, true);
  b.peer.resume();
  if (!b.peer.readableEnded) await once(b.peer, 'end'); // the backend sees the connection go away
});

test('a status line only partly received when the timer fires is still a timeout', async (t) => {
  const b = await backend(t, (peer) => peer.write('HTTP/1.1 101 Switching'));
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const pending = backendHandshake(b.socket, REQUEST, { handshakeTimeoutMs: 1_000, maxHeaderBytes: 16384 });
  await b.head;
  t.mock.timers.tick(1_000);
  await assert.rejects(pending, isCode('WSP_HANDSHAKE_TIMEOUT', 504));
});

test('no timer outlives a completed handshake', async (t) => {
  const b = await backend(t, (peer) => peer.write(SWITCH));
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const result = await backendHandshake(b.socket, REQUEST, { handshakeTimeoutMs: 1_000, maxHeaderBytes: 16384 });
  assert.equal(result.kind, 'switched');
  t.mock.timers.tick(10_000);
  assert.equal(result.socket.destroyed, false);
});

test('handshakeTimeoutMs 0 sets no timer', async (t) => {
  const b = await backend(t, (peer) => peer.write(SWITCH));
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const pending = backendHandshake(b.socket, REQUEST, { handshakeTimeoutMs: 0, maxHeaderBytes: 16384 });
  t.mock.timers.tick(100_000_000);
  const result = await pending;
  assert.equal(result.kind, 'switched');
});

test('a request head node:http refuses is WSP_BAD_REQUEST and the socket is destroyed', async (t) => {
  const b = await backend(t, () => {});
  const bad: HandshakeRequest = { method: 'GET', path: '/', rawHeaders: ['X-Bad', 'line\r\nbreak'] };
  await assert.rejects(backendHandshake(b.socket, bad, OPTS), isCode('WSP_BAD_REQUEST', 400));
  assert.equal(b.socket.destroyed, true);
});

test('an error after a non-101 response is absorbed, not thrown', async (t) => {
  const b = await backend(t, (peer) => {
    peer.write('HTTP/1.1 500 Oops\r\nContent-Length: 1000\r\n\r\npartial');
  });
  const result = await backendHandshake(b.socket, REQUEST, OPTS);
  assert.equal(result.kind, 'response');
  const aborted = once(result.response, 'aborted');
  b.peer.resetAndDestroy();
  await aborted; // the response reports it; no unhandled 'error' crashed the process
});

test('a 101 switching to another protocol than the request asked for is WSP_BACKEND_UPGRADE_MISMATCH', async (t) => {
  const b = await backend(t, (peer) => peer.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n'));
  await assert.rejects(backendHandshake(b.socket, REQUEST, OPTS), isCode('WSP_BACKEND_UPGRADE_MISMATCH', 502));
  assert.equal(b.socket.destroyed, true);
});

test('a 101 without an Upgrade header is WSP_BACKEND_UPGRADE_MISMATCH', async (t) => {
  const b = await backend(t, (peer) => peer.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n'));
  await assert.rejects(backendHandshake(b.socket, REQUEST, OPTS), isCode('WSP_BACKEND_UPGRADE_MISMATCH', 502));
});

test('the accepted 101 reports the backend Upgrade value as sent', async (t) => {
  const b = await backend(t, (peer) => peer.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: upgrade\r\n\r\n'));
  const result = await backendHandshake(b.socket, REQUEST, OPTS);
  assert.equal(result.kind, 'switched');
  assert.equal(result.upgrade, 'WebSocket');
});

test('a head with bare LF line endings is refused at once, before any timer', async (t) => {
  const b = await backend(t, (peer) => peer.write('HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n\n'));
  t.mock.timers.enable({ apis: ['setTimeout'] }); // the timer never fires: the refusal cannot be a timeout
  await assert.rejects(
    backendHandshake(b.socket, REQUEST, { handshakeTimeoutMs: 1_000, maxHeaderBytes: 16384 }),
    isCode('WSP_BACKEND_BAD_RESPONSE', 502),
  );
  assert.equal(b.socket.destroyed, true);
});

test('a 101 whose reason phrase holds control characters is WSP_BACKEND_BAD_RESPONSE', async (t) => {
  const b = await backend(t, (peer) => peer.write('HTTP/1.1 101 Switching\x01\x7f Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'));
  await assert.rejects(backendHandshake(b.socket, REQUEST, OPTS), isCode('WSP_BACKEND_BAD_RESPONSE', 502));
  assert.equal(b.socket.destroyed, true);
});

test('a body that fails to parse after the response was handed over frees the backend socket', async (t) => {
  const b = await backend(t, (peer) => peer.write('HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'));
  const result = await backendHandshake(b.socket, REQUEST, OPTS);
  assert.equal(result.kind, 'response');
  if (!b.socket.destroyed) await once(b.socket, 'close');
  assert.equal(b.socket.destroyed, true);
  assert.equal(result.response.complete, false);
});
