// Route table compile and match (src/routing/route-table.ts): Apache ProxyPass/ProxyPassMatch semantics,
// host and header conditions, option merging, backend origins and every compile error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { WspassError } from '../../src/errors.js';
import { RouteCompileError } from '../../src/routing/compile-issues.js';
import type { RouteTable } from '../../src/routing/route-table.js';
import { composeRoutes, type ComposeOptions } from '../../src/server/compose-routes.js';
import { requestHost } from '../../src/routing/normalize-path.js';
import { routeNames } from '../../src/routing/route-names.js';
import type { RequestFacts, RouteMatch } from '../../src/routing/types.js';

type RoutesInput = ConfigInput['routes'];

function table(routes: RoutesInput, extra: Partial<ConfigInput> = {}, opts?: ComposeOptions): RouteTable {
  return composeRoutes(configSchema.parse({ listen: '127.0.0.1:0', routes, ...extra }), opts);
}

/** Header names are looked up as given: the table must ask with lower-cased names, as node:http stores them. */
function req(url: string, headers: Record<string, string> = {}): RequestFacts {
  const map = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { url, host: map.get('host'), header: (name) => map.get(name) };
}

function matched(t: RouteTable, url: string, headers?: Record<string, string>): RouteMatch {
  const m = t.match(req(url, headers));
  assert.ok(m !== null && m !== 'bad-request' && !('respond' in m), `${url} should match a route, got ${JSON.stringify(m)}`);
  return m;
}

/** [route index, backend path] for compact assertions. */
function where(t: RouteTable, url: string, headers?: Record<string, string>): [number, string] {
  const m = matched(t, url, headers);
  return [m.route.index, m.backendPath];
}

function compileIssues(fn: () => unknown): RouteCompileError['issues'] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RouteCompileError, `expected RouteCompileError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('expected composeRoutes to throw');
}

const WS = { upgrade: 'websocket', connection: 'Upgrade' };

test('Apache: ProxyPass "/ws2/" "ws://echo.websocket.org/"', () => {
  const t = table([{ path: '/ws2/', backend: 'ws://echo.websocket.org/' }]);
  assert.deepEqual(where(t, '/ws2/'), [0, '/']);
  assert.deepEqual(where(t, '/ws2/echo?x=1&y'), [0, '/echo?x=1&y']);
  assert.equal(t.match(req('/ws2')), null, 'the prefix with its trailing slash does not match /ws2');
  assert.equal(t.match(req('/other')), null);
  const b = t.routes[0]!.backend;
  assert.deepEqual({ ...b }, {
    scheme: 'ws',
    secure: false,
    hostname: 'echo.websocket.org',
    port: 80,
    hostHeader: 'echo.websocket.org',
    httpOrigin: 'http://echo.websocket.org:80',
  });
});

test('Apache: ProxyPassMatch ^/(myApp/ws)$ then ProxyPass / on the same backend', () => {
  const t = table([
    { match: '^/(myApp/ws)$', backend: 'ws://backend.example.com:9080/$1' },
    { path: '/', backend: 'http://backend.example.com:9080/' },
  ]);
  assert.deepEqual(where(t, '/myApp/ws', WS), [0, '/myApp/ws']);
  assert.deepEqual(where(t, '/myApp/ws?token=a%20b', WS), [0, '/myApp/ws?token=a%20b']);
  assert.deepEqual(where(t, '/myApp/ws/', WS), [1, '/myApp/ws/'], 'anchored: the trailing slash falls through');
  assert.deepEqual(where(t, '/myApp/index.html?v=2'), [1, '/myApp/index.html?v=2']);
  assert.deepEqual(where(t, '/'), [1, '/']);
  const [ws, http] = t.routes;
  assert.equal(ws!.backend.hostHeader, 'backend.example.com:9080');
  assert.equal(ws!.backend.httpOrigin, 'http://backend.example.com:9080');
  assert.equal(http!.backend.scheme, 'http');
  assert.equal(http!.backend.port, 9080);
});

test('RewriteCond idiom: when.header upgrade/connection picks the WebSocket backend', () => {
  const t = table([
    { path: '/', when: { header: { upgrade: 'websocket', connection: 'upgrade' } }, backend: 'ws://ws-backend:8080/' },
    { path: '/', backend: 'http://web-backend:8080/' },
  ]);
  assert.deepEqual(where(t, '/chat', { Upgrade: 'WebSocket', Connection: 'keep-alive, Upgrade' }), [0, '/chat']);
  assert.deepEqual(where(t, '/chat'), [1, '/chat'], 'no Upgrade header: the condition fails');
  assert.deepEqual(where(t, '/chat', { upgrade: 'websocket' }), [1, '/chat'], 'Connection is required too');
  assert.deepEqual(where(t, '/chat', { upgrade: 'h2c', connection: 'Upgrade' }), [1, '/chat']);
});

test('first match wins, in config order, not the longest prefix', () => {
  const broadFirst = table([
    { path: '/', backend: 'http://a/' },
    { path: '/ws/', backend: 'ws://b/' },
  ]);
  assert.deepEqual(where(broadFirst, '/ws/chat'), [0, '/ws/chat']);
  const narrowFirst = table([
    { path: '/ws/', backend: 'ws://b/' },
    { path: '/', backend: 'http://a/' },
  ]);
  assert.deepEqual(where(narrowFirst, '/ws/chat'), [0, '/chat']);
  assert.deepEqual(where(narrowFirst, '/index.html'), [1, '/index.html']);
});

test('a prefix without a trailing slash matches on a segment boundary', () => {
  const t = table([{ path: '/app', backend: 'ws://b/' }]);
  assert.deepEqual(where(t, '/app'), [0, '/']);
  assert.deepEqual(where(t, '/app/'), [0, '/']);
  assert.deepEqual(where(t, '/app/x/y'), [0, '/x/y']);
  assert.equal(t.match(req('/apple')), null);
  assert.equal(t.match(req('/ap')), null);
  assert.equal(t.match(req('/App')), null, 'paths are case-sensitive');
});

test('ProxyPass mapping: backend path + the rest after the prefix, joined on one slash', () => {
  const cases: [string, string, string, string][] = [
    // prefix, backend, request, backend path
    ['/ws/', 'ws://b/chat/', '/ws/room', '/chat/room'],
    ['/ws/', 'ws://b/chat/', '/ws/', '/chat/'],
    ['/ws/', 'ws://b/chat/', '/ws/a/b/', '/chat/a/b/'],
    ['/', 'ws://b/', '/x', '/x'],
    ['/', 'ws://b', '/x', '/x'],
    ['/app', 'ws://b', '/app', '/'],
    ['/app', 'ws://b', '/app/x', '/x'],
    ['/app', 'ws://b/x', '/app', '/x'],
    ['/app', 'ws://b/x', '/app/y', '/x/y'],
    ['/app', 'ws://b/x/', '/app/y', '/x/y'],
    ['/ws/', 'ws://b/chat', '/ws/room', '/chat/room'],
    ['/ws/', 'ws://b', '/ws/room', '/room'],
    ['/ws/', 'ws://b/a%20b/', '/ws/room', '/a%20b/room'],
  ];
  for (const [prefix, backend, url, expected] of cases) {
    const t = table([{ path: prefix, backend }]);
    assert.equal(matched(t, url).backendPath, expected, `${prefix} → ${backend}: ${url}`);
  }
});

test('a query in the backend URL is kept and the request query appended', () => {
  const t = table([{ path: '/ws/', backend: 'ws://b/chat/?v=2' }]);
  assert.equal(matched(t, '/ws/room').backendPath, '/chat/room?v=2');
  assert.equal(matched(t, '/ws/room?x=1').backendPath, '/chat/room?v=2&x=1');
});

test('matching is on the decoded, normalised path; the backend path is re-encoded', () => {
  const t = table([
    { path: '/ws/', backend: 'ws://b/chat/' },
    { path: '/', backend: 'http://web/' },
  ]);
  assert.deepEqual(where(t, '/ws/../admin'), [1, '/admin']);
  assert.deepEqual(where(t, '/ws/%2e%2e/admin'), [1, '/admin']);
  assert.deepEqual(where(t, '//ws//room'), [0, '/chat/room']);
  assert.deepEqual(where(t, '/%77s/room'), [0, '/chat/room'], '%77 is "w"');
  assert.deepEqual(where(t, '/ws/a%20b?q=%20'), [0, '/chat/a%20b?q=%20']);
  assert.deepEqual(where(t, '/ws/caf%c3%a9'), [0, '/chat/caf%C3%A9']);
  assert.deepEqual(where(t, '/ws/a%3Fb'), [0, '/chat/a%3Fb'], 'an encoded ? stays in the path');
});

test('a malformed target answers bad-request; nothing matching answers null', () => {
  const t = table([{ path: '/ws/', backend: 'ws://b/' }]);
  assert.equal(t.match(req('/ws/a%2Fb')), 'bad-request');
  assert.equal(t.match(req('/ws/%zz')), 'bad-request');
  assert.equal(t.match(req('/ws/%00')), 'bad-request');
  assert.equal(t.match(req('*')), 'bad-request');
  assert.equal(t.match(req('/nope')), null);
});

test('regex routes substitute $0..$9 with re-encoded captures, query passed through', () => {
  const t = table([
    { match: '^/u/([^/]+)/(room|lobby)(/x)?$', backend: 'ws://b/users/$1/$2$3?full=$0' },
    { match: '^/fixed/', backend: 'ws://b/socket' },
    { match: '^/bare/', backend: 'ws://b:9000' },
  ]);
  assert.equal(matched(t, '/u/ann/room').backendPath, '/users/ann/room?full=/u/ann/room');
  assert.equal(matched(t, '/u/ann/lobby/x?k=v').backendPath, '/users/ann/lobby/x?full=/u/ann/lobby/x&k=v');
  assert.equal(matched(t, '/u/a%20b/room').backendPath, '/users/a%20b/room?full=/u/a%20b/room');
  assert.equal(matched(t, '/fixed/anything?q=1').backendPath, '/socket/fixed/anything?q=1', 'no $: the path is appended');
  assert.equal(matched(t, '/bare/x').backendPath, '/bare/x');
});

test('ProxyPassMatch without $n appends the request path, one slash between, re-encoded, queries joined', () => {
  const t = table([
    { match: '^/nb/.*$', backend: 'ws://b/static' },
    { match: '^/slash/', backend: 'ws://b/static/' },
    { match: '^/q/', backend: 'ws://b/static?from=proxy' },
    { match: '^/root/', backend: 'ws://b/' },
  ]);
  assert.equal(matched(t, '/nb/deep/x?q=1').backendPath, '/static/nb/deep/x?q=1');
  // Apache gives //slash/x here; the doubled slash is merged (README, differences from Apache).
  assert.equal(matched(t, '/slash/x').backendPath, '/static/slash/x');
  assert.equal(matched(t, '/slash/').backendPath, '/static/slash/');
  assert.equal(matched(t, '/q/a%20b?k=v').backendPath, '/static/q/a%20b?from=proxy&k=v');
  assert.equal(matched(t, '/q/caf%c3%a9').backendPath, '/static/q/caf%C3%A9?from=proxy');
  assert.equal(matched(t, '/root/../root/y').backendPath, '/root/y', 'the normalised path is what is appended');
});

test('requestHost: an absolute-form authority wins over Host, as in route matching', () => {
  assert.equal(requestHost('/x', 'b.example'), 'b.example');
  assert.equal(requestHost('http://evil.example:9999/ws/echo', 'b.example'), 'evil.example:9999');
  assert.equal(requestHost('HTTPS://A.example?q', 'b.example'), 'A.example', 'as written');
  assert.equal(requestHost('http://a.example', undefined), 'a.example');
  assert.equal(requestHost('/x', undefined), undefined);
  assert.equal(requestHost(undefined, 'b.example'), 'b.example');
});

test('regex routes compile with the u flag and match the decoded path', () => {
  const t = table([{ match: '^/(\\p{L}+)$', backend: 'ws://b/$1' }]);
  assert.equal(matched(t, '/caf%C3%A9').backendPath, '/caf%C3%A9');
  assert.equal(t.match(req('/123')), null);
});

test('host restricts a route: port stripped, case-insensitive, leading wildcard', () => {
  const t = table([
    { host: 'Chat.Example.com', path: '/', backend: 'ws://chat/' },
    { host: '*.example.com', path: '/', backend: 'ws://wild/' },
    { host: '[::1]', path: '/', backend: 'ws://v6/' },
    { path: '/', backend: 'ws://fallback/' },
  ]);
  const on = (host: string | undefined): number => matched(t, '/', host === undefined ? {} : { host }).route.index;
  assert.equal(on('chat.example.com'), 0);
  assert.equal(on('CHAT.EXAMPLE.COM:8443'), 0);
  assert.equal(on('chat.example.com.'), 0, 'the fully-qualified form with a trailing dot');
  assert.equal(on('a.example.com'), 1);
  assert.equal(on('a.b.example.com:80'), 1, 'one or more labels');
  assert.equal(on('example.com'), 3, 'the wildcard needs a label');
  assert.equal(on('badexample.com'), 3);
  assert.equal(on('[::1]:8080'), 2);
  assert.equal(on(undefined), 3, 'no Host: restricted routes do not match');
});

test('an absolute-form target names the host instead of the Host header', () => {
  const t = table([
    { host: 'a.test', path: '/', backend: 'ws://a/' },
    { path: '/', backend: 'ws://other/' },
  ]);
  assert.deepEqual(where(t, 'http://a.test:80/x?y', { host: 'b.test' }), [0, '/x?y']);
  assert.deepEqual(where(t, 'http://b.test/x', { host: 'a.test' }), [1, '/x']);
});

test('when.header: all conditions, case-insensitive unanchored, ! negates and holds when absent', () => {
  const t = table([
    { path: '/', when: { header: { 'X-Env': 'stag', 'X-Debug': '!^(1|yes)$' } }, backend: 'ws://staging/' },
    { path: '/', backend: 'ws://prod/' },
  ]);
  assert.equal(matched(t, '/', { 'x-env': 'STAGING' }).route.index, 0, 'absent negated header holds');
  assert.equal(matched(t, '/', { 'x-env': 'pre-stage', 'x-debug': 'no' }).route.index, 0);
  assert.equal(matched(t, '/', { 'x-env': 'staging', 'x-debug': 'YES' }).route.index, 1);
  assert.equal(matched(t, '/', { 'x-env': 'prod' }).route.index, 1);
  assert.equal(matched(t, '/', { 'x-debug': 'no' }).route.index, 1, 'a positive condition needs the header');
});

test('route options merge over defaults; the route value wins when set', () => {
  const t = table(
    [
      { path: '/a/', backend: 'ws://a/', idleTimeoutMs: 0, preserveHost: true, async: true, highWaterMarkBytes: 4096 },
      { path: '/', backend: 'ws://b/', name: 'fallback', upgradeOnly: true },
    ],
    { defaults: { idleTimeoutMs: 60_000, forwardedHeaders: false, asyncDelayMs: 5 } },
  );
  const [a, b] = t.routes;
  assert.equal(a!.name, '/a/', 'an unnamed route is named for its path');
  assert.equal(a!.idleTimeoutMs, 0, 'an explicit 0 beats the default');
  assert.equal(a!.preserveHost, true);
  assert.equal(a!.async, true);
  assert.equal(a!.highWaterMarkBytes, 4096);
  assert.equal(a!.forwardedHeaders, false);
  assert.equal(a!.asyncDelayMs, 5);
  assert.equal(b!.name, 'fallback');
  assert.equal(b!.index, 1);
  assert.equal(b!.idleTimeoutMs, 60_000);
  assert.equal(b!.connectTimeoutMs, 5_000);
  assert.equal(b!.handshakeTimeoutMs, 30_000);
  assert.equal(b!.preserveHost, false);
  assert.equal(b!.async, false);
  assert.equal(b!.highWaterMarkBytes, 256 * 1024);
  assert.equal(b!.upgradeOnly, true);
  assert.equal(a!.upgradeOnly, false);
  assert.ok(Object.isFrozen(t.routes) && Object.isFrozen(a));
});

test('upgrade policies', () => {
  const t = table([
    { path: '/1', backend: 'ws://b/' },
    { path: '/2', backend: 'ws://b/', upgrade: 'ANY' },
    { path: '/3', backend: 'ws://b/', upgrade: 'none' },
    { path: '/4', backend: 'ws://b/', upgrade: 'WebSocket' },
    { path: '/5', backend: 'ws://b/', upgrade: ['WebSocket', 'h2c', 'websocket'] },
  ]);
  assert.deepEqual(
    t.routes.map((r) => r.upgrade),
    [
      { kind: 'list', protocols: ['websocket'] },
      { kind: 'any' },
      { kind: 'none' },
      { kind: 'list', protocols: ['websocket'] },
      { kind: 'list', protocols: ['websocket', 'h2c'] },
    ],
  );
});

test('upgrade defaults follow the backend scheme; false never tunnels', () => {
  const t = table([
    { path: '/1', backend: 'ws://b/' },
    { path: '/2', backend: 'wss://b/' },
    { path: '/3', backend: 'http://b/' },
    { path: '/4', backend: 'https://b/' },
    { path: '/5', backend: 'http://b/', upgrade: 'websocket' },
    { path: '/6', backend: 'ws://b/', upgrade: false },
  ]);
  const websocket = { kind: 'list', protocols: ['websocket'] };
  assert.deepEqual(
    t.routes.map((r) => r.upgrade),
    [websocket, websocket, { kind: 'never' }, { kind: 'never' }, websocket, { kind: 'never' }],
  );
});

test('balancer routes: one policy from the route, else the balancer, else the members, which must agree', () => {
  type BalancerInput = NonNullable<ConfigInput['balancers']>[string];
  const balancers = (extra: Partial<BalancerInput> = {}, members: BalancerInput['members'] = []) => ({
    balancers: { pool: { members: [{ url: 'ws://a:1' }, { url: 'http://b:1' }, ...members], ...extra } },
  });
  const policy = (route: Partial<RoutesInput[number]>, extra?: Partial<BalancerInput>) =>
    table([{ path: '/', backend: 'balancer://pool/', ...route }], balancers(extra)).routes[0]!.upgrade;
  const websocket = { kind: 'list', protocols: ['websocket'] };
  assert.deepEqual(policy({ upgrade: false }), { kind: 'never' }, 'the route decides');
  assert.deepEqual(policy({}, { upgrade: 'websocket' }), websocket, 'else the balancer');
  assert.deepEqual(policy({ upgrade: 'ANY' }, { upgrade: false }), { kind: 'any' }, 'the route wins over the balancer');
  assert.deepEqual(policy({}, { strategy: 'socketio' }), websocket, 'socketio defaults to WebSocket');
  assert.deepEqual(policy({}, { strategy: 'socketio', upgrade: false }), { kind: 'never' });
  // Every member on one policy: a member's own `upgrade` counts, else its scheme's default.
  const agreeing = table([{ path: '/', backend: 'balancer://pool/' }], {
    balancers: { pool: { members: [{ url: 'ws://a:1' }, { url: 'http://b:1', upgrade: 'WebSocket' }] } },
  });
  assert.deepEqual(agreeing.routes[0]!.upgrade, websocket);
  const plain = table([{ path: '/', backend: 'balancer://pool/' }], {
    balancers: { pool: { members: [{ url: 'http://a:1' }, { url: 'https://b:1' }] } },
  });
  assert.deepEqual(plain.routes[0]!.upgrade, { kind: 'never' });
  // The balancer-level policy reaches every member target.
  const lb = table([{ path: '/', backend: 'balancer://pool/', upgrade: 'mqtt' }], balancers()).routes[0]!.balancer!;
  assert.deepEqual(lb.targets.map((x) => x.route.upgrade), [{ kind: 'list', protocols: ['mqtt'] }, { kind: 'list', protocols: ['mqtt'] }]);

  const issues = compileIssues(() =>
    table(
      [
        { path: '/a', backend: 'balancer://pool/' },
        { path: '/b', backend: 'balancer://pool/', upgrade: 'websocket' },
      ],
      balancers({}, [{ url: 'http://c:1', upgrade: 'websocket' }]),
    ),
  );
  assert.deepEqual(issues.map((i) => i.path), [['routes', 0, 'upgrade']]);
  assert.equal(
    issues[0]!.message,
    'the members of balancer "pool" disagree on which upgrades to tunnel (members[0] ws://a:1, members[2] http://c:1 → ' +
      'upgrade websocket; members[1] http://b:1 → upgrade false); set `upgrade` on this route or on balancers.pool ' +
      '(e.g. websocket, or false to proxy upgrades as plain HTTP)',
  );
});

test('upgradeOnly on a route that never tunnels is a compile error', () => {
  const issues = compileIssues(() =>
    table([
      { path: '/a', backend: 'http://b/', upgradeOnly: true },
      { path: '/b', backend: 'ws://b/', upgrade: false, upgradeOnly: true },
      { path: '/c', backend: 'http://b/', upgrade: 'websocket', upgradeOnly: true },
    ]),
  );
  assert.deepEqual(issues.map((i) => i.path), [['routes', 0, 'upgradeOnly'], ['routes', 1, 'upgradeOnly']]);
  assert.match(issues[0]!.message, /http:\/\/ or https:\/\/ backend proxies upgrade requests as plain HTTP unless `upgrade` is set/);
  assert.match(issues[1]!.message, /`upgrade: false`/);
});

test('backend origins: default ports, IPv6, schemes, lower-cased host', () => {
  const origin = (backend: string) => ({ ...table([{ path: '/', backend }]).routes[0]!.backend });
  assert.deepEqual(origin('wss://Secure.Example:443/x'), {
    scheme: 'wss',
    secure: true,
    hostname: 'secure.example',
    port: 443,
    hostHeader: 'secure.example',
    httpOrigin: 'https://secure.example:443',
  });
  assert.deepEqual(origin('HTTPS://h:8443'), {
    scheme: 'https',
    secure: true,
    hostname: 'h',
    port: 8443,
    hostHeader: 'h:8443',
    httpOrigin: 'https://h:8443',
  });
  assert.deepEqual(origin('ws://h:80/'), {
    scheme: 'ws',
    secure: false,
    hostname: 'h',
    port: 80,
    hostHeader: 'h',
    httpOrigin: 'http://h:80',
  });
  assert.deepEqual(origin('ws://[::1]:9000/'), {
    scheme: 'ws',
    secure: false,
    hostname: '::1',
    port: 9000,
    hostHeader: '[::1]:9000',
    httpOrigin: 'http://[::1]:9000',
  });
  assert.equal(origin('http://[2001:DB8::1]/').hostHeader, '[2001:db8::1]');
  assert.equal(origin('http://127.0.0.1:3000').hostname, '127.0.0.1');
});

test('TLS: caFile read once through readFile, defaults inherited, route tls wins, plain backends get none', () => {
  const reads: string[] = [];
  const readFile = (p: string): string => {
    reads.push(p);
    return `PEM of ${p}`;
  };
  const t = table(
    [
      { path: '/a', backend: 'wss://a/' },
      { path: '/b', backend: 'https://b/' },
      { path: '/c', backend: 'wss://c/', tls: { rejectUnauthorized: false, servername: 'c.internal' } },
      { path: '/d', backend: 'ws://d/' },
    ],
    { defaults: { tls: { caFile: '/etc/ca.pem' } } },
    { readFile },
  );
  const [a, b, c, d] = t.routes;
  assert.deepEqual(a!.tls, { ca: 'PEM of /etc/ca.pem', rejectUnauthorized: true });
  assert.deepEqual(b!.tls, a!.tls);
  assert.deepEqual(c!.tls, { rejectUnauthorized: false, servername: 'c.internal' });
  assert.equal(d!.tls, undefined);
  assert.deepEqual(reads, ['/etc/ca.pem']);
  const noTls = table([{ path: '/', backend: 'wss://x/' }]);
  assert.deepEqual(noTls.routes[0]!.tls, { rejectUnauthorized: true }, 'verification is on by default');
});

test('an unreadable caFile is a compile issue at the key that set it', () => {
  const readFile = (p: string): string => {
    throw new Error(`ENOENT: ${p}`);
  };
  const issues = compileIssues(() =>
    table(
      [
        { path: '/a', backend: 'wss://a/' },
        { path: '/b', backend: 'wss://b/' },
        { path: '/c', backend: 'wss://c/', tls: { caFile: '/route-ca.pem' } },
      ],
      { defaults: { tls: { caFile: '/missing.pem' } } },
      { readFile },
    ),
  );
  assert.deepEqual(
    issues.map((i) => i.path),
    [
      ['defaults', 'tls', 'caFile'],
      ['routes', 2, 'tls', 'caFile'],
    ],
  );
  assert.match(issues[0]!.message, /\/missing\.pem.*ENOENT/);
});

test('scheme other than ws/wss/http/https is a compile error naming the route and the allowed schemes', () => {
  const issues = compileIssues(() =>
    table([
      { path: '/ok', backend: 'ws://b/' },
      { path: '/', backend: 'ftp://b/' },
    ]),
  );
  assert.equal(issues.length, 1);
  assert.deepEqual(issues[0]!.path, ['routes', 1, 'backend']);
  for (const s of ['ws://', 'wss://', 'http://', 'https://']) assert.ok(issues[0]!.message.includes(s), s);
});

test('malformed backend URLs are compile errors', () => {
  const bad = [
    'b:8080',
    '/relative',
    'ws://',
    'ws://b:99999/',
    'ws://b:0/',
    'ws://user:pw@b/',
    'ws://b/x#frag',
    'ws://b/a b',
    'ws://b/é',
  ];
  for (const backend of bad) {
    const issues = compileIssues(() => table([{ path: '/', backend }]));
    assert.deepEqual(issues.map((i) => i.path), [['routes', 0, 'backend']], backend);
  }
});

test('an invalid match pattern is a compile error naming the route index', () => {
  const issues = compileIssues(() =>
    table([
      { path: '/', backend: 'ws://b/' },
      { match: '^/(unclosed', backend: 'ws://b/' },
      { match: '^/a\\-b$', backend: 'ws://b/' }, // an identity escape is invalid with the u flag
    ]),
  );
  assert.deepEqual(
    issues.map((i) => i.path),
    [
      ['routes', 1, 'match'],
      ['routes', 2, 'match'],
    ],
  );
  assert.match(issues[0]!.message, /regular expression/);
});

test('$n placeholders: beyond the group count, or in the host or port, are compile errors', () => {
  const issues = compileIssues(() =>
    table([
      { match: '^/(a)/(b)$', backend: 'ws://b/$1/$3' },
      { match: '^/(a)$', backend: 'ws://$1.internal/' },
      { match: '^/(\\d+)$', backend: 'ws://b:$1/' },
      { match: '^/(a)$', backend: 'ws://b/?x=$2' },
    ]),
  );
  assert.deepEqual(
    issues.map((i) => i.path),
    [0, 1, 2, 3].map((i) => ['routes', i, 'backend']),
  );
  assert.match(issues[0]!.message, /\$3.*has 2/);
  assert.match(issues[1]!.message, /host or port/);
});

test('host patterns, header patterns, prefixes and names are checked', () => {
  const issues = compileIssues(() =>
    table([
      { host: 'example.com:8080', path: '/', backend: 'ws://b/' },
      { host: 'a.*.example.com', path: '/', backend: 'ws://b/' },
      { path: '/a//b', backend: 'ws://b/' },
      { path: '/a/../b', backend: 'ws://b/' },
      { path: '/', when: { header: { upgrade: '(websocket' } }, backend: 'ws://b/' },
      { name: 'dup', path: '/', backend: 'ws://b/' },
      { name: 'dup', path: '/', backend: 'ws://b/' },
    ]),
  );
  assert.deepEqual(
    issues.map((i) => i.path),
    [
      ['routes', 0, 'host'],
      ['routes', 1, 'host'],
      ['routes', 2, 'path'],
      ['routes', 3, 'path'],
      ['routes', 4, 'when', 'header', 'upgrade'],
      ['routes', 6, 'name'],
    ],
  );
});

test('all issues are collected into one RouteCompileError, a WSP_CONFIG_INVALID error', () => {
  let caught: unknown;
  try {
    table([
      { match: '(', backend: 'ws://b/' },
      { path: '/', backend: 'gopher://b/' },
      { path: '/', backend: 'ws://b/' },
      { match: '[', backend: 'tcp://b/' },
    ]);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof RouteCompileError);
  assert.ok(caught instanceof WspassError);
  assert.equal(caught.code, 'WSP_CONFIG_INVALID');
  assert.deepEqual(
    caught.issues.map((i) => i.path),
    [
      ['routes', 0, 'match'],
      ['routes', 1, 'backend'],
      ['routes', 3, 'match'],
      ['routes', 3, 'backend'],
    ],
  );
  assert.match(caught.message, /routes\[0\]\.match: /);
  assert.match(caught.message, /routes\[3\]\.backend: /);
});

test('unnamed routes are named for what they match, so their labels survive routes moving around them', () => {
  const routes = [
    { path: '/ws/', backend: 'ws://a/' },
    { match: '^/x/(.*)$', backend: 'ws://b/$1' },
    { path: '/ws/', host: ['a.test', '*.b.test'], backend: 'ws://c/' },
    { path: '/ws/', when: { header: { 'x-v': '2' } }, backend: 'ws://d/' },
    { name: '/api/', path: '/other/', backend: 'ws://e/' },
    { path: '/api/', backend: 'ws://f/' },
  ];
  const names = routeNames(routes);
  assert.deepEqual(names, ['/ws/', '~^/x/(.*)$', '/ws/ host=a.test,*.b.test', '/ws/ #2', '/api/', '/api/ #2']);
  // A route added in front and the order changed: each keeps its label.
  const moved = routeNames([{ path: '/new/', backend: 'ws://n/' }, routes[2]!, routes[1]!, routes[0]!]);
  assert.deepEqual(moved, ['/new/', '/ws/ host=a.test,*.b.test', '~^/x/(.*)$', '/ws/']);
  assert.deepEqual(table(routes).routes.map((r) => r.name), names, 'the route table uses the same names');
});
