// The access log, read back as JSON: one line per tunnel at its close, whichever side or rule ended it
// (client, backend, idle timeout, drain), on both tunnel engines, with an optional line at the open; one
// line per plain HTTP request; none per message; none at all with `log.access: false`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { chatBackend, tunnel } from '../helpers/chat-backend.js';
import { echoThrough, startHttpBackend } from '../helpers/peers.js';
import { observedProxy, type LogLine } from '../helpers/observed-proxy.js';
import { ENGINES, skipFor } from '../helpers/engines.js';


/** Resolves once `s` is closed (at once if it already is). */
const closed = (s: Socket): Promise<unknown> => (s.closed ? Promise.resolve() : once(s, 'close'));

const isAccess = (msg: string) => (l: LogLine) => l.access === true && l.msg === msg;

for (const engine of ENGINES) {
  test(`${engine}: a tunnel closed by the client, the backend, the idle timeout or a drain: one line each, with its fields`, { skip: skipFor(engine) }, async (t) => {
    const backend = await chatBackend(t);
    const member = `ws://127.0.0.1:${backend.port}/`;
    const p = await observedProxy(t, {
      tunnel: { engine },
      log: { tunnelOpen: true },
      balancers: { pool: { members: [{ url: member }] } },
      routes: [
        { name: 'idle', path: '/idle/', backend: member, idleTimeoutMs: 150 },
        { name: 'lb', path: '/lb/', backend: 'balancer://pool/' },
        { path: '/ws/', backend: member },
      ],
    });
    const closedLine = (url: string) => p.line((l) => isAccess('tunnel closed')(l) && l.url === url);

    const byClient = await tunnel(t, p.port, '/ws/client');
    assert.equal(await echoThrough(byClient, 'x'.repeat(300)), 'x'.repeat(300));
    assert.equal(await echoThrough(byClient, 'y'.repeat(200)), 'y'.repeat(200), 'two messages');
    byClient.end();
    const client = await closedLine('/ws/client');
    assert.deepEqual(
      { ...client, time: undefined, pid: undefined, hostname: undefined, durationMs: undefined, level: undefined },
      {
        access: true,
        msg: 'tunnel closed',
        route: '/ws/',
        url: '/ws/client',
        client: '127.0.0.1',
        upgrade: 'websocket',
        subprotocol: 'chat',
        reason: 'client-closed',
        closedBy: 'client',
        bytesToBackend: 500,
        bytesToClient: 502,
        time: undefined,
        pid: undefined,
        hostname: undefined,
        durationMs: undefined,
        level: undefined,
      },
    );
    assert.equal(typeof client.durationMs, 'number');
    assert.equal(client.level, 30, 'at level info');

    const byBackend = await tunnel(t, p.port, '/lb/backend');
    byBackend.write('bye');
    const backendLine = await closedLine('/lb/backend');
    assert.deepEqual([backendLine.reason, backendLine.closedBy, backendLine.member, backendLine.route], ['backend-closed', 'backend', member, 'lb']);

    const idle = await tunnel(t, p.port, '/idle/x');
    const idleLine = await closedLine('/idle/x');
    assert.deepEqual([idleLine.reason, idleLine.closedBy], ['idle-timeout', 'proxy']);
    assert.ok((idleLine.durationMs as number) >= 140, `idle for ${String(idleLine.durationMs)} ms`);
    await closed(idle);

    const drained = await tunnel(t, p.port, '/ws/drained');
    await p.proxy.drain({ tunnelDrainMs: 20, deadlineMs: 2_000 });
    const drainLine = await closedLine('/ws/drained');
    assert.deepEqual([drainLine.reason, drainLine.closedBy], ['drain', 'proxy']);
    await closed(drained);
    const afterDrain = await p.scrape();
    assert.deepEqual(
      [afterDrain.get('wspass_worker_draining', { worker: '0' }), afterDrain.get('wspass_worker_drain_tunnels_start', { worker: '0' })],
      [1, 1],
      'the drain and what it started with',
    );
    assert.equal(afterDrain.get('wspass_tunnel_closes_total', { route: '/ws/', reason: 'drain' }), 1);

    const opened = p.lines.filter(isAccess('tunnel opened'));
    assert.deepEqual(opened.map((l) => l.url), ['/ws/client', '/lb/backend', '/idle/x', '/ws/drained'], 'log.tunnelOpen: a line at each open');
    assert.equal(opened[1]!.member, member);
    assert.equal(p.lines.filter(isAccess('tunnel closed')).length, 4, 'one line per tunnel, none per message');
  });
}

test('a plain HTTP request: one line with route, member, status, bytes and duration; a refused one too', async (t) => {
  const plain = await startHttpBackend(t, (req, res) => {
    req.resume();
    res.end('hello from the backend');
  });
  const member = `http://127.0.0.1:${plain.port}/`;
  const p = await observedProxy(t, {
    balancers: { web: { members: [{ url: member }] } },
    routes: [{ name: 'web', path: '/web/', backend: 'balancer://web/' }],
  });
  const res = await fetch(`http://127.0.0.1:${p.port}/web/page?q=1`, { method: 'POST', body: 'abc' });
  assert.equal(await res.text(), 'hello from the backend');
  const line = await p.line(isAccess('http request'));
  assert.deepEqual(
    [line.route, line.member, line.method, line.url, line.status, line.client, line.aborted],
    ['web', member, 'POST', '/web/page?q=1', 200, '127.0.0.1', false],
  );
  assert.ok((line.bytesToClient as number) > 'hello from the backend'.length, 'head and body');
  assert.ok((line.bytesFromClient as number) > 3, 'head and body');
  assert.equal(typeof line.durationMs, 'number');

  assert.equal((await fetch(`http://127.0.0.1:${p.port}/nowhere`)).status, 404);
  const refused = await p.line((l) => isAccess('http request')(l) && l.url === '/nowhere');
  assert.deepEqual([refused.status, refused.route], [404, undefined]);
});

test('log.access: false writes no access line; the error lines stay', async (t) => {
  const p = await observedProxy(t, { log: { access: false }, routes: [{ path: '/only/', respond: { status: 503 } }] });
  assert.equal((await fetch(`http://127.0.0.1:${p.port}/nowhere`)).status, 404);
  await p.line((l) => l.code === 'WSP_NO_ROUTE');
  assert.deepEqual(p.lines.filter((l) => l.access === true), []);
});
