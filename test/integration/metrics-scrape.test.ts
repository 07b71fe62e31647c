// The metrics as a scrape shows them, taken while tunnels are open and after they closed, on both tunnel
// engines: open tunnels by route and worker, the handshake histogram's counts by outcome equal to the
// handshakes made, close reasons, bytes by route and balancer member, labels of unnamed routes. And the
// error counter adds up: every refusal a client received is counted under its code.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { ERRORS, type ErrorCode } from '../../src/errors.js';
import { echoThrough, readUntil, refusedPort, startHttpBackend, wsHandshake } from '../helpers/peers.js';
import { observedProxy } from '../helpers/observed-proxy.js';
import { chatBackend, tunnel } from '../helpers/chat-backend.js';
import { scriptedBackend } from '../helpers/scripted-backend.js';
import { ENGINES, skipFor } from '../helpers/engines.js';


/** Sends an upgrade request that does not become a tunnel; resolves with the status. */
async function refusedUpgrade(t: TestContext, port: number, path: string): Promise<number> {
  const s = net.connect({ port, host: '127.0.0.1' });
  s.on('error', () => undefined);
  t.after(() => s.destroy());
  s.write(wsHandshake(path));
  const got = (await readUntil(s, (b) => b.includes('\r\n\r\n'))).toString('latin1');
  s.destroy();
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1]);
}

for (const engine of ENGINES) {
  test(`${engine}: a scrape with tunnels open counts what the test opened; handshakes by outcome; closes, bytes by member`, { skip: skipFor(engine) }, async (t) => {
    const backend = await chatBackend(t);
    const declining = await scriptedBackend(t, (s) => s.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
    const dead = await refusedPort();
    const member = `ws://127.0.0.1:${backend.port}/`;
    const p = await observedProxy(t, {
      tunnel: { engine },
      balancers: { pool: { members: [{ url: member }] } },
      routes: [
        { name: 'ws', path: '/ws/', backend: member },
        { name: 'lb', path: '/lb/', backend: 'balancer://pool/' },
        { name: 'refused', path: '/refused/', backend: `ws://127.0.0.1:${dead}/` },
        { name: 'declined', path: '/declined/', backend: `ws://127.0.0.1:${declining.port}/` },
        { path: '/anon/', backend: member },
      ],
    });

    const ws = [await tunnel(t, p.port, '/ws/a'), await tunnel(t, p.port, '/ws/b'), await tunnel(t, p.port, '/ws/c')];
    const lb = [await tunnel(t, p.port, '/lb/a'), await tunnel(t, p.port, '/lb/b')];
    const anon = await tunnel(t, p.port, '/anon/');
    assert.equal(await refusedUpgrade(t, p.port, '/refused/x'), 503);
    assert.equal(await refusedUpgrade(t, p.port, '/refused/y'), 503);
    assert.equal(await refusedUpgrade(t, p.port, '/declined/x'), 403);

    const open = await p.scrape();
    assert.equal(open.get('wspass_tunnels_active', { route: 'ws' }), 3);
    assert.equal(open.get('wspass_tunnels_active', { route: 'lb' }), 2);
    assert.equal(open.get('wspass_tunnels_active', { route: '/anon/' }), 1, 'an unnamed route is labelled by its path');
    assert.equal(open.get('wspass_worker_tunnels_active', { worker: '0' }), 6);
    assert.equal(open.get('wspass_worker_tunnels_opened_total', { worker: '0' }), 6);
    assert.equal(open.get('wspass_worker_info', { worker: '0', engine }), 1);
    const hs = (outcome: string) => open.get('wspass_handshake_duration_seconds_count', { outcome });
    assert.deepEqual(
      { success: hs('success'), refused: hs('backend_refused'), non101: hs('backend_non101') },
      { success: 6, refused: 2, non101: 1 },
    );
    assert.equal(open.get('wspass_handshake_duration_seconds_count'), 9, 'no handshake counted twice or under another outcome');
    assert.equal(open.get('wspass_handshake_duration_seconds_bucket', { outcome: 'success', le: '+Inf' }), 6);
    assert.ok(open.get('wspass_handshake_duration_seconds_sum', { outcome: 'success' }) > 0);
    assert.equal(open.get('wspass_member_tunnels_active', { balancer: 'pool', member }), 2);
    assert.equal(open.get('wspass_member_up', { balancer: 'pool', member }), 1);
    assert.equal(open.get('wspass_errors_total', { code: 'WSP_BACKEND_REFUSED' }), 2);

    // Bytes through the balancer's tunnels, then every tunnel ends: the client closes /ws/, the backend /lb/.
    assert.equal(await echoThrough(lb[0]!, 'x'.repeat(1000)), 'x'.repeat(1000));
    assert.equal(await echoThrough(lb[1]!, 'y'.repeat(500)), 'y'.repeat(500));
    for (const s of [...ws, anon]) s.end();
    for (const s of lb) s.write('bye');
    await Promise.all([...ws, ...lb, anon].map((s) => (s.closed ? Promise.resolve() : once(s, 'close'))));
    await p.linesWhen((l) => l.msg === 'tunnel closed', 6);

    const closed = await p.scrape();
    assert.equal(closed.get('wspass_tunnels_active'), 0);
    assert.equal(closed.get('wspass_tunnel_closes_total', { route: 'ws', reason: 'client-closed' }), 3);
    assert.equal(closed.get('wspass_tunnel_closes_total', { route: 'lb', reason: 'backend-closed' }), 2);
    assert.equal(closed.get('wspass_tunnel_closes_total', { route: '/anon/', reason: 'client-closed' }), 1);
    assert.equal(closed.get('wspass_tunnel_duration_seconds_count'), 6);
    // Greeting (2 bytes each) and echo toward the client; what the client wrote toward the backend.
    assert.equal(closed.get('wspass_route_member_bytes_total', { route: 'lb', member, direction: 'to_backend' }), 1500 + 6);
    assert.equal(closed.get('wspass_route_member_bytes_total', { route: 'lb', member, direction: 'to_client' }), 1500 + 4);
    assert.equal(closed.get('wspass_route_member_bytes_total', { route: 'lb', member, direction: 'to_client' }), closed.get('wspass_tunnel_bytes_total', { route: 'lb', direction: 'to_client' }));
    assert.deepEqual(closed.values('wspass_route_member_bytes_total', 'route'), ['lb'], 'only balancer routes have member bytes');
  });
}

for (const engine of ENGINES) {
  test(`${engine}: an open tunnel's echoed messages show in wspass_tunnel_writes_total once flushed, and its close adds none twice`, { skip: skipFor(engine) }, async (t) => {
    const backend = await chatBackend(t);
    const p = await observedProxy(t, { tunnel: { engine }, routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
    const s = await tunnel(t, p.port, '/chat');
    const messages = 20;
    // Strict ping-pong: nothing to coalesce, each message is one write toward the backend and one back.
    for (let i = 0; i < messages; i++) assert.equal(await echoThrough(s, `message ${i}`), `message ${i}`);
    p.flushStats();
    const open = await p.scrape();
    const other = engine === 'native' ? 'js' : 'native';
    const writes = open.get('wspass_tunnel_writes_total', { engine });
    // The greeting that came with the 101 may be one more write toward the client.
    assert.ok(writes >= 2 * messages && writes <= 2 * messages + 1, `${engine} writes while open: ${writes}`);
    assert.equal(open.get('wspass_tunnel_writes_total', { engine: other }), 0);

    s.end();
    await once(s, 'close');
    await p.linesWhen((l) => l.msg === 'tunnel closed', 1);
    p.flushStats();
    const closed = await p.scrape();
    assert.equal(closed.get('wspass_tunnel_writes_total', { engine }), writes, 'the close report holds the writes already counted');
  });
}

/** Sends `raw` (then FIN when `fin`), reads until the proxy closes; the status of every answer it sent. */
async function statuses(t: TestContext, port: number, raw: string, fin = false): Promise<number[]> {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  s.on('error', () => undefined);
  t.after(() => s.destroy());
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  s.write(raw);
  if (fin) s.end();
  await once(s, 'end');
  return [...Buffer.concat(chunks).toString('latin1').matchAll(/(?:^|\r\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

test('every refusal a client received is counted under its code: parser 400/431/408, head checks, a body cut short', async (t) => {
  const plain = await startHttpBackend(t, (req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  const p = await observedProxy(t, {
    headTimeoutMs: 300,
    maxHeaderBytes: 4096,
    routes: [{ path: '/', backend: `http://127.0.0.1:${plain.port}/` }],
  });
  const cases: [string, string, boolean?][] = [
    ['parser: a header line without a colon', 'GET / HTTP/1.1\r\nHost: p.test\r\nno colon here\r\n\r\n'],
    ['parser: a bad method', 'G@T / HTTP/1.1\r\nHost: p.test\r\n\r\n'],
    ['parser: a head beyond maxHeaderBytes', `GET / HTTP/1.1\r\nHost: p.test\r\nX-Big: ${'a'.repeat(6000)}\r\n\r\n`],
    ['parser: a head never finished', 'GET / HTTP/1.1\r\nHost: p.test\r\n'],
    ['head check: no Host', 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n'],
    ['head check: Content-Length and Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: p.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a body cut short by the client FIN', 'POST / HTTP/1.1\r\nHost: p.test\r\nContent-Length: 10\r\n\r\nabc', true],
    ['garbage pipelined after a request', 'GET / HTTP/1.1\r\nHost: p.test\r\n\r\n\x01\x02 garbage\r\n\r\n'],
    ['CONNECT', 'CONNECT p.test:443 HTTP/1.1\r\nHost: p.test:443\r\n\r\n'],
  ];
  const received = new Map<number, number>();
  for (const [what, raw, fin] of cases) {
    const got = await statuses(t, p.port, raw, fin);
    t.diagnostic(`${what}: ${got.join(",")}`);
    assert.ok(got.length > 0, `${what}: answered`);
    for (const s of got) received.set(s, (received.get(s) ?? 0) + 1);
  }
  assert.deepEqual([...received.keys()].sort(), [400, 405, 408, 431], 'the cases cover these answers');

  const scrape = await p.scrape();
  const counted = new Map<number, number>();
  for (const code of scrape.values('wspass_errors_total', 'code')) {
    const status = ERRORS[code as ErrorCode].status;
    // Status 0: a failure nobody was answered for (a client gone mid-request, WSP_CLIENT_ERROR).
    if (status === 0) continue;
    counted.set(status, (counted.get(status) ?? 0) + scrape.get('wspass_errors_total', { code }));
  }
  assert.deepEqual(Object.fromEntries(counted), Object.fromEntries(received), 'refusals counted by status = refusals received');
  assert.equal(scrape.get('wspass_errors_total', { code: 'WSP_HEAD_TIMEOUT' }), 1);
  assert.equal(scrape.get('wspass_errors_total', { code: 'WSP_HEADERS_TOO_LARGE' }), 1);
});
