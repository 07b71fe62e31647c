// A health-check path that is not a request target is refused by the schema; and should a probe still
// fail to be built, it counts as a failed probe instead of throwing inside the primary's timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { HealthChecker } from '../../src/balancer/health-checker.js';
import { MemberTable } from '../../src/balancer/member-table.js';
import { configSchema } from '../../src/config/schema.js';
import { composeRoutes } from '../../src/server/compose-routes.js';

const input = (path: string) => ({
  listen: '127.0.0.1:0',
  balancers: { pool: { members: [{ url: 'http://127.0.0.1:9' }], healthCheck: { path, intervalMs: 60_000, fall: 1 } } },
  routes: [{ path: '/', backend: 'balancer://pool/' }],
});

test('the schema refuses a health-check path with a space, a control character or a fragment', () => {
  for (const bad of ['/a b', '/a\tb', '/x#y', 'health', '/é']) {
    const r = configSchema.safeParse(input(bad));
    assert.equal(r.success, false, bad);
    assert.match(JSON.stringify(r.error?.issues), /must be a request target/);
  }
  assert.equal(configSchema.safeParse(input('/health?full=1&x=%20')).success, true);
});

test('a probe that cannot be built is a failed probe, not an exception', async (t) => {
  const config = configSchema.parse(input('/ok'));
  // What a config from elsewhere (not the schema) could carry: node:http throws on it.
  (config.balancers!.pool!.healthCheck as { path: string }).path = '/a b';
  const table = new MemberTable(config);
  const checker = new HealthChecker(table, composeRoutes(config, { members: table }).balancers.values());
  t.after(() => checker.close());
  const probe = once(checker, 'probe');
  const down = once(checker, 'down');
  checker.start();
  const [event] = (await probe) as [{ ok: boolean; detail: string }];
  assert.equal(event.ok, false);
  assert.match(event.detail, /unescaped|invalid/i);
  await down;
});
