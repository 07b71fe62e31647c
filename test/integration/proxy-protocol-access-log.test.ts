// The address a PROXY header names is the client of the access log: on a tunnel's close line and on a
// plain HTTP request's line, as it is in X-Forwarded-For and hash stickiness (proxy-protocol-in.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { hasHead, readUntil, startWsBackend, wsHandshake } from '../helpers/peers.js';
import { observedProxy } from '../helpers/observed-proxy.js';
import { ppListener, v1, v2 } from '../helpers/proxy-protocol-peers.js';

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1' });
  s.on('error', () => undefined);
  await once(s, 'connect');
  return s;
}

test('the access log names the PROXY header\'s source as the client, for a tunnel and for a plain request', async (t) => {
  const backend = await startWsBackend(t);
  const p = await observedProxy(t, { listen: ppListener(), routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });

  const tunnel = await connect(p.port);
  t.after(() => tunnel.destroy());
  tunnel.write(v2('198.51.100.20', 5555));
  tunnel.write(wsHandshake('/chat'));
  assert.match((await readUntil(tunnel, hasHead)).toString('latin1'), /^HTTP\/1\.1 101 /);
  tunnel.end();
  const closedLine = await p.line((l) => l.msg === 'tunnel closed');
  assert.equal(closedLine.client, '198.51.100.20');
  assert.equal(closedLine.closedBy, 'client');

  const plain = await connect(p.port);
  t.after(() => plain.destroy());
  plain.write(`${v1('203.0.113.9')}GET /page HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n`);
  assert.match((await readUntil(plain, hasHead)).toString('latin1'), /^HTTP\/1\.1 200 /);
  const requestLine = await p.line((l) => l.msg === 'http request');
  assert.equal(requestLine.client, '203.0.113.9');
  assert.equal(requestLine.status, 200);
});
