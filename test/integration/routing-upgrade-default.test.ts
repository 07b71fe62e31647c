// Which routes tunnel an upgrade when `upgrade` is not set, as Apache decides it: ws:// and wss://
// backends tunnel WebSocket; http:// and https:// backends proxy the request as plain HTTP with Upgrade
// removed, unless `upgrade` (on the route, the balancer or its members) says otherwise; `upgrade: false`
// never tunnels. Raw clients and a raw recording backend, so every header on both sides is checked.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { ConfigInput } from '../../src/config/schema.js';
import { startProxy } from '../helpers/proxy.js';
import { readUntil, statusOf, wsHandshake } from '../helpers/peers.js';
import { headerValues, rawRequest, requestLine, startRecordingBackend } from '../helpers/recording-backend.js';

type Routes = ConfigInput['routes'];

/** The client's WebSocket handshake on `path`. */
const handshake = (path: string) => wsHandshake(path, { Host: 'front.example' });

/** Asserts the backend got the handshake as plain HTTP and the client got the backend's plain answer. */
function assertPlain(got: { head: string; body: string }, backendHead: string, path: string): void {
  assert.equal(statusOf(got.head), 200);
  assert.deepEqual(headerValues(got.head, 'upgrade'), [], 'no Upgrade toward the client');
  assert.equal(got.body, `plain ${path}`);
  assert.equal(requestLine(backendHead), `GET ${path} HTTP/1.1`);
  assert.deepEqual(headerValues(backendHead, 'upgrade'), [], 'Upgrade is removed as a hop-by-hop header');
  for (const c of headerValues(backendHead, 'connection')) assert.doesNotMatch(c, /upgrade/i);
  assert.deepEqual(headerValues(backendHead, 'sec-websocket-key'), ['dGhlIHNhbXBsZSBub25jZQ=='], 'end-to-end headers pass');
  assert.deepEqual(headerValues(backendHead, 'x-forwarded-host'), ['front.example']);
}

/** Asserts a tunnel: 101 to the client with WebSocket, backend asked for WebSocket, bytes relayed. */
async function assertTunnel(got: { head: string; socket: Socket }, backendHead: string, path: string): Promise<void> {
  assert.equal(statusOf(got.head), 101);
  assert.deepEqual(headerValues(got.head, 'upgrade'), ['websocket']);
  assert.deepEqual(headerValues(got.head, 'connection'), ['Upgrade']);
  assert.equal(requestLine(backendHead), `GET ${path} HTTP/1.1`);
  assert.deepEqual(headerValues(backendHead, 'upgrade'), ['websocket']);
  assert.deepEqual(headerValues(backendHead, 'connection'), ['Upgrade']);
  got.socket.write('ping');
  assert.match((await readUntil(got.socket, (b) => b.includes('PING'))).toString(), /PING/);
}

async function setup(t: TestContext, routes: (port: number) => Routes, balancers?: (port: number) => ConfigInput['balancers']) {
  const backend = await startRecordingBackend(t);
  const proxy = await startProxy(t, { routes: routes(backend.port), ...(balancers && { balancers: balancers(backend.port) }) });
  return { backend, port: proxy.port };
}

test('an http:// route without `upgrade` proxies a WebSocket handshake as plain HTTP, Upgrade removed', async (t) => {
  const { backend, port } = await setup(t, (p) => [{ path: '/', backend: `http://127.0.0.1:${p}/` }]);
  const got = await rawRequest(t, port, handshake('/chat'));
  assertPlain(got, backend.heads[0]!, '/chat');
  assert.equal(backend.heads.length, 1);
});

test('an http:// route with `upgrade: websocket` tunnels; a ws:// route tunnels by default', async (t) => {
  const { backend, port } = await setup(t, (p) => [
    { path: '/h/', backend: `http://127.0.0.1:${p}/`, upgrade: 'websocket' },
    { path: '/w/', backend: `ws://127.0.0.1:${p}/` },
  ]);
  await assertTunnel(await rawRequest(t, port, handshake('/h/room')), backend.heads[0]!, '/room');
  await assertTunnel(await rawRequest(t, port, handshake('/w/room')), backend.heads[1]!, '/room');
});

test('`upgrade: false` on a ws:// route never tunnels: the handshake is plain HTTP', async (t) => {
  const { backend, port } = await setup(t, (p) => [{ path: '/', backend: `ws://127.0.0.1:${p}/`, upgrade: false }]);
  const got = await rawRequest(t, port, handshake('/live'));
  assertPlain(got, backend.heads[0]!, '/live');
});

test('balancers: http:// members proxy upgrades as plain HTTP; `upgrade` on the balancer or a member tunnels', async (t) => {
  const { backend, port } = await setup(
    t,
    () => [
      { path: '/plain/', backend: 'balancer://plain/' },
      { path: '/lb/', backend: 'balancer://lb/' },
      { path: '/member/', backend: 'balancer://member/' },
    ],
    (p) => ({
      plain: { members: [{ url: `http://127.0.0.1:${p}` }] },
      lb: { upgrade: 'websocket', members: [{ url: `http://127.0.0.1:${p}` }] },
      member: { members: [{ url: `http://127.0.0.1:${p}`, upgrade: 'websocket' }] },
    }),
  );
  assertPlain(await rawRequest(t, port, handshake('/plain/x')), backend.heads[0]!, '/x');
  await assertTunnel(await rawRequest(t, port, handshake('/lb/x')), backend.heads[1]!, '/x');
  await assertTunnel(await rawRequest(t, port, handshake('/member/x')), backend.heads[2]!, '/x');
});
