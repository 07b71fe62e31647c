// Balancers under the worker engine: member state lives in shared memory, so least-connections counts
// tunnels of every worker thread, and a drain ordered through the admin endpoint (here via the CLI)
// reaches all of them at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, spawnProxy } from '../helpers/cli.js';
import { nextMessage, openWs, startWsBackend } from '../helpers/peers.js';
import { testTunnelEngine } from '../helpers/proxy.js';

test('bybusyness is global across 2 workers, and a CLI drain sends a member no new tunnels', async (t) => {
  const a = await startWsBackend(t, {}, (ws) => ws.on('message', (d: Buffer) => ws.send(`A:${d.toString()}`)));
  const b = await startWsBackend(t, {}, (ws) => ws.on('message', (d: Buffer) => ws.send(`B:${d.toString()}`)));
  const { port, admin } = await spawnProxy(
    t,
    {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      log: { level: 'warn' },
      // native with CI=true: busyness counts native tunnels of every worker
      tunnel: { engine: testTunnelEngine() },
      routes: [{ path: '/', backend: 'balancer://pool/' }],
      balancers: {
        pool: {
          strategy: 'bybusyness',
          members: [{ url: `ws://127.0.0.1:${a.port}/` }, { url: `ws://127.0.0.1:${b.port}/` }],
        },
      },
    },
    { args: ['--workers', '2'] },
  );
  // Open one at a time: each pick sees every tunnel already open, whichever worker holds it.
  const sockets = [];
  for (let i = 0; i < 20; i++) sockets.push(await openWs(t, `ws://127.0.0.1:${port}/`));
  const counts = { A: 0, B: 0 };
  for (const ws of sockets) {
    const reply = nextMessage(ws);
    ws.send('who');
    counts[(await reply).data.toString().slice(0, 1) as 'A' | 'B']++;
  }
  t.diagnostic(`20 tunnels over 2 workers: A ${counts.A}, B ${counts.B}`);
  assert.ok(Math.abs(counts.A - counts.B) <= 2, `least-connections across threads: ${counts.A}/${counts.B}`);

  const drain = await runCli(['member', '--admin', admin!, '--balancer', 'pool', '--member', `ws://127.0.0.1:${a.port}/`, '--state', 'draining']);
  assert.equal(drain.code, 0, drain.stderr);
  assert.match(drain.stdout, /draining/);
  for (let i = 0; i < 10; i++) {
    const ws = await openWs(t, `ws://127.0.0.1:${port}/`);
    const reply = nextMessage(ws);
    ws.send('new');
    assert.equal((await reply).data.toString(), 'B:new', 'a draining member got a new tunnel');
  }
  // Tunnels already on the drained member keep working.
  for (const ws of sockets) {
    const reply = nextMessage(ws);
    ws.send('still');
    assert.match((await reply).data.toString(), /^[AB]:still$/);
  }
  const list = await runCli(['members', '--admin', admin!]);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /draining/);
  assert.match(list.stdout, /active/);
});
