// Every error status of the core proxy, from a real client's point of view, and the proof that one bad
// connection does not harm another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../helpers/proxy.js';
import {
  hasHead, nextMessage, openWs, rawExchange, readUntil, refusedPort, startRawBackend, startWsBackend, statusOf, wsHandshake,
} from '../helpers/peers.js';

test('a malformed request head gets 400', async (t) => {
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: 'http://127.0.0.1:9/' }] });
  const r = await rawExchange(t, port, 'GET / HTTP/1.1\r\nHost p\r\nBad Header Line\r\n\r\n');
  assert.equal(statusOf(r.head), 400);
});

test('a head larger than maxHeaderBytes gets 431', async (t) => {
  const { port } = await startProxy(t, { maxHeaderBytes: 4096, routes: [{ path: '/', backend: 'http://127.0.0.1:9/' }] });
  const r = await rawExchange(t, port, `GET / HTTP/1.1\r\nHost: p\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
  assert.equal(statusOf(r.head), 431);
});

test('a path with no route gets 404, for HTTP and for upgrades', async (t) => {
  const { port } = await startProxy(t, { routes: [{ path: '/only/', backend: 'http://127.0.0.1:9/' }] });
  assert.equal(statusOf((await rawExchange(t, port, 'GET /else HTTP/1.1\r\nHost: p\r\n\r\n')).head), 404);
  assert.equal(statusOf((await rawExchange(t, port, wsHandshake('/else'))).head), 404);
});

test('a refused backend gets 503, for upgrades and plain HTTP', async (t) => {
  const dead = await refusedPort();
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${dead}/` }] });
  const up = await rawExchange(t, port, wsHandshake('/'));
  assert.equal(statusOf(up.head), 503);
  assert.match(up.head, /X-Wspass-Error: WSP_BACKEND_REFUSED/);
  assert.equal(statusOf((await rawExchange(t, port, 'GET / HTTP/1.1\r\nHost: p\r\n\r\n')).head), 503);
});

test('a backend that sends garbage before a status line gets 502', async (t) => {
  const backend = await startRawBackend(t, (s) => {
    void readUntil(s, hasHead).then(() => s.end('SSH-2.0-OpenSSH_9.0\r\n\r\n'));
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const r = await rawExchange(t, port, wsHandshake('/'));
  assert.equal(statusOf(r.head), 502);
});

test('a backend that closes before answering gets 502', async (t) => {
  const backend = await startRawBackend(t, (s) => {
    void readUntil(s, hasHead).then(() => s.end());
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  assert.equal(statusOf((await rawExchange(t, port, wsHandshake('/'))).head), 502);
});

test('a backend that accepts but never answers gets 504 after handshakeTimeoutMs', async (t) => {
  const backend = await startRawBackend(t, () => undefined);
  const { port } = await startProxy(t, {
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/`, handshakeTimeoutMs: 100 }],
  });
  const r = await rawExchange(t, port, wsHandshake('/'));
  assert.equal(statusOf(r.head), 504);
  assert.match(r.head, /X-Wspass-Error: WSP_HANDSHAKE_TIMEOUT/);
});

test('upgradeOnly refuses plain HTTP with 426', async (t) => {
  const backend = await startWsBackend(t);
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/`, upgradeOnly: true }] });
  const r = await rawExchange(t, port, 'GET / HTTP/1.1\r\nHost: p\r\n\r\n');
  assert.equal(statusOf(r.head), 426);
  assert.match(r.head, /Upgrade: websocket/);
});

test('a bad connection does not harm a tunnel that is already open', async (t) => {
  const backend = await startWsBackend(t);
  const { port, wsBase } = await startProxy(t, { maxHeaderBytes: 4096, routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const ws = await openWs(t, `${wsBase}/`);
  for (const junk of ['\x00\x01\x02garbage\r\n\r\n', `GET / HTTP/1.1\r\nX: ${'a'.repeat(9000)}\r\n\r\n`, 'GET /%zz HTTP/1.1\r\nHost: p\r\n\r\n']) {
    const r = await rawExchange(t, port, junk);
    assert.ok(statusOf(r.head) >= 400, `junk got ${r.head.slice(0, 40)}`);
  }
  ws.send('still here');
  assert.equal((await nextMessage(ws)).data.toString(), 'still here');
});
