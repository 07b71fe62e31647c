// Bench: the perf gate's verdicts per figure (interval against 1.03 or a reviewed acceptance, no base,
// not measured), its table, the baseline and acceptance files, and the self-test's injected patch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockStartOrder, growthPerTunnel, pairsPerBlock } from '../../bench/gate/ab-run.js';
import { acceptanceFor, parseAcceptFile } from '../../bench/gate/accept.js';
import { baselineText, parseBaseline } from '../../bench/gate/baseline.js';
import { blockLogRatios, decideGate, gateTable, gateVerdict, type FigureRecord, type WindowRecord } from '../../bench/gate/decision.js';
import { GATE_FIGURE_KEYS, GATE_FIGURES } from '../../bench/gate/figures.js';
import { importLine, injectedModule, injectWriteCost, INJECTED_FILE } from '../../bench/gate/inject.js';
import { redecide } from '../../bench/gate/redecide.js';
import { windows } from '../helpers/gate-windows.js';

const BASE = 'f888b59bd153f3900619e3406a175ba796a3a646';

function records(ratios: Partial<Record<string, number>>): FigureRecord[] {
  return GATE_FIGURES.map((f) => ({ key: f.key, windows: windows(ratios[f.key] ?? 1) }));
}

const opts = { baseRequired: true, baseCommit: BASE, accepted: [] };

test('an unchanged head passes; a 10 % costlier figure fails and is named', () => {
  assert.equal(decideGate(records({}), opts).failed, false);
  const out = decideGate(records({ 'echo.cpu_per_msg.native': 1.1 }), opts);
  assert.equal(out.failed, true);
  assert.deepEqual(out.rows.filter((r) => r.fails).map((r) => r.key), ['echo.cpu_per_msg.native']);
  const echo = out.rows[0]!;
  assert.equal(echo.verdict, 'REGRESSED');
  assert.ok(echo.interval!.lower > 1.03 && echo.interval!.ratio > 1.09);
  assert.equal(echo.base, 20);
  assert.match(gateTable(out), /echo: proxy CPU per 64 B message, native engine\s+µs\/msg\s+20\s+22\s+1\.100 \[1\.0\d\d, 1\.1\d\d\]\s+10\s+≤ 1\.03\s+REGRESSED/);
  assert.equal(echo.pairs, 10);
  assert.match(gateVerdict(out), /perf gate FAILED: echo\.cpu_per_msg\.native is 1\.100 \[.*\] × the base \(limit 1\.03\)/);
});

test('a figure measured alone is judged with the full gate\'s correction, as the CI gate would judge it', () => {
  const all = decideGate(records({ 'echo.cpu_per_msg.native': 1.06 }), opts).rows.find((r) => r.key === 'echo.cpu_per_msg.native')!;
  const alone = decideGate([{ key: 'echo.cpu_per_msg.native', windows: windows(1.06) }], opts).rows[0]!;
  assert.deepEqual(alone.interval, all.interval);
  assert.equal(alone.interval!.confidence, 1 - 0.05 / GATE_FIGURES.length);
});

test('a recorded run re-decided: first stage alone, or both when today\'s rule asks and they were measured', () => {
  // Six first-stage blocks whose ratio wobbles across 1.03 with the interval above 1, then six more blocks.
  const block = (b: number, r: number): WindowRecord[] => windows(r, 2).map((w) => ({ ...w, block: b }));
  const firstStage = [1.02, 1.06, 1.03, 1.05, 1.025, 1.055].flatMap((r, b) => block(b, r));
  const d1 = redecide({ key: 'echo.cpu_per_msg.native', windows: firstStage }, 6, opts);
  assert.equal(d1.secondStageMissing, true, 'undecided above the limit: the second stage is wanted');
  assert.equal(d1.decision.verdict, 'ok');
  const both = [...firstStage, ...[1.04, 1.05, 1.045, 1.05, 1.04, 1.045].flatMap((r, b) => block(6 + b, r))];
  const d2 = redecide({ key: 'echo.cpu_per_msg.native', windows: both }, 6, opts);
  assert.equal(d2.secondStageMissing, false);
  assert.equal(d2.decision.interval!.n, 12, 'decided on all twelve blocks');
  const clear = redecide({ key: 'echo.cpu_per_msg.native', windows: [1, 1.01, 0.99, 1, 1.005, 0.995].flatMap((r, b) => block(b, r)) }, 6, opts);
  assert.equal(clear.secondStageMissing, false);
  assert.equal(clear.decision.interval!.n, 6);
});

test('blocks of processes: their means are the units, so one slow process pair cannot fail the gate alone', () => {
  const w = windows(1);
  // 5 blocks of 2 pairs; in block 0 the head process happens to be 40 % costlier.
  const blocked = w.map((x, i) => ({ ...x, block: Math.floor(i / 4), cost: x.rev === 'head' && i < 4 ? x.cost! * 1.4 : x.cost }));
  assert.deepEqual(blockLogRatios(blocked).map((g) => g.length), [2, 2, 2, 2, 2]);
  const out = decideGate([{ key: 'bulk.cpu_per_gb.native', windows: blocked }], opts);
  assert.equal(out.rows[0]!.verdict, 'ok');
  assert.equal(out.rows[0]!.interval!.n, 5);
  assert.match(gateTable(out), /10 in 5 blocks/);
  // The same 10 pairs as one block would have failed on that one process pair's difference.
  const oneBlock = decideGate([{ key: 'bulk.cpu_per_gb.native', windows: blocked.map((x) => ({ ...x, block: 0 })) }], opts);
  assert.equal(oneBlock.rows[0]!.interval!.n, 10);
});

test('pairs are split over the blocks, and the start order alternates between them', () => {
  assert.deepEqual(pairsPerBlock(10, 5), [2, 2, 2, 2, 2]);
  assert.deepEqual(pairsPerBlock(12, 5), [3, 3, 2, 2, 2]);
  assert.deepEqual([0, 1, 2].map((b) => blockStartOrder(b)), [['head', 'base'], ['base', 'head'], ['head', 'base']]);
});

test('a 2 % worse figure is within the margin; a 10 % better one is reported as improved', () => {
  const out = decideGate(records({ 'bulk.cpu_per_gb.native': 1.02, 'http.cpu_per_request': 0.9 }), opts);
  assert.equal(out.failed, false);
  assert.equal(out.rows.find((r) => r.key === 'bulk.cpu_per_gb.native')!.verdict, 'ok');
  assert.equal(out.rows.find((r) => r.key === 'http.cpu_per_request')!.verdict, 'better');
  assert.match(gateVerdict(out), /PASSED.*Improved: http\.cpu_per_request \(0\.900/);
});

test('gate-accept.json lets a reviewed regression through up to its ratio, against its base only', () => {
  const accepted = [{ figure: 'handshake.cpu_per_handshake.native', ratio: 1.2, reason: 'per-route access log costs this much', baseCommit: BASE.slice(0, 10) }];
  const out = decideGate(records({ 'handshake.cpu_per_handshake.native': 1.1 }), { ...opts, accepted });
  assert.equal(out.failed, false);
  const row = out.rows.find((r) => r.key === 'handshake.cpu_per_handshake.native')!;
  assert.equal(row.limit, 1.2);
  assert.match(gateTable(out), /≤ 1\.20 \(accepted\)/);
  assert.match(gateVerdict(out), /accepted up to 1\.2 against f888b59bd1: per-route access log/);
  assert.equal(decideGate(records({ 'handshake.cpu_per_handshake.native': 1.3 }), { ...opts, accepted }).failed, true);
  const otherBase = decideGate(records({ 'handshake.cpu_per_handshake.native': 1.1 }), { ...opts, accepted, baseCommit: 'a'.repeat(40) });
  assert.equal(otherBase.failed, true, 'an acceptance measured against another base does not apply');
  assert.equal(acceptanceFor(accepted, 'handshake.cpu_per_handshake.native', null), undefined);
});

test('no base fails when one is recorded and passes, printed, when none is; a head not measured fails', () => {
  const noBase = GATE_FIGURES.map((f) => ({ key: f.key, windows: [], baseError: 'base f888b59bd1 is not buildable: tsc failed' }));
  const required = decideGate(noBase, opts);
  assert.equal(required.failed, true);
  assert.match(gateVerdict(required), /echo\.cpu_per_msg\.native: no base: base f888b59bd1 is not buildable/);
  const first = decideGate(noBase, { ...opts, baseRequired: false, baseCommit: null });
  assert.equal(first.failed, false);
  assert.match(gateTable(first), /no base \(passes: none recorded\)/);
  const recs = records({});
  const at = (key: string) => recs.findIndex((r) => r.key === key);
  recs[at('bulk.cpu_per_gb.native')] = { key: 'bulk.cpu_per_gb.native', windows: [], headError: 'head proxy exited during the windows' };
  recs[at('handshake.cpu_per_handshake.native')] = { key: 'handshake.cpu_per_handshake.native', windows: windows(1, 2) };
  const out = decideGate(recs, opts);
  assert.deepEqual(out.rows.filter((r) => r.fails).map((r) => [r.key, r.verdict]), [
    ['bulk.cpu_per_gb.native', 'not measured'],
    ['handshake.cpu_per_handshake.native', 'not measured'],
  ]);
});

test('the baseline file holds a base commit; an old or broken one is refused with the fix', () => {
  const b = parseBaseline(baselineText(BASE, 'main at the time', new Date('2026-12-01T00:00:00Z')));
  assert.deepEqual([b.baseCommit, b.recordedAt], [BASE, '2026-12-01T00:00:00.000Z']);
  assert.equal(parseBaseline('{"format": "wspass-bench-baseline/2"}').baseCommit, undefined);
  assert.throws(() => parseBaseline('{"format": "wspass-bench-baseline/1", "figures": {}}'), /re-record it with `npm run bench:baseline`/);
  assert.throws(() => parseBaseline('{"format": "wspass-bench-baseline/2", "baseCommit": "main"}'), /"main" is not a commit hash/);
  assert.throws(() => parseBaseline('{'), /not JSON/);
});

test('gate-accept.json entries are checked: a known figure, a ratio, a reason, a base commit', () => {
  const ok = parseAcceptFile(readFileSync('bench/gate-accept.json', 'utf8'), GATE_FIGURE_KEYS);
  assert.ok(Array.isArray(ok.accepted), 'the committed file parses');
  const file = (e: object) => JSON.stringify({ format: 'wspass-gate-accept/1', accepted: [e] });
  const good = { figure: 'echo.cpu_per_msg.native', ratio: 1.1, reason: 'frame validation costs this', baseCommit: BASE };
  assert.equal(parseAcceptFile(file(good), GATE_FIGURE_KEYS).accepted.length, 1);
  assert.throws(() => parseAcceptFile(file({ ...good, figure: 'echo' }), GATE_FIGURE_KEYS), /accepted\[0\]\.figure: "echo" is not a gated figure/);
  assert.throws(() => parseAcceptFile(file({ ...good, ratio: 0.9 }), GATE_FIGURE_KEYS), /accepted\[0\]\.ratio/);
  assert.throws(() => parseAcceptFile(file({ ...good, reason: '' }), GATE_FIGURE_KEYS), /say why/);
  assert.throws(() => parseAcceptFile(file({ ...good, baseCommit: 'HEAD' }), GATE_FIGURE_KEYS), /baseCommit/);
  assert.throws(() => parseAcceptFile('[]', GATE_FIGURE_KEYS), /wspass-gate-accept\/1/);
});

test('the self-test patch makes every compiled src file import the calibrated write cost', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wspass-inject-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'dist', 'src');
  mkdirSync(join(src, 'tunnel'), { recursive: true });
  writeFileSync(join(src, 'errors.js'), 'export const A = 1;\n');
  writeFileSync(join(src, 'main.js'), '#!/usr/bin/env node\nexport const C = 3;\n');
  writeFileSync(join(src, 'tunnel', 'lane.js'), 'export const B = 2;\n');
  assert.equal(injectWriteCost(dir, 1.25), 3);
  assert.equal(readFileSync(join(src, 'main.js'), 'utf8'), `#!/usr/bin/env node\nimport './${INJECTED_FILE}';\nexport const C = 3;\n`);
  assert.equal(readFileSync(join(src, 'errors.js'), 'utf8'), `import './${INJECTED_FILE}';\nexport const A = 1;\n`);
  assert.equal(readFileSync(join(src, 'tunnel', 'lane.js'), 'utf8'), `import '../${INJECTED_FILE}';\nexport const B = 2;\n`);
  assert.match(readFileSync(join(src, INJECTED_FILE), 'utf8'), /const SPIN_NS = 1250n;/);
  assert.equal(importLine(src, join(src, 'a', 'b', 'c.js')), `import '../../${INJECTED_FILE}';\n`);
  assert.match(injectedModule(0.0001), /SPIN_NS = 1n/, 'at least one nanosecond');
});

test('tunnel figures are gated once per engine; plain HTTP, which has no tunnel, once', () => {
  for (const f of ['echo.cpu_per_msg', 'bulk.cpu_per_gb', 'handshake.cpu_per_handshake', 'idle.rss_per_tunnel']) {
    assert.deepEqual(GATE_FIGURES.filter((g) => g.key.startsWith(`${f}.`)).map((g) => g.engine), ['native', 'js']);
  }
  assert.equal(GATE_FIGURES.find((g) => g.key === 'http.cpu_per_request')?.engine, undefined);
});

test('memory per tunnel: RSS growth over the held tunnels, at least one page, null when unread', () => {
  assert.equal(growthPerTunnel(100_000, 102_000, 1000), 2);
  assert.equal(growthPerTunnel(100_000, 99_000, 1000), 0.004, 'a shrink counts as one 4 KiB page');
  assert.equal(growthPerTunnel(null, 99_000, 1000), null);
});
