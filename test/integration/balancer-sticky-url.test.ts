// Stickiness from the URL through the real proxy: the sticky parameter (query or ;path parameter) wins
// over the cookie, as Apache's stickysession does, on the plain and the upgrade path; the cookie wspass
// sets has Apache's ".route" form and keeps the client on its member.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../helpers/proxy.js';
import { nextMessage, openWs, startWsBackend } from '../helpers/peers.js';

/** A member that answers its name: over plain HTTP, and to every WebSocket message. */
async function member(t: TestContext, name: string): Promise<string> {
  const b = await startWsBackend(t, {}, (ws) => ws.on('message', () => ws.send(name)), {
    onRequest: (_req, res) => res.end(name),
  });
  return `ws://127.0.0.1:${b.port}`;
}

async function get(base: string, path: string, cookie?: string): Promise<{ body: string; setCookie: string[] }> {
  const res = await fetch(`${base}${path}`, { headers: cookie === undefined ? {} : { cookie } });
  return { body: await res.text(), setCookie: res.headers.getSetCookie() };
}

test('the sticky URL parameter picks the member before the cookie; wspass sets "NAME=.route"', async (t) => {
  const [a, b] = await Promise.all([member(t, 'a'), member(t, 'b')]);
  const { httpBase, wsBase } = await startProxy(t, {
    routes: [{ path: '/', backend: 'balancer://pool/' }],
    balancers: { pool: { sticky: { cookie: 'ROUTEID' }, members: [{ url: a, route: 'a' }, { url: b, route: 'b' }] } },
  });
  for (let i = 0; i < 3; i++) {
    assert.equal((await get(httpBase, '/x?ROUTEID=s1.b', 'ROUTEID=.a')).body, 'b');
    assert.equal((await get(httpBase, '/x;ROUTEID=s1.a?q=1', 'ROUTEID=.b')).body, 'a');
  }
  const ws = await openWs(t, `${wsBase}/chat?ROUTEID=s9.b`, undefined, { headers: { cookie: 'ROUTEID=.a' } });
  ws.send('who');
  assert.equal((await nextMessage(ws)).data.toString(), 'b');
  // No parameter and no cookie: the strategy picks, and the cookie it sets brings the client back.
  const first = await get(httpBase, '/x');
  const set = first.setCookie.find((c) => c.startsWith('ROUTEID='));
  assert.match(set ?? '', /^ROUTEID=\.[ab]; Path=\/; HttpOnly; SameSite=Lax$/);
  const pair = set!.split(';')[0]!;
  for (let i = 0; i < 4; i++) {
    const again = await get(httpBase, '/x', pair);
    assert.equal(again.body, first.body);
    assert.deepEqual(again.setCookie.filter((c) => c.startsWith('ROUTEID=')), []);
  }
});
