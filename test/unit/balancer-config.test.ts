// Balancer configuration: schema rules, compile-time checks with key paths (and file positions through
// `wspass validate`), and how a `balancer://name/path` route maps request paths onto each member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAndCheckConfig } from '../../src/cli/load-config.js';
import { ConfigError } from '../../src/config/config-error.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { RouteCompileError } from '../../src/routing/compile-issues.js';
import { composeRoutes } from '../../src/server/compose-routes.js';
import { fileURLToPath } from 'node:url';
import { tempFile } from '../helpers/cli.js';

function parse(input: Partial<ConfigInput>) {
  return configSchema.safeParse({ listen: '127.0.0.1:0', routes: [{ path: '/', backend: 'balancer://pool/' }], ...input });
}

function issuesOf(input: Partial<ConfigInput>): string[] {
  const r = parse(input);
  if (r.success) {
    try {
      composeRoutes(r.data);
      return [];
    } catch (err) {
      if (err instanceof RouteCompileError) return err.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw err;
    }
  }
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('defaults: byrequests, weight 1, active, retryMs 60 s, 3 attempts', () => {
  const r = parse({ balancers: { pool: { members: [{ url: 'ws://a:1' }] } } });
  assert.ok(r.success);
  const b = r.data.balancers!.pool!;
  assert.equal(b.strategy, 'byrequests');
  assert.equal(b.retryMs, 60_000);
  assert.equal(b.maxAttempts, 3);
  assert.deepEqual(b.members[0], { url: 'ws://a:1', weight: 1, state: 'active' });
});

test('schema: strategy and hash must agree; hash names what it reads; members are distinct', () => {
  assert.deepEqual(issuesOf({ balancers: { pool: { strategy: 'hash', members: [{ url: 'ws://a:1' }] } } }), [
    'balancers.pool.hash: strategy "hash" needs `hash` (what to hash on)',
  ]);
  assert.deepEqual(issuesOf({ balancers: { pool: { strategy: 'hash', hash: { on: 'header' }, members: [{ url: 'ws://a:1' }] } } }), [
    'balancers.pool.hash.name: hashing on "header" needs the header "name"',
  ]);
  assert.deepEqual(issuesOf({ balancers: { pool: { hash: { on: 'ip' }, members: [{ url: 'ws://a:1' }] } } }), [
    'balancers.pool.hash: `hash` is used only by strategies "hash" and "socketio", not "byrequests"',
  ]);
  assert.deepEqual(
    issuesOf({ balancers: { pool: { members: [{ url: 'ws://a:1', route: 'x' }, { url: 'ws://a:1' }, { url: 'ws://b:1', route: 'x' }] } } }),
    ['balancers.pool.members.1.url: same URL as members[0]', 'balancers.pool.members.2.route: same route as members[0]'],
  );
  assert.equal(parse({ balancers: { pool: { members: [] } } }).success, false);
  assert.equal(parse({ balancers: { pool: { members: [{ url: 'ws://a:1', weight: 0 }] } } }).success, false);
  assert.equal(parse({ balancers: { pool: { members: [{ url: 'ws://a:1', state: 'sleeping' as 'active' }] } } }).success, false);
});

test('compile: an unknown balancer and a bad member URL are reported at their key paths', () => {
  assert.deepEqual(issuesOf({ balancers: { other: { members: [{ url: 'ws://a:1' }] } } }), [
    'routes.0.backend: no balancer named "pool" in `balancers` (defined: other)',
  ]);
  assert.deepEqual(issuesOf({}), ['routes.0.backend: no balancer named "pool" in `balancers` (no balancers are defined)']);
  assert.deepEqual(issuesOf({ balancers: { pool: { members: [{ url: 'ftp://a:1' }, { url: 'ws://b:1/x?y=1' }] } } }), [
    'balancers.pool.members.0.url: scheme "ftp:" is not allowed; use one of ws://, wss://, http://, https://',
    'balancers.pool.members.1.url: a member URL has no query and no $n placeholders (the route supplies path and query)',
  ]);
  assert.deepEqual(issuesOf({ routes: [{ path: '/', backend: 'balancer:///x' }] }), [
    'routes.0.backend: the balancer URL names no balancer (expected balancer://name/path)',
  ]);
});

test('wspass validate: balancer problems come with the file position of the key', (t) => {
  const file = tempFile(
    t,
    'wspass.yaml',
    ['listen: 127.0.0.1:0', 'routes:', '  - path: /', '    backend: balancer://chat/', 'balancers:', '  pool:', '    members:', '      - url: gopher://a:1', ''].join('\n'),
  );
  try {
    loadAndCheckConfig(file);
    assert.fail('the config should be invalid');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.message;
    assert.match(text, /wspass\.yaml:4:14: routes\[0\]\.backend: no balancer named "chat" in `balancers` \(defined: pool\)/);
    assert.match(text, /wspass\.yaml:8:14: balancers\.pool\.members\[0\]\.url: scheme "gopher:"/);
  }
});

test('wspass validate: members that disagree on upgrades are reported at the route, naming them and the fix', (t) => {
  const file = tempFile(
    t,
    'wspass.yaml',
    ['listen: 127.0.0.1:0', 'routes:', '  - path: /', '    backend: balancer://pool/', 'balancers:', '  pool:', '    members:',
      '      - url: ws://a:1', '      - url: http://b:1', ''].join('\n'),
  );
  try {
    loadAndCheckConfig(file);
    assert.fail('the config should be invalid');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /wspass\.yaml:3:5: routes\[0\]\.upgrade: the members of balancer "pool" disagree/);
    assert.match(err.message, /members\[0\] ws:\/\/a:1 → upgrade websocket; members\[1\] http:\/\/b:1 → upgrade false/);
    assert.match(err.message, /set `upgrade` on this route or on balancers\.pool/);
  }
});

test('examples/balancer.yaml validates, routes and balancers included', () => {
  const config = loadAndCheckConfig(fileURLToPath(new URL('../../../examples/balancer.yaml', import.meta.url)));
  assert.deepEqual(Object.keys(config.balancers ?? {}), ['backend-cluster', 'chat', 'rooms']);
  const table = composeRoutes(config);
  assert.equal(table.balancers.size, 3);
  // http:// cluster with upgrade: websocket, socketio over ws://, hash over ws://: all tunnel WebSocket.
  const websocket = { kind: 'list', protocols: ['websocket'] };
  assert.deepEqual(table.routes.map((r) => r.upgrade), [websocket, websocket, websocket]);
});

test('paths: member path + the route mapping on the balancer path; query passed through; origin and TLS per member', () => {
  const r = parse({
    routes: [{ path: '/chat/', backend: 'balancer://pool/app/' }],
    defaults: { tls: { rejectUnauthorized: false } },
    balancers: { pool: { members: [{ url: 'ws://a:1/base/' }, { url: 'wss://b:2' }] } },
  });
  assert.ok(r.success);
  const table = composeRoutes(r.data);
  const m = table.match({ url: '/chat/room?x=1', host: 'h', header: () => undefined });
  assert.ok(m !== null && m !== 'bad-request' && !('respond' in m));
  assert.equal(m.backendPath, '/app/room?x=1');
  const lb = m.route.balancer!;
  assert.equal(lb.balancer.name, 'pool');
  const [a, b] = lb.targets;
  assert.equal(a!.member.pathPrefix + m.backendPath, '/base/app/room?x=1');
  assert.equal(b!.member.pathPrefix + m.backendPath, '/app/room?x=1');
  assert.equal(a!.route.backend.hostHeader, 'a:1');
  assert.equal(a!.route.tls, undefined);
  assert.equal(b!.route.backend.secure, true);
  assert.equal(b!.route.tls?.rejectUnauthorized, false);
  assert.equal(a!.route.balancer, undefined, 'a member target is a plain route');
  assert.equal(m.route.backend, a!.route.backend, "the route's own backend is its first member's");
});

test('paths: regex routes substitute $n in the balancer path', () => {
  const r = parse({ routes: [{ match: '^/u/([a-z]+)$', backend: 'balancer://pool/users/$1' }], balancers: { pool: { members: [{ url: 'http://a:1' }] } } });
  assert.ok(r.success);
  const m = composeRoutes(r.data).match({ url: '/u/bob?q', host: undefined, header: () => undefined });
  assert.ok(m !== null && m !== 'bad-request' && !('respond' in m));
  assert.equal(m.backendPath, '/users/bob?q');
});
