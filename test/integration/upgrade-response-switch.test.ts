// The 101 a client receives, byte for byte, from a raw backend's 101: hop-by-hop headers and those the
// backend's Connection names are dropped, `Connection: Upgrade` and `Upgrade` are rebuilt last, nothing
// is added, and the tunnel works behind it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../helpers/proxy.js';
import { rawClient, readUntil, statusOf, wsHandshake } from '../helpers/peers.js';
import { headerPairs, headerValues, scriptedBackend } from '../helpers/scripted-backend.js';

test('the relayed 101 drops what the backend Connection names and rebuilds Connection: Upgrade', { timeout: 10_000 }, async (t) => {
  const backend = await scriptedBackend(t, (s) => {
    s.write(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade, X-Hop\r\n' +
        'X-Hop: secret\r\n' +
        'Keep-Alive: timeout=5\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
        'Sec-WebSocket-Protocol: chat\r\n' +
        '\r\n',
    );
    s.on('data', (d: Buffer) => s.write(d)); // echo once switched
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(wsHandshake('/chat', { Connection: 'Upgrade, X-Client-Hop', 'X-Client-Hop': 'c' }));
  const got = (await readUntil(client, (b) => b.includes('\r\n\r\n'))).toString('latin1');

  // What the backend saw: the upgrade asked for again, the client's hop-by-hop headers gone.
  const seen = backend.heads[0]!;
  assert.deepEqual(headerValues(seen, 'upgrade'), ['websocket']);
  assert.deepEqual(headerValues(seen, 'connection'), ['Upgrade']);
  assert.deepEqual(headerValues(seen, 'x-client-hop'), []);

  // What the client got: exactly the end-to-end headers, then the rebuilt pair; no Date, no Server.
  assert.equal(statusOf(got), 101);
  assert.ok(got.startsWith('HTTP/1.1 101 Switching Protocols\r\n'));
  assert.deepEqual(headerPairs(got), [
    ['sec-websocket-accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
    ['sec-websocket-protocol', 'chat'],
    ['connection', 'Upgrade'],
    ['upgrade', 'websocket'],
  ]);

  // The tunnel runs behind it.
  client.write('ping');
  const echoed = await readUntil(client, (b) => b.toString('latin1').endsWith('ping'));
  assert.equal(echoed.toString('latin1'), 'ping');
});
