// The `upgrade` route option (websocket / list / ANY / NONE), non-101 answers, HTTP/1.0, and backends
// that switch to the wrong protocol. Raw `net` peers, so every byte is visible.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { startProxy } from '../helpers/proxy.js';
import {
  hasHead, rawClient, rawExchange, readUntil, startHttpBackend, startRawBackend, statusOf, wsHandshake,
} from '../helpers/peers.js';

/** A raw backend that answers every upgrade with 101 naming `protocol`, then echoes bytes upper-cased. */
async function switchingBackend(t: TestContext, protocol?: string) {
  const heads: string[] = [];
  const backend = await startRawBackend(t, (s: net.Socket) => {
    void readUntil(s, hasHead).then((buf) => {
      const end = buf.indexOf('\r\n\r\n') + 4;
      const head = buf.subarray(0, end).toString('latin1');
      heads.push(head);
      const asked = /\r\nupgrade: *([^\r]*)/i.exec(head)?.[1] ?? 'none';
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${protocol ?? asked}\r\nConnection: Upgrade\r\n\r\n`);
      const rest = buf.subarray(end);
      if (rest.length) s.write(rest.toString().toUpperCase());
      s.on('data', (d: Buffer) => s.write(d.toString().toUpperCase()));
    });
  });
  return { port: backend.port, heads };
}

test('upgrade: ANY tunnels a non-WebSocket protocol and forwards its name', async (t) => {
  const backend = await switchingBackend(t);
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/`, upgrade: 'ANY' }] });
  const client = await rawClient(t, port);
  client.write('GET /mux HTTP/1.1\r\nHost: p\r\nUpgrade: h2c-custom/1.0\r\nConnection: Upgrade\r\n\r\n');
  const head = await readUntil(client, hasHead);
  assert.equal(statusOf(head.toString()), 101);
  assert.match(head.toString(), /Upgrade: h2c-custom\/1\.0/);
  assert.match(backend.heads[0]!, /\r\nUpgrade: h2c-custom\/1\.0\r\n/);
  client.write('raw bytes of another protocol');
  const echoed = await readUntil(client, (b) => b.includes('PROTOCOL'));
  assert.match(echoed.toString(), /RAW BYTES OF ANOTHER PROTOCOL/);
});

test('a protocol list tunnels the listed protocols only; others are proxied as plain HTTP', async (t) => {
  const backend = await switchingBackend(t);
  const httpBackend = await startHttpBackend(t, (req, res) => res.end(`plain ${req.headers.upgrade ?? 'no-upgrade'}`));
  const { port } = await startProxy(t, {
    routes: [
      { path: '/t/', backend: `ws://127.0.0.1:${backend.port}/`, upgrade: ['irc', 'mqtt'] },
      { path: '/', backend: `http://127.0.0.1:${httpBackend.port}/` },
    ],
  });
  const ok = await rawExchange(t, port, 'GET /t/x HTTP/1.1\r\nHost: p\r\nUpgrade: mqtt\r\nConnection: Upgrade\r\n\r\n');
  assert.equal(statusOf(ok.head), 101);
  assert.match(ok.head, /Upgrade: mqtt/);
  // websocket is not listed on /t/: the request is plain HTTP to the same route's backend, Upgrade dropped.
  const backendHeadsBefore = backend.heads.length;
  const plain = await rawExchange(t, port, wsHandshake('/t/x'));
  assert.notEqual(statusOf(plain.head), 101);
  assert.equal(backend.heads.length, backendHeadsBefore + 1, 'plain HTTP went to the route backend');
  assert.doesNotMatch(backend.heads.at(-1)!, /\r\nupgrade:/i);
});

test('upgrade: NONE tunnels WebSocket whatever Upgrade value the client sent', async (t) => {
  const backend = await switchingBackend(t);
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/`, upgrade: 'NONE' }] });
  const r = await rawExchange(t, port, wsHandshake('/x', { Upgrade: 'something-else' }));
  assert.equal(statusOf(r.head), 101);
  assert.match(backend.heads[0]!, /\r\nUpgrade: websocket\r\n/i);
  r.socket.write('abc');
  const echoed = await readUntil(r.socket, (b) => b.includes('ABC'));
  assert.match(echoed.toString(), /ABC/);
});

test('a backend that switches to another protocol than asked gets 502', async (t) => {
  const backend = await switchingBackend(t, 'h2c');
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const r = await rawExchange(t, port, wsHandshake('/'));
  assert.equal(statusOf(r.head), 502);
  assert.match(r.head, /X-Wspass-Error: WSP_BACKEND_UPGRADE_MISMATCH/);
});

test('a non-101 backend answer is relayed and the client connection stays usable', async (t) => {
  let n = 0;
  const backend = await startRawBackend(t, (s) => {
    void readUntil(s, hasHead).then(() => {
      n++;
      if (n === 1) {
        s.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nX-Reason: nope\r\n\r\ndenied');
      } else {
        s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        s.on('data', (d: Buffer) => s.write(d));
      }
    });
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(wsHandshake('/first'));
  const first = await readUntil(client, (b) => b.includes('denied'));
  const text = first.toString('latin1');
  assert.equal(statusOf(text), 403);
  assert.match(text, /X-Reason: nope/);
  assert.match(text, /Content-Length: 6/);
  assert.match(text, /Connection: keep-alive/i);
  // Same TCP connection: a second upgrade succeeds.
  client.write(wsHandshake('/second'));
  const second = await readUntil(client, (b) => b.includes('\r\n\r\n'));
  assert.equal(statusOf(second.toString('latin1')), 101);
  client.write('ping');
  const echoed = await readUntil(client, (b) => b.includes('ping'));
  assert.match(echoed.toString(), /ping/);
});

test('a chunked non-101 answer is re-framed for the client', async (t) => {
  const backend = await startRawBackend(t, (s) => {
    void readUntil(s, hasHead).then(() => {
      s.end('HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    });
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(wsHandshake('/'));
  const all = await readUntil(client, (b) => b.includes('0\r\n\r\n'));
  const text = all.toString('latin1');
  assert.equal(statusOf(text), 401);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  const decoded = body.split('\r\n').filter((_l, i) => i % 2 === 1).join('');
  assert.equal(decoded, 'hello world');
});

test('an Upgrade header on HTTP/1.0 is ignored and the request proxied as plain HTTP', async (t) => {
  const seen: (string | undefined)[] = [];
  const backend = await startHttpBackend(t, (req, res) => {
    seen.push(req.headers.upgrade);
    res.end('plain');
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write('GET / HTTP/1.0\r\nHost: p\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  const all = await readUntil(client, (b) => b.includes('plain'));
  assert.equal(statusOf(all.toString()), 200);
  assert.deepEqual(seen, [undefined], 'Upgrade is hop-by-hop and not forwarded on plain HTTP');
});
