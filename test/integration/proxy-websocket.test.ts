// WebSocket through the whole proxy: real `ws` clients and backends, end-to-end handshake features,
// large messages, routing forms (prefix, regex with $1, header condition), early bytes, half-close, idle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { startProxy } from '../helpers/proxy.js';
import {
  hasHead, nextMessage, openWs, rawClient, readUntil, startRawBackend, startWsBackend, statusOf, wsHandshake,
} from '../helpers/peers.js';

test('the subprotocol chosen by the backend reaches the client', async (t) => {
  const backend = await startWsBackend(t, { handleProtocols: (protocols) => (protocols.has('v2.chat') ? 'v2.chat' : false) });
  const { wsBase } = await startProxy(t, { routes: [{ path: '/ws/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const ws = await openWs(t, `${wsBase}/ws/chat`, ['v1.chat', 'v2.chat']);
  assert.equal(ws.protocol, 'v2.chat');
  ws.send('hi');
  assert.equal((await nextMessage(ws)).data.toString(), 'hi');
});

test('permessage-deflate is negotiated end to end and compressed frames pass untouched', async (t) => {
  const backend = await startWsBackend(t, { perMessageDeflate: { threshold: 0 } });
  const { wsBase } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const ws = await openWs(t, `${wsBase}/`, undefined, { perMessageDeflate: { threshold: 0 } });
  assert.match(ws.extensions, /permessage-deflate/);
  const text = 'compress me '.repeat(1000);
  ws.send(text);
  assert.equal((await nextMessage(ws)).data.toString(), text);
  const backendReq = backend.requests[0]!;
  assert.match(String(backendReq.headers['sec-websocket-extensions']), /permessage-deflate/);
});

test('1 MiB messages arrive intact both ways', async (t) => {
  const fromBackend = randomBytes(1024 * 1024);
  const backend = await startWsBackend(t, { maxPayload: 4 * 1024 * 1024 }, (ws) => {
    ws.on('message', (data: Buffer) => {
      ws.send(createHash('sha256').update(data).digest('hex'));
      ws.send(fromBackend);
    });
  });
  const { wsBase } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const ws = await openWs(t, `${wsBase}/big`, undefined, { maxPayload: 4 * 1024 * 1024 });
  const toBackend = randomBytes(1024 * 1024);
  const digest = nextMessage(ws);
  ws.send(toBackend);
  assert.equal((await digest).data.toString(), createHash('sha256').update(toBackend).digest('hex'));
  const big = await nextMessage(ws);
  assert.ok(big.isBinary);
  assert.ok(big.data.equals(fromBackend));
});

test('a prefix route maps the remainder of the path and passes the query string', async (t) => {
  const backend = await startWsBackend(t);
  const { wsBase } = await startProxy(t, { routes: [{ path: '/ws/', backend: `ws://127.0.0.1:${backend.port}/chat/` }] });
  await openWs(t, `${wsBase}/ws/room/7?user=ann&x=%20y`);
  assert.equal(backend.requests[0]!.url, '/chat/room/7?user=ann&x=%20y');
});

test('a regex route substitutes $1 (ProxyPassMatch)', async (t) => {
  const backend = await startWsBackend(t);
  const other = await startWsBackend(t);
  const { wsBase } = await startProxy(t, {
    routes: [
      { match: '^/(myApp/ws)$', backend: `ws://127.0.0.1:${backend.port}/$1` },
      { path: '/', backend: `ws://127.0.0.1:${other.port}/` },
    ],
  });
  await openWs(t, `${wsBase}/myApp/ws?token=1`);
  assert.equal(backend.requests[0]!.url, '/myApp/ws?token=1');
  await openWs(t, `${wsBase}/myApp/wsx`);
  assert.equal(other.requests[0]!.url, '/myApp/wsx', 'a non-matching path falls through to the next route');
});

test('a header-conditioned route takes upgrades; plain HTTP falls through to the next route', async (t) => {
  const wsBackend = await startWsBackend(t);
  const httpBackendHits: string[] = [];
  const { startHttpBackend } = await import('../helpers/peers.js');
  const httpBackend = await startHttpBackend(t, (req, res) => {
    httpBackendHits.push(req.url ?? '');
    res.end('from http backend');
  });
  const { wsBase, httpBase } = await startProxy(t, {
    routes: [
      { path: '/', when: { header: { upgrade: 'websocket', connection: 'upgrade' } }, backend: `ws://127.0.0.1:${wsBackend.port}/` },
      { path: '/', backend: `http://127.0.0.1:${httpBackend.port}/` },
    ],
  });
  const ws = await openWs(t, `${wsBase}/live`);
  ws.send('x');
  assert.equal((await nextMessage(ws)).data.toString(), 'x');
  assert.equal(wsBackend.requests[0]!.url, '/live');
  const res = await fetch(`${httpBase}/page`);
  assert.equal(await res.text(), 'from http backend');
  assert.deepEqual(httpBackendHits, ['/page']);
});

test('bytes the client sends right after its head are held until the backend 101', async (t) => {
  let backendGotEarly: Buffer | undefined;
  const backend = await startRawBackend(t, (s) => {
    void readUntil(s, hasHead).then((buf) => {
      const end = buf.indexOf('\r\n\r\n') + 4;
      // Nothing after the head may arrive before the 101 is sent.
      assert.equal(buf.length, end, 'early bytes reached the backend before its 101');
      s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      void readUntil(s, (b) => b.length >= 5).then((b) => {
        backendGotEarly = b;
        s.end('bye');
      });
    });
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(wsHandshake('/') + 'EARLY');
  const reply = await readUntil(client, (b) => b.includes('bye'));
  assert.equal(statusOf(reply.toString('latin1')), 101);
  assert.equal(backendGotEarly?.toString(), 'EARLY');
});

test('half-close: client FIN reaches the backend while the backend keeps sending', async (t) => {
  const backend = await startRawBackend(t, (s) => {
    void readUntil(s, hasHead).then(() => {
      s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      s.once('end', () => {
        // The client has finished sending; this direction still flows.
        s.write('after-client-fin');
        s.end();
      });
    });
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(wsHandshake('/'));
  await readUntil(client, hasHead);
  client.end();
  const rest = await readUntil(client, (b) => b.includes('after-client-fin'));
  assert.match(rest.toString(), /after-client-fin/);
  await once(client, 'end');
});

test('half-close: backend FIN reaches the client while the client keeps sending', async (t) => {
  const received: Buffer[] = [];
  let backendSawEnd!: () => void;
  const ended = new Promise<void>((r) => (backendSawEnd = r));
  const backend = await startRawBackend(t, (s) => {
    void readUntil(s, hasHead).then(() => {
      s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      s.end(); // backend is done sending, still reading
      s.on('data', (d: Buffer) => received.push(d));
      s.once('end', () => backendSawEnd());
    });
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(wsHandshake('/'));
  await readUntil(client, hasHead);
  await once(client, 'end');
  client.end('after-backend-fin');
  await ended;
  assert.equal(Buffer.concat(received).toString(), 'after-backend-fin');
});

test('idle timeout closes both sides of a silent tunnel', async (t) => {
  let backendClosed!: () => void;
  const closed = new Promise<void>((r) => (backendClosed = r));
  const backend = await startWsBackend(t, {}, (ws) => ws.once('close', () => backendClosed()));
  const { wsBase } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/`, idleTimeoutMs: 150 }] });
  const ws = await openWs(t, `${wsBase}/`);
  const [code] = (await once(ws, 'close')) as [number];
  assert.equal(code, 1006, 'the proxy drops the TCP connection; no close frame is invented');
  await closed;
});

test('an active tunnel is not closed by its idle timeout', async (t) => {
  const backend = await startWsBackend(t);
  const { wsBase } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/`, idleTimeoutMs: 1000 }] });
  const ws = await openWs(t, `${wsBase}/`);
  // Keep traffic flowing for well over the idle timeout: each echo triggers the next message. The timeout
  // is far above any gap between two messages, even on a loaded machine whose event loops stall.
  const started = Date.now();
  let n = 0;
  while (Date.now() - started < 2500) {
    const reply = nextMessage(ws);
    ws.send(String(n));
    assert.equal((await reply).data.toString(), String(n));
    n++;
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(ws.readyState, ws.OPEN);
});
