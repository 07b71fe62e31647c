// Member state across threads (MemberTable over a SharedArrayBuffer), the Balancer's choice of usable
// members (tiers, errors, health, stickiness), runtime control (BalancerRegistry) and its formatting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { formatMembers } from '../../src/balancer/format.js';
import { MemberTable } from '../../src/balancer/member-table.js';
import { BalancerRegistry } from '../../src/balancer/registry.js';
import type { BalanceFacts } from '../../src/balancer/types.js';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { WspassError } from '../../src/errors.js';
import { composeRoutes } from '../../src/server/compose-routes.js';

function config(balancers: ConfigInput['balancers']): Config {
  return configSchema.parse({ listen: '127.0.0.1:0', routes: [{ path: '/', backend: 'balancer://pool/' }], balancers });
}

const TWO = { pool: { members: [{ url: 'ws://127.0.0.1:9001' }, { url: 'ws://127.0.0.1:9002', weight: 3, route: 'b' }] } };

function facts(cookie?: string, target = '/'): BalanceFacts {
  return {
    clientIp: '127.0.0.1',
    target,
    header: () => undefined,
    cookie: (name) => (name === 'WSPASS_ROUTE' ? cookie : undefined),
    query: () => undefined,
  };
}

/** The compiled balancer `pool` over `table`, with a clock the test moves. */
function setup(balancers: ConfigInput['balancers'], table?: MemberTable) {
  const cfg = config(balancers);
  const clock = { now: 1_000_000 };
  const members = table ?? new MemberTable(cfg);
  const routes = composeRoutes(cfg, { members, now: () => clock.now });
  const pool = routes.balancers.get('pool')!;
  return { cfg, clock, table: members, pool, routes, registry: new BalancerRegistry(members, routes.balancers.values(), () => clock.now) };
}

test('layout: one slot per member in config order, keyed by balancer and URL; byte size for the primary to allocate', () => {
  const cfg = config({ a: { members: [{ url: 'ws://x:1' }, { url: 'ws://y:1' }] }, pool: { members: [{ url: 'ws://x:1' }] } });
  const layout = MemberTable.layoutFor(cfg);
  assert.deepEqual(layout.keys, ['a\nws://x:1', 'a\nws://y:1', 'pool\nws://x:1']);
  assert.equal(layout.byteLength, 3 * 48);
  const table = new MemberTable(cfg);
  assert.equal(table.buffer.byteLength, layout.byteLength);
  assert.equal(table.slotOf('pool', 'ws://x:1'), 2);
  assert.throws(() => new MemberTable(cfg, new SharedArrayBuffer(8)), RangeError);
});

test('a new table takes states and weights from the config; a table over a shared buffer sees every write', () => {
  const cfg = config({ pool: { members: [{ url: 'ws://a:1', state: 'standby', weight: 7 }, { url: 'ws://b:1' }] } });
  const primary = new MemberTable(cfg);
  assert.equal(primary.state(0), 'standby');
  assert.equal(primary.weight(0), 7);
  assert.equal(primary.state(1), 'active');
  const other = new MemberTable(cfg, primary.buffer); // what a worker builds
  other.addTunnels(1, 2);
  other.addBytes(1, 5_000_000_000);
  other.setErrorUntil(0, 1234);
  primary.setState(1, 'draining');
  assert.equal(primary.activeTunnels(1), 2);
  assert.equal(primary.bytes(1), 5_000_000_000);
  assert.equal(primary.errorUntil(0), 1234);
  assert.equal(other.state(1), 'draining');
  assert.equal(other.weight(0), 7, 'attaching does not re-initialise');
});

test('counters are shared with a real worker thread (Atomics on the same memory)', async (t) => {
  const cfg = config(TWO);
  const table = new MemberTable(cfg);
  const moduleUrl = new URL('../../src/balancer/member-table.js', import.meta.url).href;
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     import(workerData.moduleUrl).then(({ MemberTable }) => {
       const t = new MemberTable(workerData.cfg, workerData.buffer);
       for (let i = 0; i < 1000; i++) t.addTunnels(1, 1);
       t.setState(0, 'disabled');
       parentPort.postMessage('done');
     });`,
    { eval: true, workerData: { moduleUrl, cfg, buffer: table.buffer } },
  );
  t.after(() => worker.terminate());
  for (let i = 0; i < 1000; i++) table.addTunnels(1, 1);
  await once(worker, 'message');
  assert.equal(table.activeTunnels(1), 2000, 'no lost update between the threads');
  assert.equal(table.state(0), 'disabled');
});

test('probes: fall failures in a row take a member down, rise passes bring it back and end a passive error', () => {
  const table = new MemberTable(config(TWO));
  assert.equal(table.recordProbe(0, false, 2, 3, 0), undefined);
  assert.equal(table.recordProbe(0, false, 2, 3, 0), undefined);
  assert.equal(table.recordProbe(0, true, 2, 3, 0), undefined, 'a pass resets the failure streak');
  assert.equal(table.recordProbe(0, false, 2, 3, 0), undefined);
  assert.equal(table.recordProbe(0, false, 2, 3, 0), undefined);
  assert.equal(table.recordProbe(0, false, 2, 3, 0), 'down');
  assert.equal(table.probeDown(0), true);
  assert.equal(table.recordProbe(0, true, 2, 3, 0), undefined);
  assert.equal(table.recordProbe(0, true, 2, 3, 0), 'up');
  assert.equal(table.probeDown(0), false);
  table.setErrorUntil(1, 5_000);
  assert.equal(table.recordProbe(1, true, 1, 3, 1_000), 'up', 'a healthy probe readmits a member in passive error');
  assert.equal(table.errorUntil(1), 0);
  assert.equal(table.recordProbe(1, true, 1, 3, 1_000), undefined);
});

test('a table over another table\'s buffer shares its state; an unshared table has no buffer to share', () => {
  const cfg = config(TWO);
  const a = new MemberTable(cfg);
  const b = new MemberTable(cfg, a.buffer);
  a.setState(1, 'disabled');
  assert.equal(b.state(1), 'disabled');
  assert.equal(composeRoutes(cfg, { members: b }).balancers.get('pool')!.members.length, 2);
  const local = MemberTable.unshared(cfg);
  assert.equal(local.state(0), 'active');
  assert.throws(() => local.buffer, /not shared/);
});

test('only active members take traffic while one is usable; standby is the hot spare', () => {
  const { pool, table } = setup({
    pool: { members: [{ url: 'ws://a:1' }, { url: 'ws://b:1' }, { url: 'ws://s:1', state: 'standby' }] },
  });
  const picked = new Set(Array.from({ length: 10 }, () => pool.pick(facts())!.member.url));
  assert.deepEqual([...picked].sort(), ['ws://a:1', 'ws://b:1']);
  table.setState(0, 'disabled');
  table.setState(1, 'draining');
  assert.equal(pool.pick(facts())!.member.url, 'ws://s:1');
  table.setState(2, 'disabled');
  assert.equal(pool.pick(facts()), undefined);
});

test('a failed member is left out for retryMs in every thread, then tried again', () => {
  const { pool, clock, cfg, table } = setup({ pool: { retryMs: 30_000, members: [{ url: 'ws://a:1' }, { url: 'ws://b:1' }] } });
  pool.markFailed(pool.members[0]!);
  assert.deepEqual(new Set(Array.from({ length: 6 }, () => pool.pick(facts())!.member.index)), new Set([1]));
  // Another thread's view of the same memory agrees.
  const other = composeRoutes(cfg, { members: new MemberTable(cfg, table.buffer), now: () => clock.now }).balancers.get('pool')!;
  assert.equal(other.isUsable(other.members[0]!), false);
  clock.now += 30_000;
  assert.equal(pool.isUsable(pool.members[0]!), true);
});

test('exclude: members already tried for this request are skipped', () => {
  const { pool } = setup(TWO);
  assert.equal(pool.pick(facts(), new Set([1]))!.member.index, 0);
  assert.equal(pool.pick(facts(), new Set([0, 1])), undefined);
});

test('Retry-After: seconds until the soonest member leaves error, else a probe cycle, else retryMs; at least 1', () => {
  const { pool, clock, table } = setup({
    pool: { retryMs: 60_000, healthCheck: { intervalMs: 2_000, rise: 3 }, members: [{ url: 'ws://a:1' }, { url: 'ws://b:1' }] },
  });
  table.setErrorUntil(0, clock.now + 12_300);
  table.setErrorUntil(1, clock.now + 40_000);
  assert.equal(pool.retryAfterS(), 13);
  table.setErrorUntil(0, clock.now + 200);
  assert.equal(pool.retryAfterS(), 1);
  table.setErrorUntil(0, 0);
  table.setErrorUntil(1, 0);
  for (let i = 0; i < 3; i++) table.recordProbe(0, false, 3, 3, clock.now);
  assert.equal(pool.retryAfterS(), 6, 'rise × intervalMs');
  table.recordProbe(0, true, 1, 3, clock.now);
  table.setState(0, 'disabled');
  table.setState(1, 'disabled');
  assert.equal(pool.retryAfterS(), 60);
});

test('sticky: a cookie naming a usable member wins; otherwise the strategy picks and the cookie is (re)set', () => {
  const { pool, table } = setup({ pool: { sticky: {}, members: [{ url: 'ws://a:1', route: 'a' }, { url: 'ws://b:1', route: 'b' }] } });
  for (let i = 0; i < 5; i++) assert.deepEqual(pool.pick(facts('.b')), { member: pool.members[1], setCookie: undefined });
  assert.equal(pool.pick(facts('JSESSIONID123.a'))!.member.route, 'a', 'Apache convention: route after the first dot');
  const fresh = pool.pick(facts())!;
  assert.equal(fresh.setCookie, `WSPASS_ROUTE=.${fresh.member.route}; Path=/; HttpOnly; SameSite=Lax`);
  const unknown = pool.pick(facts('zzz.q'))!;
  assert.ok(unknown.setCookie?.startsWith('WSPASS_ROUTE=.'));
  // A value without a dot names no route, as in Apache (the form earlier wspass versions set): rebalanced once.
  assert.ok(pool.pick(facts('b'))!.setCookie?.startsWith('WSPASS_ROUTE=.'));
  table.setState(1, 'draining');
  const moved = pool.pick(facts('.b'))!;
  assert.equal(moved.member.route, 'a');
  assert.equal(moved.setCookie, 'WSPASS_ROUTE=.a; Path=/; HttpOnly; SameSite=Lax');
});

test('sticky: the URL parameter (query or ;path parameter) is read before the cookie, as Apache does', () => {
  const members = [{ url: 'ws://a:1', route: 'a' }, { url: 'ws://b:1', route: 'b' }];
  const { pool } = setup({ pool: { sticky: { cookie: 'ROUTEID' }, members } });
  const cookieA = (target: string): BalanceFacts => ({ ...facts(undefined, target), cookie: (n) => (n === 'ROUTEID' ? 'x.a' : undefined) });
  assert.equal(pool.pick(cookieA('/app?ROUTEID=s.b&x=1'))!.member.route, 'b');
  assert.equal(pool.pick(cookieA('/app;ROUTEID=s.b?x=1'))!.member.route, 'b');
  assert.equal(pool.pick(cookieA('/app?other=1'))!.member.route, 'a', 'no parameter: the cookie');
  assert.equal(pool.pick(cookieA('/app?ROUTEID=&x'))!.member.route, 'a', 'an empty parameter is no parameter');
  const split = setup({ pool: { sticky: { cookie: 'JSESSIONID', param: 'jsessionid' }, members } }).pool;
  assert.equal(split.pick(facts(undefined, '/x;jsessionid=abc.b'))!.member.route, 'b');
  assert.equal(split.pick(facts(undefined, '/x;jsessionid=abc.b'))!.setCookie, undefined);
});

test('sticky noFailover (Apache nofailover=On): a named member that is not usable, or already tried, means no member', () => {
  const { pool, table } = setup({ pool: { sticky: { noFailover: true }, members: [{ url: 'ws://a:1', route: 'a' }, { url: 'ws://b:1', route: 'b' }] } });
  assert.equal(pool.pick(facts('.b'))!.member.route, 'b');
  assert.equal(pool.pick(facts('.b'), new Set([1])), undefined, 'a failed attempt is not retried elsewhere');
  table.setState(1, 'disabled');
  assert.equal(pool.pick(facts('.b')), undefined);
  assert.equal(pool.pick(facts('x.zz'))!.member.route, 'a', 'a value naming no member is balanced as usual');
  assert.equal(pool.pick(facts())!.member.route, 'a');
});

test('socketio preset: cookie stickiness on by default, round-robin for the first request', () => {
  const { pool } = setup({ pool: { strategy: 'socketio', members: [{ url: 'ws://a:1', route: 'a' }, { url: 'ws://b:1', route: 'b' }] } });
  const first = [pool.pick(facts())!, pool.pick(facts())!];
  assert.deepEqual(first.map((p) => p.member.route).sort(), ['a', 'b']);
  assert.equal(first[0]!.setCookie?.split(';')[0], `WSPASS_ROUTE=.${first[0]!.member.route}`);
  assert.equal(pool.pick(facts('.a'))!.member.route, 'a');
});

test('bybusyness is global: tunnels opened through one thread steer the picks of another', () => {
  const b = { pool: { strategy: 'bybusyness' as const, members: [{ url: 'ws://a:1' }, { url: 'ws://b:1' }] } };
  const one = setup(b);
  const two = setup(b, new MemberTable(one.cfg, one.table.buffer));
  for (let i = 0; i < 5; i++) one.pool.tunnelOpened(one.pool.members[0]!);
  for (let i = 0; i < 4; i++) {
    const m = two.pool.pick(facts())!.member;
    assert.equal(m.index, 1, 'the other thread sees member 0 busy');
    two.pool.tunnelOpened(m);
  }
  one.pool.tunnelClosed(one.pool.members[0]!, 100);
  one.pool.tunnelClosed(one.pool.members[0]!, 100);
  assert.equal(two.table.activeTunnels(0), 3);
  assert.equal(two.table.bytes(0), 200);
});

test('registry: list, drain, disable, enable and reweigh members by URL or route; unknown names are WSP_UNKNOWN_MEMBER', () => {
  const { registry, pool, clock, table } = setup(TWO);
  const list = registry.listMembers();
  assert.deepEqual(
    list.map((m) => [m.balancer, m.url, m.state, m.weight, m.health, m.usable]),
    [
      ['pool', 'ws://127.0.0.1:9001', 'active', 1, 'unchecked', true],
      ['pool', 'ws://127.0.0.1:9002', 'active', 3, 'unchecked', true],
    ],
  );
  assert.match(list[0]!.route, /^[0-9a-z]+$/);
  assert.equal(list[1]!.route, 'b');
  assert.equal(registry.setState('pool', 'b', 'draining').state, 'draining');
  assert.equal(pool.pick(facts())!.member.index, 0, 'a draining member takes nothing new');
  assert.equal(registry.setState('pool', 'ws://127.0.0.1:9002', 'active').usable, true);
  assert.equal(registry.setWeight('pool', 'b', 9).weight, 9);
  assert.equal(table.weight(1), 9);
  table.setErrorUntil(0, clock.now + 4_500);
  assert.equal(registry.listMembers()[0]!.errorForMs, 4_500);
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err instanceof WspassError ? `${err.code} ${err.status}` : 'other';
    }
    return 'none';
  };
  assert.equal(code(() => registry.setState('nope', 'b', 'active')), 'WSP_UNKNOWN_MEMBER 404');
  assert.equal(code(() => registry.setState('pool', 'ws://elsewhere:1', 'active')), 'WSP_UNKNOWN_MEMBER 404');
  assert.equal(code(() => registry.setState('pool', 'b', 'asleep')), 'WSP_BAD_REQUEST 400');
  assert.equal(code(() => registry.setWeight('pool', 'b', 0)), 'WSP_BAD_REQUEST 400');
  assert.equal(code(() => registry.setWeight('pool', 'b', 1.5)), 'WSP_BAD_REQUEST 400');
});

test('format: one aligned row per member with state, load and health', () => {
  const { registry, table, clock } = setup(TWO);
  table.addTunnels(1, 12);
  table.addBytes(1, 3 * 1024 * 1024);
  table.setErrorUntil(0, clock.now + 2_100);
  const text = formatMembers(registry.listMembers());
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^BALANCER\s+MEMBER\s+ROUTE\s+STATE\s+WEIGHT\s+TUNNELS\s+REQUESTS\s+BYTES\s+HEALTH\s+ERROR$/);
  assert.match(lines[1]!, /^pool\s+ws:\/\/127\.0\.0\.1:9001\s+\S+\s+active\s+1\s+0\s+0\s+0 B\s+unchecked\s+3 s$/);
  assert.match(lines[2]!, /^pool\s+ws:\/\/127\.0\.0\.1:9002\s+b\s+active\s+3\s+12\s+0\s+3\.0 MiB\s+unchecked\s+-$/);
  assert.equal(lines[1]!.indexOf('active'), lines[2]!.indexOf('active'), 'columns are aligned');
  assert.equal(formatMembers([]), 'no balancers are configured\n');
});
