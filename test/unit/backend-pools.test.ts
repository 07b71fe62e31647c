// Which routes share an undici pool, and the pools' close/destroy lifecycle. Pools connect lazily, so
// no socket is opened here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WspassError } from '../../src/errors.js';
import { BackendPools } from '../../src/http/backend-pools.js';
import { compiledRoute } from '../helpers/route-fixtures.js';

test('routes to the same origin with the same connect options share one pool', (t) => {
  const pools = new BackendPools();
  t.after(() => pools.destroy());
  const a = compiledRoute('http://127.0.0.1:8080/a', { index: 0 });
  const b = compiledRoute('ws://127.0.0.1:8080/b', { index: 1, handshakeTimeoutMs: 1 });
  assert.equal(pools.get(a), pools.get(b));
  assert.equal(pools.get(a), pools.get(a));
  assert.equal(pools.size, 1);
});

test('a different origin, connect timeout or TLS setting gets its own pool', (t) => {
  const pools = new BackendPools();
  t.after(() => pools.destroy());
  const base = pools.get(compiledRoute('https://example.test:8443/'));
  const others = [
    compiledRoute('https://example.test:9443/'),
    compiledRoute('http://example.test:8443/'),
    compiledRoute('https://example.test:8443/', { connectTimeoutMs: 1 }),
    compiledRoute('https://example.test:8443/', { tls: { rejectUnauthorized: false } }),
    compiledRoute('https://example.test:8443/', { tls: { rejectUnauthorized: true, servername: 'other.test' } }),
    compiledRoute('https://example.test:8443/', { tls: { rejectUnauthorized: true, ca: 'not a real PEM' } }),
  ];
  const seen = new Set([base]);
  for (const route of others) seen.add(pools.get(route));
  assert.equal(seen.size, others.length + 1);
  assert.equal(pools.size, others.length + 1);
});

test('TLS settings are ignored for plain origins', (t) => {
  const pools = new BackendPools();
  t.after(() => pools.destroy());
  const plain = pools.get(compiledRoute('http://127.0.0.1:8080/'));
  const withTls = pools.get(compiledRoute('http://127.0.0.1:8080/', { tls: { rejectUnauthorized: false } }));
  assert.equal(plain, withTls);
});

test('after close() no pool is handed out, and close/destroy are idempotent', async () => {
  const pools = new BackendPools();
  const pool = pools.get(compiledRoute('http://127.0.0.1:8080/'));
  const first = pools.close();
  assert.equal(pools.close(), first);
  await first;
  assert.equal(pool.closed, true);
  assert.throws(
    () => pools.get(compiledRoute('http://127.0.0.1:8081/')),
    (err: unknown) => err instanceof WspassError && err.code === 'WSP_SHUTTING_DOWN',
  );
  const destroyed = pools.destroy();
  assert.equal(pools.destroy(), destroyed);
  await destroyed;
  assert.equal(pool.destroyed, true);
});

test('destroy() without close() destroys every pool', async () => {
  const pools = new BackendPools();
  const a = pools.get(compiledRoute('http://127.0.0.1:8080/'));
  const b = pools.get(compiledRoute('http://127.0.0.1:8081/'));
  await pools.destroy();
  assert.equal(a.destroyed, true);
  assert.equal(b.destroyed, true);
  assert.throws(() => pools.get(compiledRoute('http://127.0.0.1:8080/')), WspassError);
});
