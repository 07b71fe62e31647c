// Backend heads that must never become a tunnel: bare LF line endings and control characters in a 101's
// reason phrase. Both get 502 at once, the backend connection is let go, and nothing the backend does
// afterwards can reach the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startProxy } from '../helpers/proxy.js';
import { rawExchange, statusOf, wsHandshake } from '../helpers/peers.js';
import { headerValues, scriptedBackend } from '../helpers/scripted-backend.js';

test('a backend head with bare LF line endings gets 502 at once, not 504 after the handshake timeout', { timeout: 10_000 }, async (t) => {
  const backend = await scriptedBackend(t, (s) => {
    s.write('HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n\n'); // and stays open
  });
  const { port } = await startProxy(t, {
    // A timeout far beyond the test's own: a 504 could only come after the test failed.
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/`, handshakeTimeoutMs: 60_000 }],
  });
  const r = await rawExchange(t, port, wsHandshake('/'));
  assert.deepEqual(headerValues(backend.heads[0]!, 'upgrade'), ['websocket']);
  assert.deepEqual(headerValues(backend.heads[0]!, 'connection'), ['Upgrade']);
  assert.equal(statusOf(r.head), 502);
  assert.deepEqual(headerValues(r.head, 'x-wspass-error'), ['WSP_BACKEND_BAD_RESPONSE']);
  assert.deepEqual(headerValues(r.head, 'upgrade'), []);
  assert.deepEqual(headerValues(r.head, 'connection'), ['close']);
  await backend.released(0);
});

test('a 101 with control characters in its reason phrase gets 502; the backend reset afterwards harms nothing', { timeout: 10_000 }, async (t) => {
  const backend = await scriptedBackend(t, (s, head) => {
    if (head.includes('GET /bad ')) {
      s.write('HTTP/1.1 101 Switching\x01Protocols\x7f\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      // Once the proxy let go, a reset from this side must find nothing to crash.
      s.once('end', () => s.resetAndDestroy());
      return;
    }
    s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    s.on('data', (d: Buffer) => s.write(d));
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const bad = await rawExchange(t, port, wsHandshake('/bad'));
  assert.deepEqual(headerValues(backend.heads[0]!, 'upgrade'), ['websocket']);
  assert.equal(statusOf(bad.head), 502);
  assert.deepEqual(headerValues(bad.head, 'x-wspass-error'), ['WSP_BACKEND_BAD_RESPONSE']);
  assert.deepEqual(headerValues(bad.head, 'upgrade'), []);
  await backend.released(0);

  // The proxy still serves: a good upgrade on a new connection switches and tunnels.
  const good = await rawExchange(t, port, wsHandshake('/good'));
  assert.equal(statusOf(good.head), 101);
  assert.deepEqual(headerValues(good.head, 'connection'), ['Upgrade']);
  assert.deepEqual(headerValues(good.head, 'upgrade'), ['websocket']);
  good.socket.write('still alive');
  const [echo] = (await once(good.socket, 'data')) as [Buffer];
  assert.equal(echo.toString(), 'still alive');
});
