// Request heads refused the same way on the plain and the upgrade path (Host and framing, RFC 9112 §3.2 and
// §6.3), CONNECT answered with 405, and a slow head answered with 408 after headTimeoutMs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../helpers/proxy.js';
import { hasHead, rawClient, readUntil, startRawBackend, statusOf } from '../helpers/peers.js';

const cases: readonly [string, string][] = [
  ['Transfer-Encoding: identity', 'Host: p.test\r\nTransfer-Encoding: identity\r\n'],
  ['no Host', ''],
  ['two Host lines', 'Host: a.test\r\nHost: b.test\r\n'],
  ['an invalid Host', 'Host: a b\r\n'],
];

for (const upgrade of [false, true]) {
  for (const [name, headers] of cases) {
    test(`${upgrade ? 'upgrade' : 'plain'} path: ${name} gets 400 and the connection is closed; the backend sees nothing`, async (t) => {
      let connections = 0;
      const backend = await startRawBackend(t, (s) => {
        connections++;
        s.destroy();
      });
      const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
      const client = await rawClient(t, port);
      const up = upgrade ? 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' : '';
      client.write(`GET /x HTTP/1.1\r\n${headers}${up}\r\nabc`);
      const got = (await readUntil(client, () => false)).toString('latin1'); // until the proxy closes
      assert.equal(statusOf(got), 400);
      assert.match(got, /X-Wspass-Error: WSP_BAD_REQUEST/);
      assert.match(got, /Connection: close/i);
      assert.equal(got.match(/HTTP\/1\.1 /g)?.length, 1, 'exactly one response');
      assert.equal(connections, 0);
    });
  }
}

test('CONNECT gets 405 with Allow and Connection: close, and its own error code', async (t) => {
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: 'ws://127.0.0.1:9/' }] });
  const client = await rawClient(t, port);
  client.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  const got = (await readUntil(client, () => false)).toString('latin1');
  assert.equal(statusOf(got), 405);
  assert.match(got, /\r\nAllow: GET, HEAD, POST/);
  assert.match(got, /\r\nConnection: close\r\n/);
  assert.match(got, /X-Wspass-Error: WSP_CONNECT_METHOD/);
});

test('a head still incomplete after headTimeoutMs gets 408 WSP_HEAD_TIMEOUT', async (t) => {
  const { port } = await startProxy(t, { headTimeoutMs: 300, routes: [{ path: '/', backend: 'ws://127.0.0.1:9/' }] });
  const client = await rawClient(t, port);
  const started = Date.now();
  client.write('GET / HTTP/1.1\r\nHost: p.t');
  const got = (await readUntil(client, hasHead)).toString('latin1');
  assert.equal(statusOf(got), 408);
  assert.match(got, /X-Wspass-Error: WSP_HEAD_TIMEOUT/);
  // Node's default check interval alone would take up to 30 s: the limit is applied within a bound.
  assert.ok(Date.now() - started < 5_000, `answered after ${Date.now() - started} ms`);
});
