// A backend's non-101 answer to an upgrade request, relayed to a raw client: the Upgrade advertisement of
// a 426, the Date, Trailer, and a body that breaks off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startProxy } from '../helpers/proxy.js';
import { rawClient, readUntil, statusOf, wsHandshake } from '../helpers/peers.js';
import { headerValues, scriptedBackend } from '../helpers/scripted-backend.js';

const IMF_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

test('a relayed 426 keeps an Upgrade the route tunnels, with Connection: Upgrade, and drops one it does not', { timeout: 10_000 }, async (t) => {
  const backend = await scriptedBackend(t, (s, head) => {
    const offer = head.includes('GET /mqtt ') ? 'h2c' : 'WebSocket';
    s.end(`HTTP/1.1 426 Upgrade Required\r\nUpgrade: ${offer}\r\nConnection: Upgrade\r\nContent-Length: 4\r\n\r\nnope`);
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);

  client.write(wsHandshake('/ws'));
  const kept = (await readUntil(client, (b) => b.includes('nope'))).toString('latin1');
  assert.deepEqual(headerValues(backend.heads[0]!, 'upgrade'), ['websocket'], 'the backend was asked to switch');
  assert.deepEqual(headerValues(backend.heads[0]!, 'connection'), ['Upgrade']);
  assert.equal(statusOf(kept), 426);
  assert.deepEqual(headerValues(kept, 'upgrade'), ['WebSocket']);
  assert.deepEqual(headerValues(kept, 'connection'), ['Upgrade']);

  // Same connection (it stays usable): an advertisement of a protocol the route does not tunnel goes.
  client.write(wsHandshake('/mqtt'));
  const dropped = (await readUntil(client, (b) => b.includes('nope'))).toString('latin1');
  assert.equal(statusOf(dropped), 426);
  assert.deepEqual(headerValues(backend.heads[1]!, 'upgrade'), ['websocket']);
  assert.deepEqual(headerValues(dropped, 'upgrade'), []);
  assert.deepEqual(headerValues(dropped, 'connection'), ['keep-alive']);
});

test('a relayed non-101 answer gets a Date when the backend sent none, and keeps the backend Date', { timeout: 10_000 }, async (t) => {
  const backend = await scriptedBackend(t, (s, head) => {
    const date = head.includes('GET /dated ') ? 'Date: Mon, 30 Nov 2026 10:00:00 GMT\r\n' : '';
    s.end(`HTTP/1.1 403 Forbidden\r\n${date}Content-Length: 6\r\n\r\ndenied`);
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);

  client.write(wsHandshake('/undated'));
  const undated = (await readUntil(client, (b) => b.includes('denied'))).toString('latin1');
  assert.deepEqual(headerValues(backend.heads[0]!, 'upgrade'), ['websocket']);
  assert.deepEqual(headerValues(backend.heads[0]!, 'date'), []);
  assert.equal(statusOf(undated), 403);
  const [date] = headerValues(undated, 'date');
  assert.match(date ?? '', IMF_DATE);
  assert.ok(Math.abs(Date.parse(date!) - Date.now()) < 60_000, `a current date, got ${date}`);
  assert.deepEqual(headerValues(undated, 'content-length'), ['6']);

  client.write(wsHandshake('/dated'));
  const dated = (await readUntil(client, (b) => b.includes('denied'))).toString('latin1');
  assert.equal(statusOf(dated), 403);
  assert.deepEqual(headerValues(dated, 'date'), ['Mon, 30 Nov 2026 10:00:00 GMT']);
});

test('Trailer is dropped from a re-chunked answer, whose trailer fields are not forwarded', { timeout: 10_000 }, async (t) => {
  const backend = await scriptedBackend(t, (s) => {
    s.end(
      'HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\nWWW-Authenticate: Basic\r\n\r\n' +
        '5\r\nhello\r\n0\r\nX-Checksum: 42\r\n\r\n',
    );
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(wsHandshake('/', { TE: 'trailers', Connection: 'Upgrade, TE' }));
  const got = (await readUntil(client, (b) => b.includes('0\r\n\r\n'))).toString('latin1');
  assert.deepEqual(headerValues(backend.heads[0]!, 'te'), [], 'TE is hop-by-hop');
  assert.deepEqual(headerValues(backend.heads[0]!, 'upgrade'), ['websocket']);
  assert.equal(statusOf(got), 401);
  assert.deepEqual(headerValues(got, 'trailer'), []);
  assert.deepEqual(headerValues(got, 'transfer-encoding'), ['chunked']);
  assert.deepEqual(headerValues(got, 'www-authenticate'), ['Basic']);
  assert.equal(got.slice(got.indexOf('\r\n\r\n') + 4), '5\r\nhello\r\n0\r\n\r\n');
  assert.ok(!got.includes('X-Checksum: 42'));
});

test('a declined answer whose body breaks off ends the client connection and frees the backend socket', { timeout: 10_000 }, async (t) => {
  const backend = await scriptedBackend(t, (s) => {
    // Head and broken body in one write: the parse error comes in the same read as the head.
    s.write('HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\nX-Reason: nope\r\n\r\nzz\r\n');
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  const ended = once(client, 'end');
  client.write(wsHandshake('/'));
  const got = (await readUntil(client, () => false)).toString('latin1'); // everything until the proxy ends it
  await ended;
  assert.deepEqual(headerValues(backend.heads[0]!, 'upgrade'), ['websocket']);
  assert.equal(statusOf(got), 403);
  assert.deepEqual(headerValues(got, 'x-reason'), ['nope']);
  assert.deepEqual(headerValues(got, 'transfer-encoding'), ['chunked']);
  assert.ok(!got.includes('0\r\n\r\n'), 'no last chunk: the client can tell the body is short');
  await backend.released(0); // the proxy let go of the backend connection
  client.end();
  if (!client.closed) await once(client, 'close');
});
