// PROXY protocol on a listener: v1 and v2 headers from a raw `net` client name the client in
// X-Forwarded-For and in hash stickiness, on the plain HTTP path and the upgrade path (both tunnel
// engines) and under TLS; untrusted sources, malformed, truncated and slow headers are closed and counted.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { V2_SIGNATURE } from '../../src/proxy-protocol/parse-header.js';
import { hasHead, readUntil, startNamedBackend, wsHandshake } from '../helpers/peers.js';
import { headerValues, startRecordingBackend } from '../helpers/recording-backend.js';
import { closed, ppListener, sendAndCollect, startCountingProxy, v1, v2 } from '../helpers/proxy-protocol-peers.js';
import { ENGINES, skipFor } from '../helpers/engines.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: proxy.test\r\n${extra}Connection: close\r\n\r\n`;

/** Connects, writes `parts`, reads one response head (and for a 101, what follows until `until` holds). */
async function exchange(t: TestContext, port: number, parts: readonly (string | Buffer)[], until: (b: Buffer) => boolean = hasHead): Promise<string> {
  const s = net.connect({ port, host: '127.0.0.1' });
  s.on('error', () => undefined);
  t.after(() => s.destroy());
  await once(s, 'connect');
  for (const p of parts) s.write(p);
  return (await readUntil(s, until)).toString('latin1');
}

test('v1 on the plain HTTP path: the header\'s source replaces a forged X-Forwarded-For', async (t) => {
  const backend = await startRecordingBackend(t);
  const { port, errors } = await startCountingProxy(t, { listen: ppListener(), routes: [{ path: '/', backend: `http://127.0.0.1:${backend.port}` }] });
  // Header and request in one write: the bytes after the header are HTTP.
  const answer = await exchange(t, port, [v1('203.0.113.9') + GET('/a', 'X-Forwarded-For: 6.6.6.6\r\n')]);
  assert.match(answer, /^HTTP\/1\.1 200 /);
  assert.deepEqual(headerValues(backend.heads[0]!, 'x-forwarded-for'), ['203.0.113.9']);
  assert.deepEqual(errors, []);
});

for (const engine of ENGINES) {
  test(`v2 on the upgrade path (${engine} engine): X-Forwarded-For names the header's source, the tunnel works`, { skip: skipFor(engine) }, async (t) => {
    const backend = await startRecordingBackend(t);
    const { port } = await startCountingProxy(t, { listen: ppListener(), routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}` }] }, engine);
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    t.after(() => s.destroy());
    await once(s, 'connect');
    // The header arrives in two pieces, the handshake separately.
    const header = v2('198.51.100.20', 5555);
    s.write(header.subarray(0, 7));
    s.write(header.subarray(7));
    s.write(wsHandshake('/chat'));
    const head = (await readUntil(s, hasHead)).toString('latin1');
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.deepEqual(headerValues(backend.heads[0]!, 'x-forwarded-for'), ['198.51.100.20']);
    const echoed = readUntil(s, (b) => b.toString() === 'HELLO');
    s.write('hello');
    assert.equal((await echoed).toString(), 'HELLO');
  });
}

test('a v2 LOCAL header (a load balancer\'s health check) is accepted and the peer is the client', async (t) => {
  const backend = await startRecordingBackend(t);
  const { port } = await startCountingProxy(t, { listen: ppListener(), routes: [{ path: '/', backend: `http://127.0.0.1:${backend.port}` }] });
  const local = Buffer.concat([Buffer.from(V2_SIGNATURE), Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  assert.match(await exchange(t, port, [local, GET('/health')]), /^HTTP\/1\.1 200 /);
  assert.deepEqual(headerValues(backend.heads[0]!, 'x-forwarded-for'), ['127.0.0.1']);
});

test('hash stickiness on the client address picks by the PROXY address, on both paths', async (t) => {
  const names = ['m0', 'm1', 'm2'];
  const ports = await Promise.all(names.map((n) => startNamedBackend(t, n)));
  const { port } = await startCountingProxy(t, {
    listen: ppListener(),
    balancers: { b: { strategy: 'hash', hash: { on: 'ip' }, members: ports.map((p) => ({ url: `ws://127.0.0.1:${p}` })), upgrade: 'websocket' } },
    routes: [{ path: '/', backend: 'balancer://b/' }],
  });
  const memberOf = async (source: string): Promise<string> => {
    // The answer is chunked: "2\r\nm1\r\n0\r\n\r\n".
    const text = await exchange(t, port, [v1(source) + GET('/')], (b) => /\r\n0\r\n\r\n$/.test(b.toString('latin1')));
    const name = /\r\n(m\d)\r\n/.exec(text)?.[1];
    if (name === undefined) throw new Error(`no member name in ${JSON.stringify(text)}`);
    return name;
  };
  const sources = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6', '192.0.2.7', '192.0.2.8'];
  const picked = new Map<string, string>();
  for (const s of sources) picked.set(s, await memberOf(s));
  // Every connection comes from 127.0.0.1: only the PROXY address can spread them over members.
  assert.ok(new Set(picked.values()).size >= 2, `all sources went to one member: ${JSON.stringify([...picked])}`);
  for (const s of sources.slice(0, 3)) assert.equal(await memberOf(s), picked.get(s), `${s} moved`);
  // The upgrade path hashes the same address to the same member: its greeting follows the 101.
  const source = sources[0]!;
  const tunnel = await exchange(t, port, [v2(source), wsHandshake('/')], (b) => /m\d$/.test(b.toString('latin1')));
  assert.match(tunnel, /^HTTP\/1\.1 101 /);
  assert.equal(tunnel.slice(-2), picked.get(source));
});

/** A raw connection that writes `header`, then speaks TLS over the same socket. */
async function tlsAfterHeader(t: TestContext, port: number, header: string | Buffer): Promise<tls.TLSSocket> {
  const raw = net.connect({ port, host: '127.0.0.1' });
  raw.on('error', () => undefined);
  t.after(() => raw.destroy());
  await once(raw, 'connect');
  raw.write(header);
  const secure = tls.connect({ socket: raw, rejectUnauthorized: false });
  secure.on('error', () => undefined);
  await once(secure, 'secureConnect');
  return secure;
}

test('PROXY before TLS: the address survives the TLS socket wrapping the raw one', async (t) => {
  const backend = await startRecordingBackend(t);
  const { port } = await startCountingProxy(t, {
    listen: [
      {
        address: '127.0.0.1:0',
        proxyProtocol: { trustedSources: ['127.0.0.0/8'] },
        tls: { certFile: fixture('vhost-a-cert.pem'), keyFile: fixture('vhost-a-key.pem') },
      },
    ],
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}` }],
  });
  const secure = await tlsAfterHeader(t, port, v1('192.0.2.77'));
  secure.write(GET('/plain'));
  assert.match((await readUntil(secure, hasHead)).toString('latin1'), /^HTTP\/1\.1 200 /);
  const secureUp = await tlsAfterHeader(t, port, v2('192.0.2.78'));
  secureUp.write(wsHandshake('/up'));
  assert.match((await readUntil(secureUp, hasHead)).toString('latin1'), /^HTTP\/1\.1 101 /);
  assert.deepEqual(backend.heads.map((h) => headerValues(h, 'x-forwarded-for')[0]), ['192.0.2.77', '192.0.2.78']);
  assert.deepEqual(backend.heads.map((h) => headerValues(h, 'x-forwarded-proto')[0]), ['https', 'https']);
});

test('a source outside trustedSources is closed without an answer and counted', async (t) => {
  const backend = await startRecordingBackend(t);
  const { port, errors } = await startCountingProxy(t, { listen: ppListener(), routes: [{ path: '/', backend: `http://127.0.0.1:${backend.port}` }] });
  const r = await sendAndCollect(t, port, [v1('203.0.113.9') + GET('/')], '127.0.0.2');
  assert.equal(r.text, '');
  assert.deepEqual(errors, ['WSP_PROXY_UNTRUSTED_SOURCE']);
  assert.equal(backend.heads.length, 0);
});

test('malformed, missing, truncated and slow headers are closed and counted; the listener keeps serving', async (t) => {
  const backend = await startRecordingBackend(t);
  const { port, errors } = await startCountingProxy(t, {
    listen: ppListener({ headerTimeoutMs: 150 }),
    routes: [{ path: '/', backend: `http://127.0.0.1:${backend.port}` }],
  });
  assert.equal((await sendAndCollect(t, port, ['PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n', GET('/')])).text, '');
  assert.equal((await sendAndCollect(t, port, [GET('/')])).text, '', 'a request without a header');
  assert.equal((await sendAndCollect(t, port, [Buffer.concat([Buffer.from(V2_SIGNATURE), Buffer.from([0x21, 0x11, 0, 12, 1, 2])])])).text, '', 'slow');
  const truncated = net.connect({ port, host: '127.0.0.1' });
  truncated.on('error', () => undefined);
  t.after(() => truncated.destroy());
  await once(truncated, 'connect');
  truncated.end('PROXY TCP4 192.0.2.1');
  await closed(truncated);
  // A port probe that connects and leaves is not an error.
  const probe = net.connect({ port, host: '127.0.0.1' });
  probe.on('error', () => undefined);
  await once(probe, 'connect');
  probe.end();
  await closed(probe);
  assert.deepEqual(errors, ['WSP_PROXY_HEADER_INVALID', 'WSP_PROXY_HEADER_INVALID', 'WSP_PROXY_HEADER_TIMEOUT', 'WSP_PROXY_HEADER_INVALID']);
  assert.equal(backend.heads.length, 0);
  assert.match(await exchange(t, port, [v1('192.0.2.1') + GET('/after')]), /^HTTP\/1\.1 200 /);
});
