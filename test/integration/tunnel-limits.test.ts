// Tunnel limits on one thread, each at its edge: N tunnels open, N+1 refused with its status, code and
// Retry-After, and the slot back once a tunnel closes (on both engines: a native tunnel closes in C and
// reports to JS) or once a handshake fails. Concurrent handshakes race for the last slots.
// Several threads sharing the counts: test/serial/limits-workers.test.ts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { rawExchange, refusedPort, statusOf, wsHandshake } from '../helpers/peers.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { scriptedBackend, switchEchoBackend } from '../helpers/scripted-backend.js';
import { ENGINES, skipFor } from '../helpers/engines.js';
import { pollUntil } from '../helpers/poll.js';


interface Answer {
  readonly status: number;
  readonly head: string;
  readonly socket: net.Socket;
}

async function upgrade(t: TestContext, port: number, path = '/', extra: Record<string, string> = {}): Promise<Answer> {
  const { head, socket } = await rawExchange(t, port, wsHandshake(path, extra));
  socket.on('error', () => undefined);
  return { status: statusOf(head), head, socket };
}

function assertRefused(a: Answer, status: number, code: string, retryAfter?: string): void {
  assert.equal(a.status, status, a.head);
  assert.match(a.head, new RegExp(`\\r\\nX-Wspass-Error: ${code}\\r\\n`, 'i'));
  if (retryAfter !== undefined) assert.match(a.head, new RegExp(`\\r\\nRetry-After: ${retryAfter}\\r\\n`, 'i'));
}

/** Bounded poll: a tunnel's close is reported by its engine without an event the test can wait on. */
async function tunnelsDownTo(p: TestProxy, n: number): Promise<void> {
  await pollUntil(() => p.proxy.tunnelCount <= n, () => `at most ${n} tunnels (${p.proxy.tunnelCount})`, { everyMs: 5 });
  assert.equal(p.proxy.tunnelCount, n);
}

for (const engine of ENGINES) {
  test(`[${engine}] limits.maxTunnels: N open, N+1 gets 503 WSP_LIMIT_TUNNELS; a closed tunnel gives its slot back`, { skip: skipFor(engine) }, async (t) => {
    const backend = await switchEchoBackend(t, 'hi');
    const p = await startProxy(t, {
      tunnel: { engine },
      limits: { maxTunnels: 3, retryAfterS: 7 },
      routes: [{ name: 'a', path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
    });
    const open = [await upgrade(t, p.port), await upgrade(t, p.port), await upgrade(t, p.port)];
    for (const a of open) assert.equal(a.status, 101, a.head);
    assertRefused(await upgrade(t, p.port), 503, 'WSP_LIMIT_TUNNELS', '7');
    open[1]!.socket.destroy();
    await tunnelsDownTo(p, 2);
    assert.equal((await upgrade(t, p.port)).status, 101);
    assertRefused(await upgrade(t, p.port), 503, 'WSP_LIMIT_TUNNELS');
  });

  test(`[${engine}] twelve concurrent handshakes for five slots: exactly five tunnels`, { skip: skipFor(engine) }, async (t) => {
    const backend = await switchEchoBackend(t, 'hi');
    const p = await startProxy(t, {
      tunnel: { engine },
      limits: { maxTunnels: 5 },
      routes: [{ name: 'a', path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
    });
    const answers = await Promise.all(Array.from({ length: 12 }, () => upgrade(t, p.port)));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [101, 101, 101, 101, 101, 503, 503, 503, 503, 503, 503, 503]);
    assert.equal(p.proxy.tunnelCount, 5);
  });
}

test('route maxTunnels: counted per route, 503 WSP_LIMIT_ROUTE, other routes unaffected', async (t) => {
  const backend = await switchEchoBackend(t, 'hi');
  const url = `ws://127.0.0.1:${backend.port}/`;
  const p = await startProxy(t, {
    routes: [
      { name: 'small', path: '/small', backend: url, maxTunnels: 2 },
      { name: 'big', path: '/', backend: url },
    ],
  });
  assert.equal((await upgrade(t, p.port, '/small')).status, 101);
  const second = await upgrade(t, p.port, '/small');
  assert.equal(second.status, 101);
  assertRefused(await upgrade(t, p.port, '/small'), 503, 'WSP_LIMIT_ROUTE', '1');
  assert.equal((await upgrade(t, p.port, '/other')).status, 101);
  second.socket.destroy();
  await tunnelsDownTo(p, 2);
  assert.equal((await upgrade(t, p.port, '/small')).status, 101);
});

test('member maxTunnels: a full member is passed over; all full gets 503 WSP_LIMIT_MEMBER', async (t) => {
  const a = await switchEchoBackend(t, 'A');
  const b = await switchEchoBackend(t, 'B');
  const p = await startProxy(t, {
    limits: { retryAfterS: 3 },
    balancers: {
      pool: {
        members: [
          { url: `ws://127.0.0.1:${a.port}`, maxTunnels: 1 },
          { url: `ws://127.0.0.1:${b.port}`, maxTunnels: 2 },
        ],
      },
    },
    routes: [{ name: 'lb', path: '/', backend: 'balancer://pool/' }],
  });
  const answers = [await upgrade(t, p.port), await upgrade(t, p.port), await upgrade(t, p.port)];
  for (const x of answers) assert.equal(x.status, 101, x.head);
  assert.equal(a.heads.length, 1, 'member A took one');
  assert.equal(b.heads.length, 2, 'member B took two');
  assertRefused(await upgrade(t, p.port), 503, 'WSP_LIMIT_MEMBER', '3');
});

test('limits.perClient.maxTunnels: 429 WSP_LIMIT_CLIENT_TUNNELS for the same address', async (t) => {
  const backend = await switchEchoBackend(t, 'hi');
  const p = await startProxy(t, {
    limits: { perClient: { maxTunnels: 2 } },
    routes: [{ name: 'a', path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
  });
  const first = await upgrade(t, p.port);
  assert.equal(first.status, 101);
  assert.equal((await upgrade(t, p.port)).status, 101);
  assertRefused(await upgrade(t, p.port), 429, 'WSP_LIMIT_CLIENT_TUNNELS', '1');
  first.socket.destroy();
  await tunnelsDownTo(p, 1);
  assert.equal((await upgrade(t, p.port)).status, 101);
});

test('limits.perClient.handshakesPerSecond: the burst passes, the next gets 429 WSP_LIMIT_CLIENT_RATE', async (t) => {
  const backend = await switchEchoBackend(t, 'hi');
  const p = await startProxy(t, {
    // One token a minute: the burst is all this test can use, whatever the machine's speed.
    limits: { perClient: { handshakesPerSecond: 1 / 60, burst: 3 } },
    routes: [{ name: 'a', path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
  });
  for (let i = 0; i < 3; i++) assert.equal((await upgrade(t, p.port)).status, 101);
  const refused = await upgrade(t, p.port);
  assertRefused(refused, 429, 'WSP_LIMIT_CLIENT_RATE');
  const wait = Number(/\r\nRetry-After: (\d+)\r\n/i.exec(refused.head)?.[1]);
  assert.ok(wait > 50 && wait <= 60, `Retry-After ${wait}: when the next token comes`);
});

test('allowedOrigins: a listed Origin (any case) is tunnelled, another gets 403 WSP_ORIGIN_FORBIDDEN, none passes', async (t) => {
  const backend = await switchEchoBackend(t, 'hi');
  const p = await startProxy(t, {
    limits: { maxTunnels: 10 },
    routes: [{ name: 'a', path: '/', backend: `ws://127.0.0.1:${backend.port}/`, allowedOrigins: ['https://app.example.com'] }],
  });
  assert.equal((await upgrade(t, p.port, '/', { Origin: 'https://APP.example.com' })).status, 101);
  assertRefused(await upgrade(t, p.port, '/', { Origin: 'https://evil.example.net' }), 403, 'WSP_ORIGIN_FORBIDDEN');
  assert.equal((await upgrade(t, p.port)).status, 101);
  assert.equal(backend.heads.length, 2, 'the refused request never reached the backend');
});

test('a handshake that fails gives its slot back: dead backend, then a declined upgrade', async (t) => {
  const dead = await refusedPort();
  const declining = await scriptedBackend(t, (s) => s.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  const live = await switchEchoBackend(t, 'hi');
  const p = await startProxy(t, {
    limits: { maxTunnels: 1, perClient: { maxTunnels: 1 } },
    routes: [
      { name: 'dead', path: '/dead', backend: `ws://127.0.0.1:${dead}/` },
      { name: 'declining', path: '/declining', backend: `ws://127.0.0.1:${declining.port}/` },
      { name: 'live', path: '/', backend: `ws://127.0.0.1:${live.port}/` },
    ],
  });
  for (let i = 0; i < 2; i++) assertRefused(await upgrade(t, p.port, '/dead'), 503, 'WSP_BACKEND_REFUSED');
  for (let i = 0; i < 2; i++) assert.equal((await upgrade(t, p.port, '/declining')).status, 403);
  assert.equal((await upgrade(t, p.port)).status, 101, 'every slot came back');
  assertRefused(await upgrade(t, p.port), 429, 'WSP_LIMIT_CLIENT_TUNNELS');
});
