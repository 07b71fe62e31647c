// Bench: the perf gate's comparison against the baseline and the table naming regressed figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareToBaseline, figuresOf, gateTable, gateVerdict, GATED_FIGURES, medianFigures } from '../../bench/gate.js';
import type { CaseResult } from '../../bench/scenarios/types.js';

const baseline = {
  figures: {
    'echo.cpu_per_msg.vs_backend': 2.5,
    'bulk.cpu_per_gb.vs_backend': 2.0,
    'handshake.cpu_per_handshake.vs_backend': 6.0,
    'http.cpu_per_request.vs_backend': 7.0,
    'idle.kib_per_conn': 14,
  },
};

test('within tolerance passes; beyond it fails and the table names the figure', () => {
  const current = { ...baseline.figures, 'echo.cpu_per_msg.vs_backend': 2.5 * 1.14, 'idle.kib_per_conn': 14 * 1.3 };
  const outcome = compareToBaseline(current, baseline, 15);
  assert.equal(outcome.failed, true);
  const bad = outcome.rows.filter((r) => r.verdict === 'REGRESSED').map((r) => r.key);
  assert.deepEqual(bad, ['idle.kib_per_conn']);
  const echo = outcome.rows.find((r) => r.key === 'echo.cpu_per_msg.vs_backend')!;
  assert.equal(echo.verdict, 'ok');
  assert.ok(Math.abs(echo.change! - 0.14) < 1e-9);
  const table = gateTable(outcome);
  assert.match(table, /idle: proxy KiB per idle connection \(all growth\)\s+14\s+18\.2\s+\+30\.0%\s+\+15%\s+REGRESSED/);
  assert.match(gateVerdict(outcome), /FAILED: idle: proxy KiB per idle connection \(all growth\) is 30\.0% worse/);
});

test('a baseline claiming 30% better figures fails every figure', () => {
  const better = { figures: Object.fromEntries(Object.entries(baseline.figures).map(([k, v]) => [k, v * 0.7])) };
  const outcome = compareToBaseline(baseline.figures, better, 15);
  assert.equal(outcome.failed, true);
  assert.equal(outcome.rows.filter((r) => r.verdict === 'REGRESSED').length, GATED_FIGURES.length);
});

test('improvements pass and suggest updating the baseline; a figure not measured fails', () => {
  const improved = compareToBaseline({ ...baseline.figures, 'bulk.cpu_per_gb.vs_backend': 1.0 }, baseline, 15);
  assert.equal(improved.failed, false);
  assert.equal(improved.rows.find((r) => r.key === 'bulk.cpu_per_gb.vs_backend')!.verdict, 'better');
  assert.match(gateVerdict(improved), /PASSED.*bench:baseline/);
  const missing = compareToBaseline({ ...baseline.figures, 'http.cpu_per_request.vs_backend': null }, baseline, 15);
  assert.equal(missing.failed, true);
  assert.match(gateTable(missing), /not measured/);
});

function fakeCase(scenario: CaseResult['scenario'], proxy: number, backend: number): CaseResult {
  return {
    scenario,
    variant: 'wspass',
    label: 'wspass',
    settings: { durationS: 1, warmupS: 0, connections: 1, sizeBytes: 1, ratePerSec: 0, inFlight: 1, shards: 1 },
    attempts: 1,
    units: 1,
    throughput: { value: 1, unit: 'msg/s' },
    latency: null,
    cpu: null,
    cost: { unit: 'µs/msg', proxy, backend },
    errors: 0,
    warnings: [],
  };
}

test('gated figures are proxy cost ÷ backend cost in the same case (memory is absolute), medians over repeats', () => {
  const cases = [fakeCase('echo', 30, 12), fakeCase('bulk', 1200, 600), fakeCase('handshake', 600, 100), fakeCase('http', 140, 20), fakeCase('idle', 14, 1)];
  const f = figuresOf(cases);
  assert.equal(f['echo.cpu_per_msg.vs_backend'], 2.5);
  assert.equal(f['idle.kib_per_conn'], 14);
  const m = medianFigures([f, { ...f, 'echo.cpu_per_msg.vs_backend': 9 }, { ...f, 'echo.cpu_per_msg.vs_backend': 2.4 }]);
  assert.equal(m['echo.cpu_per_msg.vs_backend'], 2.5);
  assert.equal(figuresOf([])['echo.cpu_per_msg.vs_backend'], null);
});
