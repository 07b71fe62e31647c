// Consistent hashing needs no shared state: two separate `wspass run` processes with the same config
// send every key to the same member (the hash depends only on the key and the member URLs).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { spawnProxy } from '../helpers/cli.js';
import { startWsBackend } from '../helpers/peers.js';

async function startNamed(t: TestContext, name: string): Promise<string> {
  const { port } = await startWsBackend(t, {}, (ws) => ws.send(name), { onRequest: (_req, res) => res.end(name) });
  return `ws://127.0.0.1:${port}`;
}

async function wsName(t: TestContext, port: number, user: string): Promise<string> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { 'x-user': user } });
  t.after(() => ws.terminate());
  const [data] = (await once(ws, 'message')) as [Buffer];
  ws.close();
  return data.toString();
}

test('two wspass processes with one config agree on the member of every key, over HTTP and WebSocket', async (t) => {
  const urls = await Promise.all(['a', 'b', 'c'].map((n) => startNamed(t, n)));
  const config = {
    listen: '127.0.0.1:0',
    log: { level: 'warn' },
    routes: [{ path: '/', backend: 'balancer://users/' }],
    // Members listed in a different order in the second config: placement depends on URLs, not order.
    balancers: { users: { strategy: 'hash', hash: { on: 'header', name: 'x-user' }, members: urls.map((url) => ({ url })) } },
  };
  const reordered = { ...config, balancers: { users: { ...config.balancers.users, members: [...urls].reverse().map((url) => ({ url })) } } };
  const [one, two] = await Promise.all([spawnProxy(t, config), spawnProxy(t, reordered)]);
  assert.notEqual(one.child.pid, two.child.pid);
  const placed: string[] = [];
  for (let i = 0; i < 30; i++) {
    const user = `user-${i}`;
    const via = async (port: number) => (await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-user': user } })).text();
    const [p1, p2] = await Promise.all([via(one.port), via(two.port)]);
    assert.equal(p1, p2, `${user}: ${p1} vs ${p2}`);
    if (i % 5 === 0) assert.equal(await wsName(t, two.port, user), p1, `${user} over WebSocket`);
    placed.push(p1);
  }
  const counts = ['a', 'b', 'c'].map((n) => placed.filter((p) => p === n).length);
  assert.ok(counts.every((c) => c >= 3), `30 keys spread over the 3 members: ${counts.join('/')}`);
});
