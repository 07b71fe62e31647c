// A client FIN never strands a connection: a FIN sent with an upgrade head reaches the backend once the
// request is sent, a FIN after a non-101 answer ends the client connection after the answer, and a
// complete plain request followed by a FIN still gets its answer (as Apache and nginx give it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as tick } from 'node:timers/promises';
import { startProxy } from '../helpers/proxy.js';
import { hasHead, rawClient, readUntil, startHttpBackend, startRawBackend, startWsBackend, statusOf, wsHandshake } from '../helpers/peers.js';

test('an upgrade head sent together with a FIN: the backend gets the request, then the FIN', async (t) => {
  let sawEnd!: (head: string) => void;
  const ended = new Promise<string>((r) => (sawEnd = r));
  const backend = await startRawBackend(t, (s) => {
    let buf = '';
    s.on('data', (d: Buffer) => {
      if (!buf.includes('\r\n\r\n') && (buf += d.toString('latin1')).includes('\r\n\r\n')) {
        s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nbye');
      }
    });
    s.on('end', () => {
      sawEnd(buf);
      s.end();
    });
  });
  const { port, proxy } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.end(wsHandshake('/fin'));
  const head = await ended;
  assert.match(head, /^GET \/fin HTTP\/1\.1\r\n/);
  const got = await readUntil(client, () => false); // until the proxy passes the backend's FIN on
  assert.equal(statusOf(got.toString()), 101);
  assert.ok(got.toString().endsWith('bye'));
  while (proxy.tunnelCount !== 0) await tick(5); // bounded by the test timeout; the tunnel closes on its own
});

test('200 upgrade heads with a FIN against a ws backend leave no tunnel open', async (t) => {
  const backend = await startWsBackend(t);
  const { port, proxy } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      const c = await rawClient(t, port);
      c.on('error', () => undefined);
      c.end(wsHandshake('/scan'));
      c.resume();
      await once(c, 'close');
    }),
  );
  // Every client connection closed, which the proxy only does once both sides of its tunnel are gone.
  assert.equal(proxy.tunnelCount, 0);
});

test('a FIN before a non-101 answer: the answer is sent, then the connection is ended', async (t) => {
  const backend = await startRawBackend(t, (s) => {
    void readUntil(s, hasHead).then(() => s.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno'));
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.end(wsHandshake('/x'));
  const got = await readUntil(client, () => false);
  assert.equal(statusOf(got.toString()), 403);
  assert.ok(got.toString().endsWith('\r\n\r\nno'));
  assert.match(got.toString(), /Connection: close/i);
});

for (const [name, raw] of [
  ['HTTP/1.0', 'GET /h HTTP/1.0\r\n\r\n'],
  ['HTTP/1.1 keep-alive', 'GET /h HTTP/1.1\r\nHost: p.test\r\n\r\n'],
] as const) {
  test(`a complete ${name} request followed by a half-close gets its answer`, async (t) => {
    const backend = await startHttpBackend(t, (_req, res) => res.end('answered'));
    const { port } = await startProxy(t, { routes: [{ path: '/h', backend: `http://127.0.0.1:${backend.port}/` }] });
    const client = await rawClient(t, port);
    client.end(raw);
    const got = (await readUntil(client, () => false)).toString();
    assert.equal(statusOf(got), 200);
    assert.ok(got.endsWith('answered'));
  });
}

test('a local 404 is answered to a half-closed client too', async (t) => {
  const { port } = await startProxy(t, { routes: [{ path: '/only', backend: 'http://127.0.0.1:9/' }] });
  const client = await rawClient(t, port);
  client.end('GET /elsewhere HTTP/1.1\r\nHost: p.test\r\n\r\n');
  const got = (await readUntil(client, () => false)).toString();
  assert.equal(statusOf(got), 404);
  assert.match(got, /WSP_NO_ROUTE/);
});

for (const [name, raw] of [
  ['a plain request', 'POST /h HTTP/1.1\r\nHost: p.test\r\nContent-Length: 5\r\n\r\nhe'],
  ['an upgrade request proxied as plain HTTP', 'GET /h HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 5\r\n\r\n'],
  ['a chunked upgrade request proxied as plain HTTP', 'GET /h HTTP/1.1\r\nHost: p.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n'],
] as const) {
  test(`a FIN inside the body of ${name} gets 400 and the connection is closed`, async (t) => {
    // The backend waits for the whole body before answering, so only the cut body can end the exchange.
    const backend = await startHttpBackend(t, (req, res) => {
      req.resume();
      req.on('end', () => res.end('complete'));
    });
    const { port } = await startProxy(t, { routes: [{ path: '/h', backend: `http://127.0.0.1:${backend.port}/` }] });
    const client = await rawClient(t, port);
    client.end(raw);
    const got = (await readUntil(client, () => false)).toString();
    assert.equal(statusOf(got), 400);
    assert.match(got, /X-Wspass-Error: WSP_BAD_REQUEST/);
  });
}
