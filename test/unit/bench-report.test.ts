// Bench: the capacity summary maths, the terminal table and the self-contained HTML report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capacityOf } from '../../bench/report/capacity.js';
import { htmlReport, ninesOf } from '../../bench/report/html.js';
import { buildResults, roundForDiff } from '../../bench/report/results.js';
import { terminalReport } from '../../bench/report/terminal.js';
import type { CaseResult, CostUnit, ScenarioName, ThroughputUnit } from '../../bench/scenarios/types.js';

function c(
  scenario: ScenarioName,
  variant: CaseResult['variant'],
  proxy: number | null,
  unit: CostUnit,
  throughput: [number, ThroughputUnit],
  p99Us?: number,
): CaseResult {
  return {
    scenario,
    variant,
    label: variant,
    settings: { durationS: 2, warmupS: 1, connections: 50, sizeBytes: 64, ratePerSec: 10_000, inFlight: 1, shards: 2 },
    attempts: 1,
    units: 1000,
    throughput: { value: throughput[0], unit: throughput[1] },
    latency:
      p99Us === undefined
        ? null
        : {
            count: 1000,
            minUs: 100,
            meanUs: p99Us / 3,
            p50Us: p99Us / 4,
            p90Us: p99Us / 2,
            p99Us,
            p999Us: p99Us * 2,
            maxUs: p99Us * 3,
            curve: [0, 50, 90, 99, 99.9, 100].map((percentile) => ({ percentile, us: Math.round(p99Us * (1 + percentile / 100)) })),
          },
    cpu: { seconds: 2, hz: 100, proxyTicks: variant === 'direct' ? null : 90, backendTicks: 40, loadgenTicks: 100, systemBusyTicks: 240, foreignCores: 0.01, proxyWrites: variant === 'direct' ? null : 2000, proxyCpuNs: null },
    cost: { unit, proxy, backend: 10 },
    errors: 0,
    warnings: [],
  };
}

const cases: CaseResult[] = [
  c('echo', 'direct', null, 'µs/msg', [40_000, 'msg/s'], 2000),
  c('echo', 'wspass', 25, 'µs/msg', [30_000, 'msg/s'], 3000),
  c('open-loop', 'direct', null, 'µs/msg', [10_000, 'msg/s'], 1500),
  c('open-loop', 'wspass', 40, 'µs/msg', [10_000, 'msg/s'], 2500),
  c('bulk', 'wspass', 1250, 'ms/GB', [300, 'MB/s']),
  c('handshake', 'wspass', 500, 'µs/handshake', [1000, 'handshakes/s'], 9000),
  c('idle', 'wspass', 16, 'KiB/conn', [2000, 'conns']),
  c('http', 'wspass', 100, 'µs/req', [9000, 'req/s'], 4000),
];

test('capacity: per-core rates and connections per GiB from the proxy costs', () => {
  const cap = capacityOf(cases, 'test host');
  assert.equal(cap.idleConnectionsPerGiB, 65_536);
  assert.equal(cap.messagesPerSecPerCore, 40_000);
  assert.equal(cap.gbPerSecPerCore, 0.8);
  assert.equal(cap.handshakesPerSecPerCore, 2000);
  assert.equal(cap.httpRequestsPerSecPerCore, 10_000);
  assert.deepEqual(cap.openLoop, { ratePerSec: 10_000, p99Ms: 2.5, directP99Ms: 1.5, proxyCores: 0.45 });
  assert.match(cap.lines.join('\n'), /65,536 idle connections per GiB/);
  assert.match(cap.lines.join('\n'), /10,000 msg\/s at p99 under 2\.50 ms \(direct: 1\.50 ms\), using 45% of a core/);
});

test('terminal report: every case, cost against direct, capacity', () => {
  const r = buildResults({
    command: 'bench',
    machine: { cpus: 2, cpuModel: 'Test CPU', memGiB: 4, kernel: '6.1', node: 'v22.0.0' },
    pinning: 'not pinned (--no-pin)',
    backend: { impl: 'uws' },
    proxy: { name: 'wspass' },
    cases,
  });
  const text = terminalReport(r);
  assert.match(text, /echo\s+wspass\s+30\.0k msg\/s\s+750 µs\s+3\.00 ms\s+25 µs\/msg\s+10 µs\/msg\s+1%/);
  assert.match(text, /echo\s+wspass\s+25 µs\/msg\s+\+250 µs\s+-25\.0%/);
  assert.match(text, /2 × Test CPU, 4 GiB/);
});

test('HTML report: self-contained, one percentile plot per latency scenario', () => {
  const r = roundForDiff(
    buildResults({
      command: 'bench',
      machine: { cpus: 2, cpuModel: 'Test CPU', memGiB: 4, kernel: '6.1', node: 'v22.0.0' },
      pinning: 'pinned',
      backend: { impl: 'ws', fallbackReason: 'uWebSockets.js unavailable' },
      proxy: { name: 'wspass' },
      cases,
    }),
  ) as ReturnType<typeof buildResults>;
  const html = htmlReport(r, { echo: { title: 'Closed-loop echo', description: 'echo <test>' } });
  assert.equal((html.match(/<svg /g) ?? []).length, 4); // echo, open-loop, handshake, http
  assert.doesNotMatch(html, /<(script|link|img)\b/);
  assert.doesNotMatch(html, /(src|href)=/);
  assert.match(html, /echo &#60;test&#62;/);
  assert.match(html, /ws echo \(fallback\)/);
  assert.match(html, /Capacity summary/);
});

test('percentile axis: number of nines', () => {
  assert.equal(ninesOf(0), 0);
  assert.ok(Math.abs(ninesOf(90) - 1) < 1e-12);
  assert.ok(Math.abs(ninesOf(99.9) - 3) < 1e-9);
  assert.ok(Math.abs(ninesOf(100) - 5) < 1e-9);
});
