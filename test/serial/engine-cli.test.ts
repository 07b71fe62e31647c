// The engine's edges from the command line: a start that cannot bind, and
// `wspass reload` / `wspass status` talking to the admin endpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { runCli, spawnProxy, tempFile } from '../helpers/cli.js';
import { nextMessage, openWs, startWsBackend } from '../helpers/peers.js';

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
  assert.match(r.stdout, /worker 0 failed to start: listen EADDRINUSE/);
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
  const unreachable = await runCli(['status', '--admin', 'http://127.0.0.1:1']);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /cannot reach the admin endpoint/);
});
