// ProxyPassReverse end to end: a backend's redirect into itself comes back pointing at the proxy, on the
// plain path and on the upgrade path (a backend that answers the Upgrade request with 302, or switches with
// a cookie), for a single backend and for every member of a balancer; and X-Forwarded-Server is the
// route's serverName.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { rawExchange, statusOf, wsHandshake } from '../helpers/peers.js';
import { startProxy } from '../helpers/proxy.js';
import { headerValues, rawRequest } from '../helpers/recording-backend.js';
import { scriptedBackend, type ScriptedBackend } from '../helpers/scripted-backend.js';

/**
 * A backend that redirects every request to `<its own URL>/login`, sets a cookie for its own domain and
 * path, and switches an upgrade request for `/ws` (with the same cookie).
 */
async function redirectingBackend(t: Parameters<typeof scriptedBackend>[0]): Promise<ScriptedBackend> {
  const self = { port: 0 };
  const backend = await scriptedBackend(t, (s: net.Socket, head: string) => {
    const cookie = 'Set-Cookie: sid=1; Domain=backend.internal; Path=/app/deep\r\n';
    const target = head.slice(head.indexOf(' ') + 1, head.indexOf(' HTTP/'));
    if (target.endsWith('/ws') && /^upgrade:/im.test(head)) {
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${cookie}Content-Location: http://127.0.0.1:${self.port}/app/ws\r\n\r\n`);
      return;
    }
    s.end(
      `HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:${self.port}/app/login?from=${encodeURIComponent(target)}\r\n${cookie}` +
        'Content-Length: 0\r\nConnection: close\r\n\r\n',
    );
  });
  self.port = backend.port;
  return backend;
}

const REVERSE = { urls: true, cookieDomain: { 'backend.internal': 'proxy.test' }, cookiePath: { '/app/': '/pub/' } } as const;

test('plain path: a 302 into the backend points at the proxy, cookies are mapped, X-Forwarded-Server is serverName', async (t) => {
  const backend = await redirectingBackend(t);
  const { port } = await startProxy(t, {
    defaults: { serverName: 'www.proxy.test' },
    routes: [{ path: '/pub/', backend: `http://127.0.0.1:${backend.port}/app/`, reverse: REVERSE }],
  });
  const { head } = await rawRequest(t, port, 'GET /pub/page HTTP/1.1\r\nHost: proxy.test:8443\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(head), 302);
  assert.deepEqual(headerValues(head, 'location'), ['http://proxy.test:8443/pub/login?from=%2Fapp%2Fpage']);
  assert.deepEqual(headerValues(head, 'set-cookie'), ['sid=1; Domain=proxy.test; Path=/pub/']);
  assert.deepEqual(headerValues(backend.heads[0]!, 'x-forwarded-server'), ['www.proxy.test']);
});

test('upgrade path: a 302 answer to the Upgrade request and a 101 are mapped back as well', async (t) => {
  const backend = await redirectingBackend(t);
  const { port } = await startProxy(t, {
    routes: [{ path: '/pub/', backend: `ws://127.0.0.1:${backend.port}/app/`, reverse: REVERSE, serverName: 'ws.proxy.test' }],
  });
  const declined = await rawExchange(t, port, wsHandshake('/pub/chat'));
  assert.equal(statusOf(declined.head), 302);
  // The backend wrote an http:// URL for its ws:// route: `urls: true` maps that twin too.
  assert.deepEqual(headerValues(declined.head, 'location'), ['http://proxy.test/pub/login?from=%2Fapp%2Fchat']);
  assert.deepEqual(headerValues(declined.head, 'set-cookie'), ['sid=1; Domain=proxy.test; Path=/pub/']);
  assert.deepEqual(headerValues(backend.heads[0]!, 'x-forwarded-server'), ['ws.proxy.test']);

  const switched = await rawExchange(t, port, wsHandshake('/pub/ws'));
  assert.equal(statusOf(switched.head), 101);
  assert.deepEqual(headerValues(switched.head, 'content-location'), ['http://proxy.test/pub/ws']);
  assert.deepEqual(headerValues(switched.head, 'set-cookie'), ['sid=1; Domain=proxy.test; Path=/pub/']);
});

test('balancer: a redirect naming any member is mapped back, on both paths', async (t) => {
  const a = await redirectingBackend(t);
  const b = await redirectingBackend(t);
  const { port } = await startProxy(t, {
    balancers: { pool: { members: [{ url: `http://127.0.0.1:${a.port}` }, { url: `http://127.0.0.1:${b.port}` }], upgrade: 'websocket' } },
    routes: [{ path: '/pub/', backend: 'balancer://pool/app/', reverse: true }],
  });
  const locations = new Set<string>();
  for (let i = 0; i < 2; i++) {
    const { head } = await rawRequest(t, port, 'GET /pub/page HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(head), 302);
    locations.add(headerValues(head, 'location')[0]!);
  }
  assert.deepEqual([...locations], ['http://proxy.test/pub/login?from=%2Fapp%2Fpage']);
  for (let i = 0; i < 2; i++) {
    const { head } = await rawExchange(t, port, wsHandshake('/pub/chat'));
    assert.equal(statusOf(head), 302);
    assert.deepEqual(headerValues(head, 'location'), ['http://proxy.test/pub/login?from=%2Fapp%2Fchat']);
  }
  // Round robin: each member answered one plain and one upgrade request.
  assert.equal(a.heads.length, 2);
  assert.equal(b.heads.length, 2);
});

test('without reverse the answer is relayed as the backend wrote it', async (t) => {
  const backend = await redirectingBackend(t);
  const { port } = await startProxy(t, { routes: [{ path: '/pub/', backend: `http://127.0.0.1:${backend.port}/app/` }] });
  const { head } = await rawRequest(t, port, 'GET /pub/page HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n');
  assert.deepEqual(headerValues(head, 'location'), [`http://127.0.0.1:${backend.port}/app/login?from=%2Fapp%2Fpage`]);
  assert.deepEqual(headerValues(head, 'set-cookie'), ['sid=1; Domain=backend.internal; Path=/app/deep']);
});
