// The client side of an upgrade request before the backend answers: a request body goes with the request
// in the client's own framing, bytes after the message wait for the 101, Expect: 100-continue is answered
// here, and a balancer retries a request whose body it still holds. Raw peers, so every byte is visible.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { startProxy } from '../helpers/proxy.js';
import { hasHead, rawClient, readUntil, refusedPort, startRawBackend, statusOf } from '../helpers/peers.js';

interface Seen {
  head: string;
  /** Bytes the backend read after the head and before it answered. */
  body: Buffer;
  /** Bytes it read after its 101. */
  tunnel: Buffer;
}

/**
 * A backend that reads the request head, then reads until `bodyDone(bytesAfterHead)` holds (as a backend that
 * needs the body before answering does), then answers 101 and echoes upper-cased.
 */
async function bodyReadingBackend(t: TestContext, bodyDone: (after: Buffer) => boolean) {
  const seen: Seen[] = [];
  const backend = await startRawBackend(t, (s: net.Socket) => {
    void readUntil(s, (b) => hasHead(b) && bodyDone(b.subarray(b.indexOf('\r\n\r\n') + 4))).then((buf) => {
      const end = buf.indexOf('\r\n\r\n') + 4;
      const entry: Seen = { head: buf.subarray(0, end).toString('latin1'), body: buf.subarray(end), tunnel: Buffer.alloc(0) };
      seen.push(entry);
      s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      s.on('data', (d: Buffer) => {
        entry.tunnel = Buffer.concat([entry.tunnel, d]);
        s.write(d.toString('latin1').toUpperCase());
      });
    });
  });
  return { port: backend.port, seen };
}

const upgradeHead = (extra: string) =>
  `GET /up HTTP/1.1\r\nHost: p.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}\r\n`;

test('a Content-Length body is sent with the upgrade request; bytes after it wait for the 101', async (t) => {
  const backend = await bodyReadingBackend(t, (after) => after.length >= 5);
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(upgradeHead('Content-Length: 5\r\n') + 'helloEARLY');
  const got = await readUntil(client, (b) => b.includes('EARLY'));
  assert.equal(statusOf(got.toString('latin1')), 101);
  assert.equal(backend.seen[0]!.body.toString(), 'hello', 'the body came with the request, nothing more');
  assert.match(backend.seen[0]!.head, /\r\nContent-Length: 5\r\n/);
  assert.equal(backend.seen[0]!.tunnel.toString(), 'EARLY', 'early bytes went through the tunnel');
});

test('a chunked body is sent in its own framing, trailers included', async (t) => {
  const body = '5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n';
  const backend = await bodyReadingBackend(t, (after) => after.includes('\r\n0\r\nX-Sum: 1\r\n\r\n'));
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(upgradeHead('Transfer-Encoding: chunked\r\nTrailer: X-Sum\r\n') + body + 'tail');
  const got = await readUntil(client, (b) => b.includes('TAIL'));
  assert.equal(statusOf(got.toString('latin1')), 101);
  assert.equal(backend.seen[0]!.body.toString(), body);
  assert.match(backend.seen[0]!.head, /\r\nTransfer-Encoding: chunked\r\n/);
  assert.equal(backend.seen[0]!.tunnel.toString(), 'tail');
});

test('Expect: 100-continue is answered by the proxy and not passed on', async (t) => {
  const backend = await bodyReadingBackend(t, (after) => after.length >= 4);
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(upgradeHead('Content-Length: 4\r\nExpect: 100-continue\r\n'));
  const interim = await readUntil(client, hasHead);
  assert.equal(statusOf(interim.toString()), 100);
  client.write('body');
  const final = await readUntil(client, hasHead);
  assert.equal(statusOf(final.toString()), 101);
  assert.equal(backend.seen[0]!.body.toString(), 'body');
  assert.doesNotMatch(backend.seen[0]!.head, /expect/i);
});

test('a balancer retries a request with a small body on the next member, body included', async (t) => {
  const backend = await bodyReadingBackend(t, (after) => after.length >= 5);
  const dead = await refusedPort();
  const { port } = await startProxy(t, {
    routes: [{ path: '/', backend: 'balancer://pair/', upgrade: 'websocket' }],
    balancers: {
      pair: {
        strategy: 'byrequests',
        members: [{ url: `ws://127.0.0.1:${dead}` }, { url: `ws://127.0.0.1:${backend.port}` }],
      },
    },
  });
  const client = await rawClient(t, port);
  client.write(upgradeHead('Content-Length: 5\r\n') + 'hello');
  const got = await readUntil(client, hasHead);
  assert.equal(statusOf(got.toString()), 101);
  assert.equal(backend.seen[0]!.body.toString(), 'hello');
});

test('a body larger than the replay buffer is not replayed on another member once sent', async (t) => {
  const big = 'x'.repeat(40_000);
  const heads: string[] = [];
  // Both members read the whole request, then close without answering (a member failure after the send).
  const closer = () =>
    startRawBackend(t, (s) => {
      void readUntil(s, (b) => hasHead(b) && b.length - b.indexOf('\r\n\r\n') - 4 >= big.length).then((b) => {
        heads.push(b.subarray(0, b.indexOf('\r\n\r\n')).toString('latin1'));
        s.destroy();
      });
    });
  const a = await closer();
  const b = await closer();
  const { port } = await startProxy(t, {
    routes: [{ path: '/', backend: 'balancer://pair/', upgrade: 'websocket' }],
    balancers: { pair: { strategy: 'byrequests', members: [{ url: `ws://127.0.0.1:${a.port}` }, { url: `ws://127.0.0.1:${b.port}` }] } },
  });
  const client = await rawClient(t, port);
  client.write(upgradeHead(`Content-Length: ${big.length}\r\n`) + big);
  const got = await readUntil(client, hasHead);
  assert.equal(statusOf(got.toString()), 502);
  assert.equal(heads.length, 1, 'only one member got the request');
});

test('a malformed chunked body is refused with 400 and the backend connection is dropped', async (t) => {
  let backendClosed!: () => void;
  const closed = new Promise<void>((r) => (backendClosed = r));
  const backend = await startRawBackend(t, (s) => s.on('end', () => backendClosed()));
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(upgradeHead('Transfer-Encoding: chunked\r\n') + 'zz\r\n');
  const got = await readUntil(client, hasHead);
  assert.equal(statusOf(got.toString()), 400);
  assert.match(got.toString(), /X-Wspass-Error: WSP_BAD_REQUEST/);
  await closed;
});
