// TLS on both sides: wss:// backends (trusted through caFile, refused without it), a TLS listener with SNI
// virtual hosts routing by Host, and the connect timeout covering a TLS handshake that never completes.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TLSSocket } from 'node:tls';
import { WebSocket, type ClientOptions } from 'ws';
import { startProxy } from '../helpers/proxy.js';
import { nextMessage, openWs, rawExchange, startWsBackend, statusOf, wsHandshake } from '../helpers/peers.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));

async function startWssBackend(t: TestContext): Promise<number> {
  const tls = { cert: readFileSync(fixture('backend-cert.pem')), key: readFileSync(fixture('backend-key.pem')) };
  return (await startWsBackend(t, {}, undefined, { tls })).port;
}

test('a wss:// backend trusted through caFile carries the tunnel', async (t) => {
  const port = await startWssBackend(t);
  const { wsBase } = await startProxy(t, {
    routes: [{ path: '/', backend: `wss://localhost:${port}/`, tls: { caFile: fixture('backend-cert.pem') } }],
  });
  const ws = await openWs(t, `${wsBase}/secure`);
  ws.send('over tls');
  assert.equal((await nextMessage(ws)).data.toString(), 'over tls');
});

test('a wss:// backend with an untrusted certificate gets 502; rejectUnauthorized: false is the explicit opt-out', async (t) => {
  const port = await startWssBackend(t);
  const { port: strict } = await startProxy(t, { routes: [{ path: '/', backend: `wss://localhost:${port}/` }] });
  const r = await rawExchange(t, strict, wsHandshake('/'));
  assert.equal(statusOf(r.head), 502);
  assert.match(r.head, /X-Wspass-Error: WSP_BACKEND_TLS/);
  const { wsBase } = await startProxy(t, { routes: [{ path: '/', backend: `wss://localhost:${port}/`, tls: { rejectUnauthorized: false } }] });
  const ws = await openWs(t, `${wsBase}/`);
  ws.send('unverified');
  assert.equal((await nextMessage(ws)).data.toString(), 'unverified');
});

test('no connection within connectTimeoutMs gets 504 (TLS handshake never completes)', async (t) => {
  const silent = net.createServer((s) => s.resume());
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.after(() => {
    silent.close();
  });
  const port = (silent.address() as net.AddressInfo).port;
  const { port: proxyPort } = await startProxy(t, {
    routes: [{ path: '/', backend: `wss://127.0.0.1:${port}/`, connectTimeoutMs: 100 }],
  });
  const r = await rawExchange(t, proxyPort, wsHandshake('/'));
  assert.equal(statusOf(r.head), 504);
  assert.match(r.head, /X-Wspass-Error: WSP_CONNECT_TIMEOUT/);
  const plain = await rawExchange(t, proxyPort, 'GET / HTTP/1.1\r\nHost: p\r\n\r\n');
  assert.equal(statusOf(plain.head), 504);
});

test('a TLS listener serves SNI virtual hosts and routes by Host', async (t) => {
  const a = await startWsBackend(t, {}, (ws) => ws.send('backend A'));
  const b = await startWsBackend(t, {}, (ws) => ws.send('backend B'));
  const { port } = await startProxy(t, {
    listen: [
      {
        address: '127.0.0.1:0',
        tls: {
          certFile: fixture('vhost-a-cert.pem'),
          keyFile: fixture('vhost-a-key.pem'),
          sni: { 'b.example.test': { certFile: fixture('vhost-b-cert.pem'), keyFile: fixture('vhost-b-key.pem') } },
        },
      },
    ],
    routes: [
      { host: 'a.example.test', path: '/', backend: `ws://127.0.0.1:${a.port}/` },
      { host: 'b.example.test', path: '/', backend: `ws://127.0.0.1:${b.port}/` },
    ],
  });
  for (const name of ['a', 'b'] as const) {
    // `servername` (SNI) is passed through to tls.connect; ws's types do not list it.
    const options: ClientOptions & { servername: string } = {
      servername: `${name}.example.test`,
      headers: { host: `${name}.example.test` },
      ca: readFileSync(fixture(`vhost-${name}-cert.pem`)),
    };
    const ws = new WebSocket(`wss://127.0.0.1:${port}/`, options);
    t.after(() => ws.terminate());
    const greeting = nextMessage(ws);
    await once(ws, 'open');
    const cert = ((ws as unknown as { _socket: TLSSocket })._socket).getPeerCertificate();
    assert.equal(cert.subject?.CN, `${name}.example.test`);
    assert.equal((await greeting).data.toString(), `backend ${name.toUpperCase()}`);
    // The backend saw https as the client protocol.
    const reqs = name === 'a' ? a.requests : b.requests;
    assert.equal(reqs[0]!.headers['x-forwarded-proto'], 'https');
  }
});
