// `%n` in a match route's backend (mod_rewrite's RewriteCond back-references): the groups of the last
// `when` pattern that matched, the `any` alternative that held counting before `header`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { RouteCompileError } from '../../src/routing/compile-issues.js';
import type { RouteTable } from '../../src/routing/route-table.js';
import { composeRoutes } from '../../src/server/compose-routes.js';
import type { RequestFacts } from '../../src/routing/types.js';

function table(routes: ConfigInput['routes']): RouteTable {
  return composeRoutes(configSchema.parse({ listen: '127.0.0.1:0', routes }));
}

function req(url: string, headers: Record<string, string> = {}): RequestFacts {
  const map = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { url, host: map.get('host'), header: (name) => map.get(name) };
}

function backendPath(t: RouteTable, url: string, headers: Record<string, string>): string | null {
  const m = t.match(req(url, headers));
  assert.notEqual(m, 'bad-request');
  return m === null || m === 'bad-request' || 'respond' in m ? null : m.backendPath;
}

test('%n takes the groups of the last header pattern that matched, beside $n', () => {
  const t = table([
    {
      match: '^/(.*)$',
      when: { header: { upgrade: 'websocket', host: '^([a-z]+)\\.example\\.test$' } },
      backend: 'ws://b/%1/$1?site=%1',
    },
  ]);
  assert.equal(backendPath(t, '/chat', { upgrade: 'websocket', host: 'blue.example.test' }), '/blue/chat?site=blue');
  assert.equal(backendPath(t, '/chat', { upgrade: 'websocket', host: 'other.test' }), null);
});

test('a negated pattern captures nothing; without any group %n is empty', () => {
  const t = table([{ match: '^/x$', when: { header: { 'x-a': '^(a+)', 'x-b': '!^(b)' } }, backend: 'ws://b/%1/%0' }]);
  assert.equal(backendPath(t, '/x', { 'x-a': 'aa' }), '/aa/aa');
  const none = table([{ match: '^/x$', when: { header: { 'x-b': '!^(b)' } }, backend: 'ws://b/p%0' }]);
  assert.equal(backendPath(none, '/x', {}), '/p');
});

test('the `any` alternative that held counts before `header`', () => {
  const t = table([
    {
      match: '^/$',
      when: { any: [{ header: { 'x-a': '^(a\\d)' } }, { header: { 'x-b': '^(b\\d)' } }], header: { 'x-c': '!x' } },
      backend: 'ws://b/%1',
    },
  ]);
  assert.equal(backendPath(t, '/', { 'x-b': 'b2' }), '/b2');
  assert.equal(backendPath(t, '/', { 'x-a': 'a1', 'x-b': 'b2' }), '/a1');
  const later = table([
    { match: '^/$', when: { any: [{ header: { 'x-a': '^(a\\d)' } }], header: { 'x-c': '^(c\\d)' } }, backend: 'ws://b/%1' },
  ]);
  assert.equal(backendPath(later, '/', { 'x-a': 'a1', 'x-c': 'c3' }), '/c3');
});

test('%2F stays a percent-encoded slash; %n past every condition, in a prefix route or the host is refused', () => {
  const t = table([{ match: '^/x$', when: { header: { 'x-a': '(a)' } }, backend: 'ws://b/p%2Fq/%1' }]);
  assert.equal(backendPath(t, '/x', { 'x-a': 'a' }), '/p%2Fq/a');
  const refused = (routes: ConfigInput['routes']): string[] => {
    try {
      table(routes);
    } catch (err) {
      assert.ok(err instanceof RouteCompileError);
      return err.issues.map((i) => i.message);
    }
    return assert.fail('expected a compile error');
  };
  assert.match(refused([{ match: '^/x$', when: { header: { 'x-a': '(a)' } }, backend: 'ws://b/%2' }])[0]!, /%2 refers to a capture group/);
  assert.match(refused([{ path: '/x', backend: 'ws://b/%1' }])[0]!, /only in a `match` route/);
  assert.match(refused([{ match: '^/x$', backend: 'ws://%1.b/' }])[0]!, /not in the host/);
});
