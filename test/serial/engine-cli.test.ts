// The engine's edges from the command line: a start that cannot bind (a listener, the admin port, a port
// another wspass serves), and `wspass reload` / `wspass status` talking to the admin endpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { runCli, spawnProxy, tempFile } from '../helpers/cli.js';
import { nextMessage, openWs, rawExchange, startWsBackend, statusOf } from '../helpers/peers.js';

test('a listener that cannot be bound stops the start with exit 1 and the reason', async (t) => {
  const busy = net.createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  t.after(() => {
    busy.close();
  });
  const port = (busy.address() as net.AddressInfo).port;
  const file = tempFile(t, 'busy.json', JSON.stringify({ listen: `127.0.0.1:${port}`, routes: [{ path: '/', backend: 'ws://127.0.0.1:9/' }] }));
  const r = await runCli(['run', '--config', file, '--workers', '2']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`"err":"127\\.0\\.0\\.1:${port} is already in use[^\n]*"msg":"cannot start"`));
});

test('wspass reload and wspass status reach a running wspass through its admin endpoint', async (t) => {
  const a = await startWsBackend(t, {}, (ws) => ws.on('message', (d: Buffer) => ws.send(`A:${d.toString()}`)));
  const b = await startWsBackend(t, {}, (ws) => ws.on('message', (d: Buffer) => ws.send(`B:${d.toString()}`)));
  const config = (backend: number, adminPort: number) => ({
    listen: '127.0.0.1:0',
    admin: { listen: `127.0.0.1:${adminPort}` },
    log: { level: 'warn' },
    routes: [{ name: 'r', path: '/', backend: `ws://127.0.0.1:${backend}/` }],
  });
  const { port, admin, file } = await spawnProxy(t, config(a.port, 0), { args: ['--workers', '1'] });
  // The CLI finds the admin endpoint from the config file: write the real admin port into it.
  const adminPort = Number(new URL(admin!).port);
  writeFileSync(file, JSON.stringify(config(b.port, adminPort)));
  const reload = await runCli(['reload', '--config', file]);
  assert.equal(reload.code, 0, reload.stderr);
  const ws = await openWs(t, `ws://127.0.0.1:${port}/`);
  const reply = nextMessage(ws);
  ws.send('hi');
  assert.equal((await reply).data.toString(), 'B:hi');
  const status = await runCli(['status', '--admin', admin!]);
  assert.equal(status.code, 0);
  const parsed = JSON.parse(status.stdout) as { workers: { state: string }[]; counters: { routes: { r: { activeTunnels: number } } } };
  assert.equal(parsed.workers[0]!.state, 'ready');
  assert.equal(parsed.counters.routes.r.activeTunnels, 1);
  // A request target the admin endpoint cannot parse is the client's mistake: 400, not 500.
  assert.equal(statusOf((await rawExchange(t, adminPort, 'GET //[ HTTP/1.1\r\nHost: a\r\n\r\n')).head), 400);
  assert.equal(statusOf((await rawExchange(t, adminPort, 'POST /balancers/%zz/members/x?state=active HTTP/1.1\r\nHost: a\r\n\r\n')).head), 400);
  const unreachable = await runCli(['status', '--admin', 'http://127.0.0.1:1']);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /cannot reach the admin endpoint/);
});

test('an admin port that is taken stops the start with exit 1 and the reason', async (t) => {
  const busy = net.createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  t.after(() => {
    busy.close();
  });
  const adminPort = (busy.address() as net.AddressInfo).port;
  const file = tempFile(t, 'admin-busy.json', JSON.stringify({
    listen: '127.0.0.1:0',
    admin: { listen: `127.0.0.1:${adminPort}` },
    routes: [{ path: '/', backend: 'ws://127.0.0.1:9/' }],
  }));
  // runCli resolves only when the process has exited: it does not go on serving without its admin endpoint.
  const r = await runCli(['run', '--config', file, '--workers', '1']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /EADDRINUSE[^\n]*"msg":"cannot start: the admin endpoint cannot listen"/);
});

test('a port another wspass (or any SO_REUSEPORT socket) serves is refused, not shared', async (t) => {
  const first = await spawnProxy(t, { listen: '127.0.0.1:0', log: { level: 'warn' }, routes: [{ path: '/', backend: 'ws://127.0.0.1:9/' }] }, { args: ['--workers', '1'] });
  const second = tempFile(t, 'second.json', JSON.stringify({ listen: `127.0.0.1:${first.port}`, routes: [{ path: '/', backend: 'ws://127.0.0.1:9/' }] }));
  const r = await runCli(['run', '--config', second, '--workers', '2']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${first.port} is already in use`));
  assert.equal(first.child.exitCode, null, 'the first wspass keeps running');

  const group = net.createServer();
  group.listen({ host: '127.0.0.1', port: 0, reusePort: true });
  await once(group, 'listening');
  t.after(() => {
    group.close();
  });
  const groupPort = (group.address() as net.AddressInfo).port;
  const third = tempFile(t, 'third.json', JSON.stringify({ listen: `127.0.0.1:${groupPort}`, routes: [{ path: '/', backend: 'ws://127.0.0.1:9/' }] }));
  const r3 = await runCli(['run', '--config', third, '--workers', '1']);
  assert.equal(r3.code, 1);
  assert.match(r3.stdout, /is already in use/);
});
