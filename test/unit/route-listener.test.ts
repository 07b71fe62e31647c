// `routes[].listener`: a route serves only the listeners it names (by `listen[].name`), as an httpd
// <VirtualHost addr:port> serves only its own port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { RouteCompileError } from '../../src/routing/compile-issues.js';
import { composeRoutes } from '../../src/server/compose-routes.js';
import type { RequestFacts } from '../../src/routing/types.js';

const LISTEN = [
  { address: '127.0.0.1:0', name: 'web' },
  { address: '127.0.0.1:0', name: 'secure' },
  '127.0.0.1:0',
];

function req(url: string, listener: number | undefined): RequestFacts {
  return { url, host: 'h', header: () => undefined, ...(listener !== undefined && { listener }) };
}

test('a scoped route matches only on its listeners; unscoped routes on every one', () => {
  const t = composeRoutes(
    configSchema.parse({
      listen: LISTEN,
      routes: [
        { listener: 'web', path: '/', backend: 'ws://web/' },
        { listener: ['secure'], path: '/', backend: 'ws://secure/' },
        { path: '/', backend: 'ws://any/' },
      ],
    }),
  );
  const backend = (listener: number | undefined): string => {
    const m = t.match(req('/x', listener));
    assert.ok(m !== null && m !== 'bad-request' && !('respond' in m));
    return m.route.backend.hostname;
  };
  assert.deepEqual([backend(0), backend(1), backend(2), backend(undefined)], ['web', 'secure', 'any', 'any']);
});

test('an unknown listener name, and a name given twice, are config errors with their key path', () => {
  const issues = (input: Partial<ConfigInput>): string[] => {
    try {
      composeRoutes(configSchema.parse({ listen: LISTEN, routes: [{ path: '/', backend: 'ws://b/' }], ...input }));
    } catch (err) {
      assert.ok(err instanceof RouteCompileError);
      return err.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    }
    return [];
  };
  assert.deepEqual(issues({ routes: [{ listener: ['web', 'tls'], path: '/', backend: 'ws://b/' }] }), [
    'routes.0.listener.1: no listener named "tls" in `listen` (named: web, secure)',
  ]);
  assert.deepEqual(issues({ listen: [{ address: ':1', name: 'a' }, { address: ':2', name: 'a' }] }), ['listen.1.name: name "a" is already used by listen[0]']);
});
