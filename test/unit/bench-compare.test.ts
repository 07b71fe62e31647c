// Bench --engine / --compare: the arguments, the generated incumbent configs and the ratio table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgError, parseBenchArgs } from '../../bench/args.js';
import { haproxyConfig, nginxConfig } from '../../bench/reference/configs.js';
import { incumbentRows, incumbentTable } from '../../bench/report/incumbents.js';
import { goalRows, goalTable } from '../../bench/report/goals.js';
import type { CaseResult } from '../../bench/scenarios/types.js';

test('--engine and --compare take known names, only for runs and not with --target', () => {
  const a = parseBenchArgs(['--compare', 'nginx,haproxy,nginx', '--engine', 'js']);
  assert.deepEqual(a.compare, ['nginx', 'haproxy']);
  assert.deepEqual(a.engines, ['js']);
  assert.equal(parseBenchArgs([]).engines, undefined);
  assert.throws(() => parseBenchArgs(['--compare', 'apache']), (e: unknown) => e instanceof ArgError && /"apache" is not one of nginx, haproxy, node-minimal/.test(e.message));
  assert.throws(() => parseBenchArgs(['gate', '--compare', 'nginx']), /for runs/);
  assert.throws(() => parseBenchArgs(['--target', 'ws://127.0.0.1:1/', '--backend-port', '2', '--engine', 'js']), /not with --target/);
});

test('incumbent configs: the listener, the backend, tunnel timeouts and file descriptors within 20,000', () => {
  const n = nginxConfig({ dir: '/tmp/x', port: 4100, backendPort: 4200 });
  assert.match(n, /listen 127\.0\.0\.1:4100/);
  assert.match(n, /server 127\.0\.0\.1:4200/);
  assert.match(n, /proxy_set_header Upgrade \$http_upgrade/);
  assert.match(n, /access_log off/);
  const h = haproxyConfig({ port: 4100, backendPort: 4200 });
  assert.match(h, /bind 127\.0\.0\.1:4100/);
  assert.match(h, /server b 127\.0\.0\.1:4200/);
  assert.match(h, /timeout tunnel 1h/);
  // HAProxy asks for about 2 fds per maxconn at start and refuses to run when the limit is lower.
  for (const m of h.matchAll(/maxconn (\d+)/g)) assert.ok(2 * Number(m[1]) + 100 < 20_000);
});

function c(scenario: CaseResult['scenario'], variant: CaseResult['variant'], label: string, cost: number | null, reference?: string): CaseResult {
  return {
    scenario, variant, label, settings: {} as CaseResult['settings'], attempts: 1, units: 1, throughput: { value: 1, unit: 'msg/s' },
    latency: null, cpu: null, cost: { unit: 'µs/msg', proxy: cost, backend: null }, errors: 0, warnings: [],
    ...(reference ? { reference } : {}),
  };
}

test('the ratio table divides each wspass engine by the cheaper of nginx and HAProxy, and by the minimal Node proxy', () => {
  const rows = incumbentRows([
    c('echo', 'direct', 'direct', null),
    c('echo', 'wspass', 'wspass native', 30),
    c('echo', 'wspass', 'wspass js', 40),
    c('echo', 'reference', 'nginx', 26, 'nginx'),
    c('echo', 'reference', 'haproxy', 25, 'haproxy'),
    c('echo', 'reference', 'node-minimal', 35, 'node-minimal'),
    c('bulk', 'wspass', 'wspass native', 2000),
  ]);
  assert.equal(rows.length, 1, 'only scenarios a reference ran in');
  assert.deepEqual(rows[0]!.best, { name: 'haproxy', cost: 25 });
  const table = incumbentTable(rows);
  assert.deepEqual(table.map((r) => [r[1], r[3], r[4]]), [
    ['wspass native', '1.20× (haproxy 25)', '0.86× (35)'],
    ['wspass js', '1.60× (haproxy 25)', '1.14× (35)'],
  ]);
});

test('the access log\'s cost: the case with it on against the same engine with it off', async () => {
  const { optionCostLines } = await import('../../bench/report/option-cost.js');
  const on = { ...c('handshake', 'wspass', 'wspass native +access log', 330), engine: 'native' as const, accessLog: true };
  const off = { ...c('handshake', 'wspass', 'wspass native', 300), engine: 'native' as const };
  const js = { ...c('handshake', 'wspass', 'wspass js', 500), engine: 'js' as const };
  assert.deepEqual(optionCostLines([off, js, on], 'accessLog'), ['handshake · wspass native +access log: 330 against 300 µs/msg with the defaults (+30, 10 %)']);
});

test('the native front\'s saving: the case with it off against the native engine with the defaults', async () => {
  const { optionCostLines } = await import('../../bench/report/option-cost.js');
  const on = { ...c('handshake', 'wspass', 'wspass native', 255), engine: 'native' as const };
  const log = { ...c('handshake', 'wspass', 'wspass native +access log', 330), engine: 'native' as const, accessLog: true };
  const off = { ...c('handshake', 'wspass', 'wspass native -front', 300), engine: 'native' as const, noFront: true };
  assert.deepEqual(optionCostLines([log, off, on], 'noFront'), ['handshake · wspass native -front: 300 against 255 µs/msg with the defaults (+45, 18 %)']);
});

test('the cost goals: each engine against the goal\'s own reference, the message figure at many connections and the p99 at one', () => {
  const at = (x: CaseResult, connections: number, p99Us?: number): CaseResult => ({
    ...x,
    settings: { ...x.settings, connections },
    ...(p99Us === undefined ? {} : { latency: { p50Us: p99Us / 2, p90Us: p99Us, p99Us, p999Us: p99Us, maxUs: p99Us } as CaseResult['latency'] }),
  });
  const rows = goalRows([
    at(c('echo', 'wspass', 'wspass native', 26), 50),
    at(c('echo', 'wspass', 'wspass js', 40), 50),
    at(c('echo', 'reference', 'nginx', 26, 'nginx'), 50),
    at(c('echo', 'reference', 'haproxy', 25, 'haproxy'), 50),
    at(c('echo', 'wspass', 'wspass native', 10), 1, 900),
    at(c('echo', 'reference', 'haproxy', 10, 'haproxy'), 1, 800),
    at(c('idle', 'wspass', 'wspass native', 2), 5000),
    at(c('idle', 'reference', 'haproxy', 4, 'haproxy'), 5000),
    at(c('idle', 'reference', 'nginx', 1, 'nginx'), 5000),
    at(c('handshake', 'wspass', 'wspass native', 500), 16),
    at(c('bulk', 'wspass', 'wspass native', 2000), 4),
  ]);
  const by = (figure: string, label: string) => rows.find((r) => r.goal.figure === figure && r.label === label);
  const msg = by('CPU per 64 B message', 'wspass native')!;
  assert.equal(msg.reference!.name, 'haproxy', 'the cheaper incumbent');
  assert.equal(Number(msg.ratio!.toFixed(2)), 1.04);
  assert.equal(msg.met, true);
  assert.equal(by('CPU per 64 B message', 'wspass js')!.met, false);
  const rtt = by('round trip p99, 1 connection', 'wspass native')!;
  assert.equal(rtt.reference!.value, 800);
  assert.equal(Number(rtt.ratio!.toFixed(3)), 1.125);
  const idle = by('RSS per idle tunnel', 'wspass native')!;
  assert.equal(idle.reference!.name, 'haproxy', 'memory is against HAProxy, even when nginx is lower');
  assert.equal(idle.ratio, 0.5);
  assert.equal(by('CPU per handshake', 'wspass native'), undefined, 'no minimal Node proxy ran: no row');
  assert.equal(by('CPU per GB', 'wspass native'), undefined);
  assert.match(goalTable(rows).map((r) => r.join(' ')).join('\n'), /≤ 0\.6× HAProxy \(required\) met/);
});
