// How the request target reaches the backend, on the upgrade and the plain path: an absolute-form target's
// authority is the request's host (X-Forwarded-Host, preserveHost), and a regex route without `$n` appends
// the request path to the backend path, as ProxyPassMatch does. Raw clients and a raw recording backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../helpers/proxy.js';
import { statusOf, wsHandshake } from '../helpers/peers.js';
import { headerValues, rawRequest, requestLine, startRecordingBackend } from '../helpers/recording-backend.js';

const plainGet = (target: string, host: string) => `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

test('absolute-form target: X-Forwarded-Host is its authority, not the Host header (upgrade and plain)', async (t) => {
  const backend = await startRecordingBackend(t);
  const { port } = await startProxy(t, { routes: [{ path: '/ws/', backend: `ws://127.0.0.1:${backend.port}/` }] });

  const up = await rawRequest(t, port, wsHandshake('http://evil.example:9999/ws/echo', { Host: 'b.example' }));
  assert.equal(statusOf(up.head), 101);
  assert.deepEqual(headerValues(up.head, 'upgrade'), ['websocket']);
  const upHead = backend.heads[0]!;
  assert.equal(requestLine(upHead), 'GET /echo HTTP/1.1', 'origin-form toward the backend');
  assert.deepEqual(headerValues(upHead, 'x-forwarded-host'), ['evil.example:9999']);
  assert.deepEqual(headerValues(upHead, 'host'), [`127.0.0.1:${backend.port}`]);

  const plain = await rawRequest(t, port, plainGet('http://evil.example:9999/ws/page', 'b.example'));
  assert.equal(statusOf(plain.head), 200);
  assert.equal(plain.body, 'plain /page');
  const plainHead = backend.heads[1]!;
  assert.equal(requestLine(plainHead), 'GET /page HTTP/1.1');
  assert.deepEqual(headerValues(plainHead, 'x-forwarded-host'), ['evil.example:9999']);
  assert.deepEqual(headerValues(plainHead, 'host'), [`127.0.0.1:${backend.port}`]);
});

test('absolute-form target with preserveHost: the backend gets its authority as Host (upgrade and plain)', async (t) => {
  const backend = await startRecordingBackend(t);
  const { port } = await startProxy(t, {
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/`, preserveHost: true }],
  });
  const up = await rawRequest(t, port, wsHandshake('http://a.example/x', { Host: 'b.example' }));
  assert.equal(statusOf(up.head), 101);
  assert.deepEqual(headerValues(backend.heads[0]!, 'host'), ['a.example']);
  assert.deepEqual(headerValues(backend.heads[0]!, 'x-forwarded-host'), ['a.example']);

  const plain = await rawRequest(t, port, plainGet('http://a.example:8080/y', 'b.example'));
  assert.equal(statusOf(plain.head), 200);
  assert.deepEqual(headerValues(backend.heads[1]!, 'host'), ['a.example:8080']);
  assert.deepEqual(headerValues(backend.heads[1]!, 'x-forwarded-host'), ['a.example:8080']);

  // Origin-form is unchanged: the Host header.
  const origin = await rawRequest(t, port, plainGet('/z', 'b.example'));
  assert.equal(statusOf(origin.head), 200);
  assert.deepEqual(headerValues(backend.heads[2]!, 'host'), ['b.example']);
  assert.deepEqual(headerValues(backend.heads[2]!, 'x-forwarded-host'), ['b.example']);
});

test('a regex route without $n appends the request path and query (upgrade and plain), one slash between', async (t) => {
  const backend = await startRecordingBackend(t);
  const { port } = await startProxy(t, {
    routes: [
      { match: '^/nb/.*$', backend: `ws://127.0.0.1:${backend.port}/static` },
      { match: '^/sl/', backend: `ws://127.0.0.1:${backend.port}/static/` },
    ],
  });
  const up = await rawRequest(t, port, wsHandshake('/nb/deep/x?q=1'));
  assert.equal(statusOf(up.head), 101);
  assert.equal(requestLine(backend.heads[0]!), 'GET /static/nb/deep/x?q=1 HTTP/1.1');

  const plain = await rawRequest(t, port, plainGet('/nb/deep/x?q=1', 'front.example'));
  assert.equal(statusOf(plain.head), 200);
  assert.equal(plain.body, 'plain /static/nb/deep/x?q=1');
  assert.equal(requestLine(backend.heads[1]!), 'GET /static/nb/deep/x?q=1 HTTP/1.1');
  assert.deepEqual(headerValues(backend.heads[1]!, 'x-forwarded-host'), ['front.example']);

  // Apache would send //sl/a here (blind concatenation); wspass merges the slash.
  const merged = await rawRequest(t, port, plainGet('/sl/a', 'front.example'));
  assert.equal(statusOf(merged.head), 200);
  assert.equal(requestLine(backend.heads[2]!), 'GET /static/sl/a HTTP/1.1');
});
