// httpd's request limits (LimitRequestLine / LimitRequestFieldSize / LimitRequestFields) answered with
// httpd's statuses on the plain and the upgrade path, with the defaults httpd has (8190 / 8190 / 100), and
// never the parser's 431 for a head that breaks a per-line limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../helpers/proxy.js';
import { rawExchange, startHttpBackend, startWsBackend, statusOf, wsHandshake } from '../helpers/peers.js';

async function plainProxy(t: Parameters<typeof startProxy>[0], extra: Record<string, unknown> = {}) {
  const backend = await startHttpBackend(t, (_req, res) => res.end('ok'));
  return startProxy(t, { ...extra, routes: [{ path: '/', backend: `http://127.0.0.1:${backend.port}/` }] });
}

/** A GET whose request line ("GET <target> HTTP/1.1") is exactly `length` bytes. */
function lineOf(length: number): string {
  return `/${'a'.repeat(length - 'GET / HTTP/1.1'.length)}`;
}

test('a request line of 8190 bytes passes; 8191 gets 414 and the connection is closed', async (t) => {
  const { port } = await plainProxy(t);
  assert.equal(statusOf((await rawExchange(t, port, `GET ${lineOf(8190)} HTTP/1.1\r\nHost: p\r\n\r\n`)).head), 200);
  const r = await rawExchange(t, port, `GET ${lineOf(8191)} HTTP/1.1\r\nHost: p\r\n\r\n`);
  assert.equal(statusOf(r.head), 414);
  assert.match(r.head, /X-Wspass-Error: WSP_URI_TOO_LONG/);
  assert.match(r.head, /Connection: close/i);
});

test('a request line far above maxHeaderBytes still gets 414, not the parser\'s 431', async (t) => {
  const { port } = await plainProxy(t);
  const r = await rawExchange(t, port, `GET /${'a'.repeat(40_000)} HTTP/1.1\r\nHost: p\r\n\r\n`);
  assert.equal(statusOf(r.head), 414);
});

test('a header field over 8190 bytes gets 400 (8000 passes), even above maxHeaderBytes', async (t) => {
  const { port } = await plainProxy(t);
  assert.equal(statusOf((await rawExchange(t, port, `GET / HTTP/1.1\r\nHost: p\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`)).head), 200);
  const r = await rawExchange(t, port, `GET / HTTP/1.1\r\nHost: p\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`);
  assert.equal(statusOf(r.head), 400);
  assert.match(r.head, /X-Wspass-Error: WSP_HEADER_LIMIT/);
  const huge = await rawExchange(t, port, `GET / HTTP/1.1\r\nHost: p\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
  assert.equal(statusOf(huge.head), 400);
});

test('100 header fields pass, 101 get 400; repeated fields are measured merged', async (t) => {
  const { port } = await plainProxy(t);
  const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: v\r\n`).join('');
  assert.equal(statusOf((await rawExchange(t, port, `GET / HTTP/1.1\r\nHost: p\r\n${fields(99)}\r\n`)).head), 200);
  assert.equal(statusOf((await rawExchange(t, port, `GET / HTTP/1.1\r\nHost: p\r\n${fields(100)}\r\n`)).head), 400);
  // Two 5000-byte Cookie lines: each fits, merged they do not (httpd's merged-headers-over-limit).
  const cookie = `Cookie: a=${'c'.repeat(4990)}\r\n`;
  assert.equal(statusOf((await rawExchange(t, port, `GET / HTTP/1.1\r\nHost: p\r\n${cookie}${cookie}\r\n`)).head), 400);
});

test('the limits are configurable; a head within them but over maxHeaderBytes gets 431', async (t) => {
  const { port } = await plainProxy(t, { maxRequestLineBytes: 100, maxHeaderFieldBytes: 200, maxHeaderFields: 3, maxHeaderBytes: 1024 });
  assert.equal(statusOf((await rawExchange(t, port, `GET ${lineOf(101)} HTTP/1.1\r\nHost: p\r\n\r\n`)).head), 414);
  assert.equal(statusOf((await rawExchange(t, port, `GET / HTTP/1.1\r\nHost: p\r\nX: ${'a'.repeat(200)}\r\n\r\n`)).head), 400);
  assert.equal(statusOf((await rawExchange(t, port, 'GET / HTTP/1.1\r\nHost: p\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n')).head), 400);
  const wide = await plainProxy(t, { maxHeaderBytes: 4096 });
  const three = `X-A: ${'a'.repeat(2000)}\r\nX-B: ${'b'.repeat(2000)}\r\nX-C: ${'c'.repeat(2000)}\r\n`;
  assert.equal(statusOf((await rawExchange(t, wide.port, `GET / HTTP/1.1\r\nHost: p\r\n${three}\r\n`)).head), 431);
});

test('the upgrade path answers the same: 414 for a long line, 400 for a long field, and no tunnel', async (t) => {
  const backend = await startWsBackend(t);
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  assert.equal(statusOf((await rawExchange(t, port, wsHandshake(lineOf(9000)))).head), 414);
  assert.equal(statusOf((await rawExchange(t, port, wsHandshake('/', { 'X-Big': 'a'.repeat(9000) }))).head), 400);
  assert.equal(backend.requests.length, 0);
  assert.equal(statusOf((await rawExchange(t, port, wsHandshake('/ok'))).head), 101);
});
