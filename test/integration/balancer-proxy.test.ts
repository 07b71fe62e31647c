// Balancers through the real proxy: real member backends on 127.0.0.1:0 (each answers with its name, over
// WebSocket and plain HTTP), real `ws` clients and raw sockets. Distribution per strategy with stated
// tolerances, stickiness, failover without a client-visible error, 503 + Retry-After, drain, and active
// health checks taking members out and back in.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { HealthChecker } from '../../src/balancer/health-checker.js';
import { MemberTable } from '../../src/balancer/member-table.js';
import { BalancerRegistry } from '../../src/balancer/registry.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { composeRoutes } from '../../src/server/compose-routes.js';
import { ProxyServer } from '../../src/server/proxy-server.js';
import { rawExchange, refusedPort, statusOf, wsHandshake } from '../helpers/peers.js';

interface Member {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** What /health answers. */
  healthy: boolean;
  /** Open WebSocket connections. */
  readonly sockets: Set<WebSocket>;
  /** Cookie headers of the requests it saw. */
  readonly cookies: (string | undefined)[];
  kill(): Promise<void>;
}

/** A member backend: WebSocket (sends its name, then echoes) and HTTP (answers its name) on one port. */
async function startMember(t: TestContext, name: string, port = 0): Promise<Member> {
  const sockets = new Set<WebSocket>();
  const cookies: (string | undefined)[] = [];
  const member = { name, healthy: true, sockets, cookies } as Member & { port: number; url: string; kill(): Promise<void> };
  const server = http.createServer((req, res) => {
    cookies.push(req.headers.cookie);
    if (req.url === '/health') {
      res.writeHead(member.healthy ? 200 : 503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'app=1' }).end(name);
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    cookies.push(req.headers.cookie);
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', () => ws.terminate());
    ws.send(name);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  let killed = false;
  member.kill = async () => {
    if (killed) return;
    killed = true;
    for (const ws of sockets) ws.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  t.after(() => member.kill());
  member.port = (server.address() as AddressInfo).port;
  member.url = `ws://127.0.0.1:${member.port}`;
  return member;
}

/** A proxy in this process, plus the registry and balancers over the same member table. */
async function startProxy(t: TestContext, input: Omit<ConfigInput, 'listen'>) {
  const cfg = configSchema.parse({ listen: '127.0.0.1:0', ...input });
  const events = new EventEmitter();
  // The test drives the same member table the proxy's balancers use.
  const table = new MemberTable(cfg);
  const routes = composeRoutes(cfg, { members: table });
  const proxy = new ProxyServer(cfg, {
    routes,
    log: silentLogger(),
    stats: {
      tunnelOpened: () => undefined,
      tunnelClosed: () => events.emit('tunnel-closed'),
      httpRequest: () => undefined,
      error: () => undefined,
    },
  });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  const balancers = routes.balancers;
  return { port: addr!.port, table, balancers, registry: new BalancerRegistry(table, balancers.values()), events };
}

function oneRoute(members: (string | { url: string; weight?: number; state?: 'active' | 'standby' })[], extra: Record<string, unknown> = {}) {
  return {
    routes: [{ path: '/', backend: 'balancer://pool/' }],
    balancers: { pool: { members: members.map((m) => (typeof m === 'string' ? { url: m } : m)), ...extra } },
  } as Omit<ConfigInput, 'listen'>;
}

/** Opens a WebSocket through the proxy and resolves with it and the member name it reached. */
async function connect(t: TestContext, port: number, path = '/', headers: Record<string, string> = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
  t.after(() => ws.terminate());
  let setCookie: string | undefined;
  ws.once('upgrade', (res) => {
    const v = res.headers['set-cookie'];
    setCookie = Array.isArray(v) ? v.join('\n') : v;
  });
  const first = new Promise<string>((resolve, reject) => {
    ws.once('message', (d: Buffer) => resolve(d.toString()));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
  const name = await first;
  return { ws, name, setCookie };
}

async function get(port: number, path = '/', headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

function tally(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

async function closeAndWait(ws: WebSocket, events: EventEmitter): Promise<void> {
  const closed = once(events, 'tunnel-closed');
  ws.close();
  await closed;
}

test('byrequests: weights 1:1:2 share 40 tunnels and 40 requests 10/10/20 (±2 each)', async (t) => {
  const [a, b, c] = await Promise.all([startMember(t, 'a'), startMember(t, 'b'), startMember(t, 'c')]);
  const { port } = await startProxy(t, oneRoute([a.url, b.url, { url: c.url, weight: 2 }]));
  const tunnels: string[] = [];
  for (let i = 0; i < 40; i++) {
    const { ws, name } = await connect(t, port);
    tunnels.push(name);
    ws.close();
  }
  const requests: string[] = [];
  for (let i = 0; i < 40; i++) requests.push((await get(port)).body);
  for (const names of [tunnels, requests]) {
    const n = tally(names);
    assert.ok(Math.abs((n.a ?? 0) - 10) <= 2 && Math.abs((n.b ?? 0) - 10) <= 2 && Math.abs((n.c ?? 0) - 20) <= 2, JSON.stringify(n));
  }
});

test('bybusyness: with every tunnel held open, weights 1:3 hold 5 and 15 of 20 (±1)', async (t) => {
  const [a, b] = await Promise.all([startMember(t, 'a'), startMember(t, 'b')]);
  const { port, registry } = await startProxy(t, oneRoute([a.url, { url: b.url, weight: 3 }], { strategy: 'bybusyness' }));
  const names: string[] = [];
  for (let i = 0; i < 20; i++) names.push((await connect(t, port)).name);
  const n = tally(names);
  assert.ok(Math.abs((n.a ?? 0) - 5) <= 1, JSON.stringify(n));
  assert.deepEqual(
    registry.listMembers().map((m) => m.activeTunnels),
    [n.a ?? 0, n.b ?? 0],
    'the table counts the open tunnels',
  );
});

test('bytraffic: new tunnels go where fewer bytes went; two equal members each carry 50% ±10 points', async (t) => {
  const [a, b] = await Promise.all([startMember(t, 'a'), startMember(t, 'b')]);
  const { port, registry, events } = await startProxy(t, oneRoute([a.url, b.url], { strategy: 'bytraffic' }));
  for (let i = 0; i < 16; i++) {
    const { ws } = await connect(t, port);
    const echoed = new Promise((resolve) => ws.once('message', resolve));
    ws.send(Buffer.alloc(4096 * (1 + (i % 4)))); // uneven tunnels
    await echoed;
    await closeAndWait(ws, events);
  }
  const [ba, bb] = registry.listMembers().map((m) => m.bytes);
  const share = ba! / (ba! + bb!);
  assert.ok(ba! > 0 && Math.abs(share - 0.5) <= 0.1, `bytes ${ba} / ${bb}`);
});

test('hash on a query parameter: each room always reaches the same member, and rooms spread', async (t) => {
  const ms = await Promise.all(['a', 'b', 'c'].map((n) => startMember(t, n)));
  const { port } = await startProxy(t, oneRoute(ms.map((m) => m.url), { strategy: 'hash', hash: { on: 'query', name: 'room' } }));
  const placed = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    for (let r = 0; r < 12; r++) {
      const room = `room-${r}`;
      const name = round % 2 === 0 ? (await get(port, `/?room=${room}`)).body : (await connect(t, port, `/?room=${room}`)).name;
      if (placed.has(room)) assert.equal(name, placed.get(room), `${room} moved`);
      else placed.set(room, name);
    }
  }
  assert.ok(new Set(placed.values()).size >= 2, 'rooms spread over members');
});

test('cookie stickiness: the first answer sets the route cookie; requests and upgrades carrying it stay', async (t) => {
  const [a, b] = await Promise.all([startMember(t, 'a'), startMember(t, 'b')]);
  const { port, registry } = await startProxy(
    t,
    oneRoute([a.url, b.url], { sticky: { cookie: 'ROUTEID' } }),
  );
  const first = await get(port);
  const cookies = first.headers.getSetCookie();
  assert.ok(cookies.includes('app=1'), "the backend's own cookie is kept");
  const route = cookies.find((c) => c.startsWith('ROUTEID='));
  assert.match(route ?? '', /^ROUTEID=\.[0-9a-z]+; Path=\/; HttpOnly; SameSite=Lax$/);
  const pair = route!.split(';')[0]!;
  for (let i = 0; i < 8; i++) {
    const r = await get(port, '/', { cookie: `x=1; ${pair}` });
    assert.equal(r.body, first.body);
    assert.ok(!r.headers.getSetCookie().some((c) => c.startsWith('ROUTEID=')), 'no cookie when the request already names the member');
    assert.equal((await connect(t, port, '/', { cookie: pair })).name, first.body);
  }
  // A new WebSocket client gets the cookie on the 101.
  const fresh = await connect(t, port);
  assert.match(fresh.setCookie ?? '', /^ROUTEID=\.[0-9a-z]+; Path=\/; HttpOnly; SameSite=Lax$/);
  // Draining the member moves its clients, with a new cookie.
  const stuck = registry.listMembers().find((m) => m.route === pair.split('=.')[1])!;
  registry.setState('pool', stuck.url, 'draining');
  const moved = await get(port, '/', { cookie: pair });
  assert.notEqual(moved.body, first.body);
  assert.ok(moved.headers.getSetCookie().some((c) => c.startsWith('ROUTEID=') && !c.startsWith(pair + ';')));
});

test('failover: a killed member costs new clients nothing; it is left out for retryMs', async (t) => {
  const ms = await Promise.all(['a', 'b', 'c'].map((n) => startMember(t, n)));
  const { port, registry } = await startProxy(t, oneRoute(ms.map((m) => m.url), { retryMs: 60_000 }));
  assert.equal((await connect(t, port)).name, 'a');
  await ms[1]!.kill();
  const names: string[] = [];
  for (let i = 0; i < 12; i++) {
    names.push((await connect(t, port)).name);
    const r = await get(port);
    assert.equal(r.status, 200, 'HTTP requests fail over too');
    names.push(r.body);
  }
  assert.ok(!names.includes('b'));
  assert.ok(names.includes('a') && names.includes('c'));
  const dead = registry.listMembers()[1]!;
  assert.equal(dead.usable, false);
  assert.ok(dead.errorForMs > 50_000 && dead.errorForMs <= 60_000, `errorForMs ${dead.errorForMs}`);
});

test('all members down: 503 WSP_NO_MEMBER with Retry-After, for upgrades and plain requests', async (t) => {
  const { port } = await startProxy(
    t,
    oneRoute([`ws://127.0.0.1:${await refusedPort()}`, `ws://127.0.0.1:${await refusedPort()}`], { retryMs: 30_000 }),
  );
  const { head } = await rawExchange(t, port, wsHandshake('/'));
  assert.equal(statusOf(head), 503);
  assert.match(head, /\r\nX-Wspass-Error: WSP_NO_MEMBER\r\n/i);
  assert.match(head, /\r\nRetry-After: 30\r\n/i);
  const r = await get(port);
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('x-wspass-error'), 'WSP_NO_MEMBER');
  assert.equal(r.headers.get('retry-after'), '30');
});

test('maxAttempts bounds the members tried for one request', async (t) => {
  const dead = await Promise.all([1, 2, 3].map(() => refusedPort()));
  const live = await startMember(t, 'live');
  const { port, registry } = await startProxy(t, oneRoute([...dead.map((p) => `ws://127.0.0.1:${p}`), live.url], { maxAttempts: 2 }));
  const { head } = await rawExchange(t, port, wsHandshake('/'));
  assert.equal(statusOf(head), 503);
  assert.match(head, /X-Wspass-Error: WSP_BACKEND_REFUSED/i, 'the last failure is answered once the attempts are spent');
  assert.deepEqual(registry.listMembers().map((m) => m.usable), [false, false, true, true]);
  assert.equal((await connect(t, port)).name, 'live');
});

test('drain: open tunnels keep flowing, new ones go elsewhere; disable and enable at runtime', async (t) => {
  const [a, b] = await Promise.all([startMember(t, 'a'), startMember(t, 'b')]);
  const { port, registry, events } = await startProxy(t, oneRoute([a.url, b.url]));
  const onA = await connect(t, port);
  const onB = await connect(t, port);
  assert.deepEqual([onA.name, onB.name], ['a', 'b']);
  registry.setState('pool', a.url, 'draining');
  for (let i = 0; i < 6; i++) assert.equal((await connect(t, port)).name, 'b');
  const echo = new Promise<string>((resolve) => onA.ws.once('message', (d: Buffer) => resolve(d.toString())));
  onA.ws.send('still here');
  assert.equal(await echo, 'still here', 'the draining member keeps its tunnel');
  assert.equal(registry.listMembers()[0]!.activeTunnels, 1);
  await closeAndWait(onA.ws, events);
  assert.equal(registry.listMembers()[0]!.activeTunnels, 0);
  registry.setState('pool', a.url, 'active');
  registry.setState('pool', b.url, 'disabled');
  assert.equal((await connect(t, port)).name, 'a');
  assert.equal((await get(port)).body, 'a');
});

test('standby takes traffic only while no active member is usable', async (t) => {
  const [a, s] = await Promise.all([startMember(t, 'a'), startMember(t, 'spare')]);
  const { port, registry } = await startProxy(t, oneRoute([a.url, { url: s.url, state: 'standby' }]));
  for (let i = 0; i < 3; i++) assert.equal((await get(port)).body, 'a');
  registry.setState('pool', a.url, 'disabled');
  assert.equal((await get(port)).body, 'spare');
});

test('active health: failing probes take a member out although it accepts connections; passing ones bring it back', async (t) => {
  const [a, b] = await Promise.all([startMember(t, 'a'), startMember(t, 'b')]);
  a.healthy = false;
  const { port, table, balancers, registry } = await startProxy(
    t,
    oneRoute([a.url, b.url], { healthCheck: { type: 'http', path: '/health', intervalMs: 20, timeoutMs: 1_000, rise: 2, fall: 2 } }),
  );
  const checker = new HealthChecker(table, balancers.values());
  t.after(() => checker.close());
  const down = once(checker, 'down');
  checker.start();
  assert.deepEqual(await down, [{ balancer: 'pool', member: a.url }]);
  assert.equal(registry.listMembers()[0]!.health, 'down');
  for (let i = 0; i < 4; i++) assert.equal((await connect(t, port)).name, 'b');
  const up = once(checker, 'up');
  a.healthy = true;
  assert.deepEqual(await up, [{ balancer: 'pool', member: a.url }]);
  const names = new Set<string>();
  for (let i = 0; i < 4; i++) names.add((await connect(t, port)).name);
  assert.deepEqual([...names].sort(), ['a', 'b'], 'the recovered member is readmitted');
});

test('active health: a killed member that comes back on its port is readmitted before retryMs runs out', async (t) => {
  const [a, b] = await Promise.all([startMember(t, 'a'), startMember(t, 'b')]);
  const { port, table, balancers, registry } = await startProxy(
    t,
    oneRoute([a.url, b.url], { retryMs: 600_000, healthCheck: { type: 'websocket', path: '/', intervalMs: 20, timeoutMs: 1_000, rise: 1, fall: 1 } }),
  );
  await a.kill();
  assert.equal((await connect(t, port)).name, 'b', 'failover while a is dead');
  assert.equal(registry.listMembers()[0]!.usable, false);
  const checker = new HealthChecker(table, balancers.values());
  t.after(() => checker.close());
  checker.start();
  await once(checker, 'down');
  const up = once(checker, 'up');
  await startMember(t, 'a-again', a.port);
  await up;
  const m = registry.listMembers()[0]!;
  assert.equal(m.errorForMs, 0);
  assert.equal(m.usable, true);
  const names = new Set<string>();
  for (let i = 0; i < 4; i++) names.add((await connect(t, port)).name);
  assert.ok(names.has('a-again'));
});

test('a WebSocket probe fails on a member that accepts TCP but never upgrades', async (t) => {
  const mute = net.createServer((s) => s.destroy());
  mute.listen(0, '127.0.0.1');
  await once(mute, 'listening');
  t.after(() => new Promise((r) => mute.close(r)));
  const live = await startMember(t, 'live');
  const { table, balancers } = await startProxy(
    t,
    oneRoute([`ws://127.0.0.1:${(mute.address() as AddressInfo).port}`, live.url], {
      healthCheck: { type: 'websocket', intervalMs: 20, timeoutMs: 1_000, rise: 1, fall: 1 },
    }),
  );
  const checker = new HealthChecker(table, balancers.values());
  t.after(() => checker.close());
  const results = new Map<string, boolean>();
  const both = new Promise<void>((resolve) =>
    checker.on('probe', (p) => {
      results.set(p.member, p.ok);
      if (results.size === 2) resolve();
    }),
  );
  checker.start();
  await both;
  assert.deepEqual([...results.entries()].sort(), [
    [`ws://127.0.0.1:${(mute.address() as AddressInfo).port}`, false],
    [live.url, true],
  ].sort());
});
