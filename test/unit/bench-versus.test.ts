// Bench versus: wspass against a reference proxy, measured in pairs as the gate measures two revisions.
// Its rows: the ratio's interval, the goal of the figure against that reference, and the verdict (met
// only when the whole interval is within the goal).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultVersusFigures, goalFor, versusRows, versusTable, type VersusRecord } from '../../bench/gate/versus.js';
import { GATE_FIGURE_KEYS } from '../../bench/gate/figures.js';
import { windows } from '../helpers/gate-windows.js';

const row = (reference: VersusRecord['reference'], key: string, ratio: number): VersusRecord => ({ reference, record: { key, windows: windows(ratio) } });

test('each figure is judged against the goal stated against that reference, and only there', () => {
  assert.equal(goalFor('echo.cpu_per_msg.native', 'nginx')?.goal, 1.05);
  assert.equal(goalFor('echo.cpu_per_msg.native', 'haproxy')?.goal, 1.05);
  assert.equal(goalFor('echo.cpu_per_msg.native', 'node-minimal'), null);
  assert.equal(goalFor('handshake.cpu_per_handshake.native', 'node-minimal')?.goal, 1.1);
  assert.equal(goalFor('handshake.cpu_per_handshake.native', 'nginx'), null);
  assert.equal(goalFor('http.cpu_per_request', 'nginx')?.goal, 1.8);
  assert.equal(goalFor('idle.rss_per_tunnel.native', 'haproxy')?.goal, 0.6);
  assert.equal(goalFor('bulk.cpu_per_gb.js', 'haproxy')?.goal, 0.9);
  // The round-trip p99 goal is not a cost: no gate figure carries it.
  assert.ok(defaultVersusFigures(true).every((k) => GATE_FIGURE_KEYS.includes(k)));
  assert.ok(defaultVersusFigures(false).every((k) => GATE_FIGURE_KEYS.includes(k) && !k.endsWith('.native')));
});

test('met needs the whole interval within the goal; missed, the whole interval above it; else undecided', () => {
  const rows = versusRows([
    row('nginx', 'echo.cpu_per_msg.native', 0.95),
    row('nginx', 'http.cpu_per_request', 3),
    row('haproxy', 'echo.cpu_per_msg.native', 1.05),
    row('node-minimal', 'echo.cpu_per_msg.native', 0.5),
  ]);
  assert.deepEqual(rows.map((r) => r.verdict), ['met', 'missed', 'undecided', 'no goal']);
  const [met, missed] = rows;
  assert.equal(met!.referenceCost, 20);
  assert.ok(met!.interval!.upper < 1.05 && met!.interval!.ratio > 0.94 && met!.interval!.ratio < 0.96);
  assert.ok(missed!.interval!.lower > 1.8);
  // All rows share one 95 % family: four rows' intervals are wider than one row's alone.
  const alone = versusRows([row('nginx', 'echo.cpu_per_msg.native', 0.95)])[0]!;
  assert.ok(met!.interval!.upper - met!.interval!.lower > alone.interval!.upper - alone.interval!.lower);
  const table = versusTable(rows);
  assert.match(table, /echo\.cpu_per_msg\.native\s+µs\/msg\s+nginx\s+20\s+19\s+0\.95\d \[0\.9\d\d, 0\.9\d\d\]\s+≤ 1\.05× better of nginx\/HAProxy \(required\)\s+met/);
  assert.match(table, /http\.cpu_per_request\s+µs\/req\s+nginx\s+20\s+60\s+3\.0\d\d .*≤ 1\.8× nginx \(aimed\)\s+missed/);
});

test('a reference that did not start, or too few windows, is not measured and says why', () => {
  const rows = versusRows([
    { reference: 'haproxy', record: { key: 'echo.cpu_per_msg.native', windows: [], baseError: 'haproxy did not start: bind failed' } },
    { reference: 'nginx', record: { key: 'echo.cpu_per_msg.native', windows: windows(1, 2) } },
  ]);
  assert.deepEqual(rows.map((r) => [r.verdict, r.note]), [
    ['not measured', 'haproxy did not start: bind failed'],
    ['not measured', 'fewer than 3 complete blocks (or pairs)'],
  ]);
  assert.match(versusTable(rows), /haproxy\s+—\s+—\s+—/);
});
