// PROXY protocol v2 toward backends (`proxyProtocol: v2` on a route or a balancer member): a raw backend
// parses the header each connection starts with. The tunnel sends it before the request (and before TLS to
// a wss:// backend); plain HTTP uses one backend connection per client connection, so each header is right.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HealthChecker } from '../../src/balancer/health-checker.js';
import { MemberTable } from '../../src/balancer/member-table.js';
import { configSchema } from '../../src/config/schema.js';
import { parseProxyHeader, type ProxyHeader } from '../../src/proxy-protocol/parse-header.js';
import { composeRoutes } from '../../src/server/compose-routes.js';
import { hasHead, readUntil, startRawBackend, wsHandshake } from '../helpers/peers.js';
import { headerValues } from '../helpers/recording-backend.js';
import { ppListener, startCountingProxy, v1 } from '../helpers/proxy-protocol-peers.js';
import { ENGINES, skipFor } from '../helpers/engines.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));

interface BackendConnection {
  readonly header: ProxyHeader;
  readonly heads: string[];
}

/**
 * A raw backend that requires a PROXY header on every connection, then (optionally over TLS) answers each
 * request head: an upgrade with 101 and an upper-casing echo, anything else with `200 ok` (keep-alive).
 */
async function proxyAwareBackend(t: TestContext, secure = false): Promise<{ port: number; connections: BackendConnection[] }> {
  const connections: BackendConnection[] = [];
  const serve = (s: net.Socket | tls.TLSSocket, conn: BackendConnection, pending: Buffer): void => {
    const more = hasHead(pending) ? Promise.resolve(Buffer.alloc(0)) : readUntil(s, (b) => hasHead(Buffer.concat([pending, b])));
    void more.then((got) => {
      const buf = Buffer.concat([pending, got]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end + 4).toString('latin1');
      conn.heads.push(head);
      const upgrade = headerValues(head, 'upgrade')[0];
      if (upgrade !== undefined) {
        s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${upgrade}\r\nConnection: Upgrade\r\n\r\n`);
        s.on('data', (d: Buffer) => s.write(d.toString('latin1').toUpperCase()));
        return;
      }
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      serve(s, conn, buf.subarray(end + 4));
    });
  };
  const backend = await startRawBackend(t, (s) => {
    void readUntil(s, (b) => parseProxyHeader(b).state !== 'more').then((buf) => {
      const r = parseProxyHeader(buf);
      if (r.state !== 'done') {
        s.destroy();
        return;
      }
      const conn: BackendConnection = { header: r.header, heads: [] };
      connections.push(conn);
      const rest = buf.subarray(r.length);
      if (!secure) {
        serve(s, conn, rest);
        return;
      }
      s.pause();
      if (rest.length > 0) s.unshift(rest);
      const secureSocket = new tls.TLSSocket(s, {
        isServer: true,
        cert: readFileSync(fixture('backend-cert.pem')),
        key: readFileSync(fixture('backend-key.pem')),
      });
      secureSocket.on('error', () => undefined);
      serve(secureSocket, conn, Buffer.alloc(0));
    });
  });
  return { port: backend.port, connections };
}

async function connectTo(t: TestContext, port: number): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1' });
  s.on('error', () => undefined);
  t.after(() => s.destroy());
  await once(s, 'connect');
  return s;
}

for (const engine of ENGINES) {
  test(`a tunnel to a proxyProtocol: v2 backend starts with the client's address (${engine} engine)`, { skip: skipFor(engine) }, async (t) => {
    const backend = await proxyAwareBackend(t);
    const { port } = await startCountingProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}`, proxyProtocol: 'v2' }] }, engine);
    const s = await connectTo(t, port);
    s.write(wsHandshake('/t'));
    assert.match((await readUntil(s, hasHead)).toString('latin1'), /^HTTP\/1\.1 101 /);
    const echoed = readUntil(s, (b) => b.toString() === 'PING');
    s.write('ping');
    assert.equal((await echoed).toString(), 'PING');
    assert.deepEqual(backend.connections[0]!.header, {
      kind: 'proxy',
      version: 2,
      family: 'ipv4',
      source: '127.0.0.1',
      sourcePort: s.localPort,
      destination: '127.0.0.1',
      destinationPort: port,
    });
  });
}

test('a PROXY header received is passed on: the tunnel\'s v2 header names the same client and destination', async (t) => {
  const backend = await proxyAwareBackend(t);
  const { port } = await startCountingProxy(t, {
    listen: ppListener(),
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}`, proxyProtocol: 'v2' }],
  });
  const s = await connectTo(t, port);
  s.write(v1('203.0.113.5', 1234) + wsHandshake('/'));
  assert.match((await readUntil(s, hasHead)).toString('latin1'), /^HTTP\/1\.1 101 /);
  assert.deepEqual(backend.connections[0]!.header, {
    kind: 'proxy',
    version: 2,
    family: 'ipv4',
    source: '203.0.113.5',
    sourcePort: 1234,
    destination: '127.0.0.1',
    destinationPort: 443,
  });
  assert.deepEqual(headerValues(backend.connections[0]!.heads[0]!, 'x-forwarded-for'), ['203.0.113.5']);
});

test('to a wss:// backend the v2 header comes before the TLS handshake', async (t) => {
  const backend = await proxyAwareBackend(t, true);
  const { port } = await startCountingProxy(t, {
    routes: [{ path: '/', backend: `wss://localhost:${backend.port}`, proxyProtocol: 'v2', tls: { caFile: fixture('backend-cert.pem') } }],
  });
  const s = await connectTo(t, port);
  s.write(wsHandshake('/secure'));
  assert.match((await readUntil(s, hasHead)).toString('latin1'), /^HTTP\/1\.1 101 /);
  const echoed = readUntil(s, (b) => b.toString() === 'OVER TLS');
  s.write('over tls');
  assert.equal((await echoed).toString(), 'OVER TLS');
  assert.equal(backend.connections[0]!.header.kind, 'proxy');
});

test('plain HTTP to a v2 member: one backend connection per client connection, each with its own header', async (t) => {
  const backend = await proxyAwareBackend(t);
  const { port } = await startCountingProxy(t, {
    balancers: { b: { members: [{ url: `http://127.0.0.1:${backend.port}`, proxyProtocol: 'v2' }] } },
    routes: [{ path: '/', backend: 'balancer://b/' }],
  });
  const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: proxy.test\r\n\r\n`;
  const ok = (b: Buffer) => b.toString('latin1').endsWith('\r\n\r\nok');
  const first = await connectTo(t, port);
  const second = await connectTo(t, port);
  first.write(request('/1a'));
  await readUntil(first, ok);
  second.write(request('/2a'));
  await readUntil(second, ok);
  first.write(request('/1b'));
  await readUntil(first, ok);
  assert.equal(backend.connections.length, 2);
  const byPort = new Map(backend.connections.map((c) => [c.header.kind === 'proxy' ? c.header.sourcePort : -1, c]));
  assert.deepEqual(byPort.get(first.localPort!)!.heads.map((h) => h.split(' ')[1]), ['/1a', '/1b']);
  assert.deepEqual(byPort.get(second.localPort!)!.heads.map((h) => h.split(' ')[1]), ['/2a']);
});

test('health probes of a v2 member start with a v2 LOCAL header', async (t) => {
  const backend = await proxyAwareBackend(t);
  const config = configSchema.parse({
    listen: '127.0.0.1:0',
    balancers: {
      b: {
        members: [{ url: `ws://127.0.0.1:${backend.port}`, proxyProtocol: 'v2' }],
        healthCheck: { type: 'websocket', path: '/probe', intervalMs: 50, timeoutMs: 1_000 },
      },
    },
    routes: [{ path: '/', backend: 'balancer://b/' }],
  });
  const table = new MemberTable(config);
  const routes = composeRoutes(config, { members: table });
  const checker = new HealthChecker(table, routes.balancers.values());
  t.after(() => checker.close());
  const probed = once(checker, 'probe');
  checker.start();
  const [event] = (await probed) as [{ ok: boolean; detail: string }];
  assert.equal(event.ok, true, event.detail);
  assert.deepEqual(backend.connections[0]!.header, { kind: 'local', version: 2 });
  assert.match(backend.connections[0]!.heads[0]!, /^GET \/probe HTTP\/1\.1\r\n/);
});
