// Exclusion routes (`exclude: true`, Apache's `ProxyPass path !`), host lists and `when.any` alternatives on routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { RouteCompileError } from '../../src/routing/compile-issues.js';
import type { RouteTable } from '../../src/routing/route-table.js';
import type { RequestFacts } from '../../src/routing/types.js';
import { composeRoutes } from '../../src/server/compose-routes.js';

function table(routes: ConfigInput['routes']): RouteTable {
  return composeRoutes(configSchema.parse({ listen: '127.0.0.1:0', routes }));
}

function req(url: string, headers: Record<string, string> = {}): RequestFacts {
  return { url, host: headers.host, header: (name) => headers[name] };
}

test('an exclusion stops the search: later routes never see its paths', () => {
  const t = table([
    { path: '/ws/private', exclude: true },
    { path: '/ws', backend: 'ws://b:1/' },
  ]);
  assert.equal(t.match(req('/ws/private/x')), null);
  const other = t.match(req('/ws/privateer'));
  assert.ok(other !== null && other !== 'bad-request' && !('respond' in other), 'a path that only starts with the same letters is not excluded');
  assert.equal(other.backendPath, '/privateer');
  assert.equal(t.routes.length, 1, 'exclusions are not routes of the table');
});

test('an exclusion with a header condition excludes only matching requests', () => {
  const t = table([
    { path: '/', when: { header: { upgrade: 'websocket' } }, exclude: true },
    { path: '/', backend: 'http://b:1/' },
  ]);
  assert.equal(t.match(req('/x', { upgrade: 'websocket' })), null);
  const m = t.match(req('/x'));
  assert.ok(m !== null && m !== 'bad-request' && !('respond' in m));
  assert.equal(m.backendPath, '/x');
});

test('exclude and backend together, or neither, are refused', () => {
  assert.equal(configSchema.safeParse({ listen: ':1', routes: [{ path: '/', exclude: true, backend: 'ws://b/' }] }).success, false);
  assert.equal(configSchema.safeParse({ listen: ':1', routes: [{ path: '/' }] }).success, false);
});

test('a host list matches any of its names, wildcards included', () => {
  const t = table([
    { path: '/', host: ['a.example', '*.b.example'], backend: 'ws://a:1/' },
    { path: '/', backend: 'ws://d:1/' },
  ]);
  const idx = (host: string) => {
    const m = t.match(req('/', { host }));
    return m !== null && m !== 'bad-request' && !('respond' in m) ? m.route.index : -1;
  };
  assert.equal(idx('a.example'), 0);
  assert.equal(idx('x.b.example:8080'), 0);
  assert.equal(idx('c.example'), 1);
});

test('a bad name in a host list is reported at its index', () => {
  assert.throws(
    () => table([{ path: '/', host: ['ok.example', 'bad:1'], backend: 'ws://a:1/' }]),
    (err: unknown) => err instanceof RouteCompileError && err.issues.some((i) => i.path.join('.') === 'routes.0.host.1'),
  );
});

test('when.any: at least one alternative must hold, beside every when.header condition', () => {
  const t = table([
    { path: '/', when: { header: { connection: 'upgrade' }, any: [{ header: { upgrade: '^websocket$' } }, { header: { upgrade: '^mqtt$' } }] }, backend: 'ws://a:1/' },
    { path: '/', backend: 'http://d:1/' },
  ]);
  const idx = (headers: Record<string, string>) => {
    const m = t.match(req('/', headers));
    return m !== null && m !== 'bad-request' && !('respond' in m) ? m.route.index : -1;
  };
  assert.equal(idx({ connection: 'Upgrade', upgrade: 'MQTT' }), 0);
  assert.equal(idx({ connection: 'Upgrade', upgrade: 'websocket' }), 0);
  assert.equal(idx({ connection: 'Upgrade', upgrade: 'h2c' }), 1);
  assert.equal(idx({ upgrade: 'websocket' }), 1);
});
