// A route with `respond` answers a fixed status instead of proxying: on the plain path, and on the upgrade
// path with that status and never a 101; the backend never hears of the request, later routes still serve
// what the fixed answer does not match, and the answer is logged with WSP_FIXED_STATUS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { ProxyServer } from '../../src/server/proxy-server.js';
import { nextMessage, openWs, rawExchange, startWsBackend, statusOf, wsHandshake } from '../helpers/peers.js';

test('respond: the status on the plain and the upgrade path, a later route serving the rest, each answer logged', async (t) => {
  const backend = await startWsBackend(t);
  const logged: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line) as Record<string, unknown>) });
  const config = configSchema.parse({
    listen: '127.0.0.1:0',
    routes: [
      { name: 'broken', path: '/broken/', respond: { status: 500 } },
      // Only upgrade requests: a plain request to /upgrades-off/ goes on to the catch-all.
      { path: '/upgrades-off/', when: { header: { upgrade: 'websocket' } }, respond: { status: 400 } },
      { path: '/', backend: `ws://127.0.0.1:${backend.port}/` },
    ],
  });
  const proxy = new ProxyServer(config, { log });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  const port = addr!.port;

  const plain = await fetch(`http://127.0.0.1:${port}/broken/x`);
  assert.equal(plain.status, 500);
  assert.equal(plain.headers.get('x-wspass-error'), 'WSP_FIXED_STATUS');
  assert.equal(plain.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.match(await plain.text(), /^500 Internal Server Error: the route answers a fixed status .*\(WSP_FIXED_STATUS\)\n$/);

  const upgrade = await rawExchange(t, port, wsHandshake('/broken/x'));
  assert.equal(statusOf(upgrade.head), 500, upgrade.head);
  assert.match(upgrade.head, /X-Wspass-Error: WSP_FIXED_STATUS/);
  assert.doesNotMatch(upgrade.head, /Upgrade: websocket/i, 'no switch is offered');

  const refused = await rawExchange(t, port, wsHandshake('/upgrades-off/a'));
  assert.equal(statusOf(refused.head), 400);
  assert.match(refused.rest.toString(), /^400 Bad Request: .*\(WSP_FIXED_STATUS\)/);
  assert.equal(backend.requests.length, 0, 'the backend never hears of a fixed answer');

  // What the fixed answers do not match is proxied as before.
  const passed = await fetch(`http://127.0.0.1:${port}/upgrades-off/a`);
  assert.equal(passed.status, 200, 'a plain request there reaches the backend');
  assert.equal(passed.headers.get('x-wspass-error'), null);
  await passed.text();
  const ws = await openWs(t, `ws://127.0.0.1:${port}/chat`);
  ws.send('hello');
  assert.equal((await nextMessage(ws)).data.toString(), 'hello');

  const fixed = logged.filter((l) => l.code === 'WSP_FIXED_STATUS');
  assert.deepEqual(
    fixed.map((l) => [l.status, l.route, l.url]),
    [
      [500, 'broken', '/broken/x'],
      [500, 'broken', '/broken/x'],
      [400, '/upgrades-off/', '/upgrades-off/a'],
    ],
  );
});

test('respond takes no backend, exclusion or reverse, and a status from 400 to 599', () => {
  const issues = (route: Record<string, unknown>) => {
    const r = configSchema.safeParse({ listen: ':0', routes: [{ path: '/', ...route }] });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.deepEqual(issues({ respond: { status: 500 } }), []);
  assert.deepEqual(issues({ respond: { status: 500 }, backend: 'ws://b/' }), ['routes.0.backend: a route with `respond` answers itself and proxies nowhere: remove `backend`']);
  assert.deepEqual(issues({ respond: { status: 404 }, exclude: true }), ['routes.0.exclude: a route with `respond` answers itself and proxies nowhere: remove `exclude`']);
  assert.equal(issues({ respond: { status: 200 } }).length, 1);
  assert.equal(issues({ respond: { status: 600 } }).length, 1);
});
