// Bench: the engine figures — worker-count lists and the engine set, per-worker share of a burst,
// write syscalls from /proc/<pid>/io, wspass's start-up lines, marginal memory per idle connection,
// and how the reports show them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgError, parseBenchArgs, parseWorkers } from '../../bench/args.js';
import { costFromNs } from '../../bench/gate/decision.js';
import { parseSchedstatNs, parseSyscw } from '../../bench/measure/proc.js';
import { parseLifecycleLine } from '../../bench/processes/proxy.js';
import { workerShareLines, writesRows } from '../../bench/report/engine.js';
import { engineSection } from '../../bench/report/html.js';
import { Runner } from '../../bench/runner.js';
import { describeShare, tunnelsDuring } from '../../bench/scenarios/burst.js';
import { idleFigures } from '../../bench/scenarios/idle.js';
import type { AdminClient, CaseResult, OwnWrites } from '../../bench/scenarios/types.js';
import { writesOf } from '../../bench/scenarios/ws-load.js';
import { CpuWindow, type WindowCpu } from '../../bench/measure/window.js';
import { ENGINE_SET, runPlan, settingsFor, workersFor } from '../../bench/settings.js';

test('--workers takes a list, each count once, in order; the gate takes none', () => {
  assert.deepEqual(parseWorkers('2'), [2]);
  assert.deepEqual(parseWorkers('1, 2,1'), [1, 2]);
  assert.deepEqual(parseBenchArgs(['--workers', '1,2']).workers, [1, 2]);
  assert.throws(() => parseWorkers('1,x'), /--workers: "x" is not a whole number/);
  assert.throws(() => parseBenchArgs(['gate', '--workers', '2']), (e: unknown) => e instanceof ArgError && /--workers is for runs; gate measures wspass with one worker/.test(e.message));
});

test('--scenario engine selects the engine set, which is not mixed with scenario names', () => {
  const a = parseBenchArgs(['--scenario', 'engine']);
  assert.equal(a.set, 'engine');
  assert.deepEqual(a.scenarios, []);
  assert.deepEqual(runPlan(a), ENGINE_SET);
  assert.throws(() => parseBenchArgs(['--scenario', 'engine,echo']), /the set "engine" runs its own scenarios/);
  assert.throws(() => parseBenchArgs(['gate', '--scenario', 'engine']), /--scenario engine is for runs/);
  assert.deepEqual(runPlan(parseBenchArgs(['--scenario', 'echo'])), [{ scenario: 'echo' }]);
  assert.ok(runPlan(parseBenchArgs([])).some((e) => e.scenario === 'burst'), 'the default set includes the burst');
});

test('worker counts: --workers, else the set entry, else the scenario default, else 1', () => {
  const plain = parseBenchArgs([]);
  const echo = ENGINE_SET.find((e) => e.scenario === 'echo')!;
  const idle = ENGINE_SET.find((e) => e.scenario === 'idle')!;
  assert.deepEqual(workersFor(echo, plain), [1, 2]);
  assert.deepEqual(workersFor({ scenario: 'burst' }, plain), [2]);
  assert.deepEqual(workersFor({ scenario: 'echo' }, plain), [1]);
  assert.deepEqual(workersFor(echo, parseBenchArgs(['--workers', '3'])), [3]);
  // The set's sizes apply, and the user's flags still override them.
  assert.equal(settingsFor('idle', plain, idle.sizes).connections, 5000);
  assert.equal(settingsFor('idle', parseBenchArgs(['--connections', '300']), idle.sizes).connections, 300);
  assert.equal(settingsFor('echo', parseBenchArgs(['--in-flight', '8'])).inFlight, 8);
  assert.equal(settingsFor('bulk', parseBenchArgs(['--in-flight', '8'])).inFlight, 1);
});

test('cases: one wspass case per worker count, labelled when counts are compared; burst has no direct case', () => {
  const runner = new Runner({ pin: null, direct: true, noiseLimitCores: 0.05, maxAttempts: 1 });
  assert.deepEqual(
    runner.casesOf('echo', [1, 2]).map((c) => [c.label, c.workers]),
    [['direct', undefined], ['wspass 1 worker', 1], ['wspass 2 workers', 2]],
  );
  assert.deepEqual(runner.casesOf('echo', [1]).map((c) => c.label), ['direct', 'wspass']);
  assert.deepEqual(runner.casesOf('burst', [2]).map((c) => c.label), ['wspass 2 workers']);
  assert.equal(runner.casesOf('async', [1, 2]).length, 1 + 3 * 2);
});

test('cases: handshake and http add the access log on and the native front off as cases of their own', () => {
  const both = new Runner({ pin: null, direct: false, noiseLimitCores: 0.05, maxAttempts: 1, engines: ['native', 'js'] });
  assert.deepEqual(
    both.casesOf('handshake', [1]).map((c) => [c.label, c.engine, c.accessLog ?? false, c.noFront ?? false]),
    [
      ['wspass native', 'native', false, false],
      ['wspass js', 'js', false, false],
      ['wspass native +access log', 'native', true, false],
      ['wspass native -front', 'native', false, true],
    ],
  );
  // Not where the unit of work is a message, and not when only the JavaScript engine runs.
  assert.ok(both.casesOf('echo', [1]).every((c) => !c.noFront));
  const js = new Runner({ pin: null, direct: false, noiseLimitCores: 0.05, maxAttempts: 1, engines: ['js'] });
  assert.ok(js.casesOf('http', [1]).every((c) => !c.noFront));
});

test('write syscalls come from the syscw line of /proc/<pid>/io', () => {
  const io = 'rchar: 6976\nwchar: 120\nsyscr: 10\nsyscw: 4242\nread_bytes: 0\nwrite_bytes: 0\n';
  assert.equal(parseSyscw(io), 4242);
  assert.equal(parseSyscw('rchar: 1\n'), null);
});

test("writes per unit: syscw, plus wspass's own count of native sends where the window read it", () => {
  const cpu: WindowCpu = { seconds: 1, hz: 100, proxyTicks: 10, backendTicks: 5, loadgenTicks: 5, systemBusyTicks: 20, foreignCores: 0, proxyWrites: 30, proxyCpuNs: null };
  assert.deepEqual(writesOf(cpu, 1000, 'msg'), { syscalls: 30, perUnit: 0.03, unit: 'msg', source: 'syscw' });
  assert.deepEqual(writesOf({ ...cpu, proxyNativeSends: 2000 }, 1000, 'msg'), { syscalls: 2030, perUnit: 2.03, unit: 'msg', source: 'syscw+wspass', nativeSends: 2000 });
  assert.equal(writesOf({ ...cpu, proxyWrites: null }, 1000, 'msg'), undefined);
});

/** An admin endpoint whose write counts are `edges`, one per read. */
function adminWith(...edges: (OwnWrites | null)[]): AdminClient {
  return {
    url: 'http://admin',
    status: () => Promise.reject(new Error('not used')),
    tunnelWrites: () => Promise.resolve(edges.shift() ?? null),
  };
}

test("a window's own counts: the tunnels' native sends and the backend legs' sends between its edges", async () => {
  const win = new CpuWindow(null, [process.pid], adminWith({ js: 1, native: 100, backendLeg: 40 }, { js: 9, native: 300, backendLeg: 140 }));
  await win.begin();
  win.end();
  const cpu = await win.settled();
  assert.equal(cpu.proxyNativeSends, 200);
  assert.equal(cpu.proxyLegSends, 100);
  // A wspass that does not count the legs: no leg figure, the tunnels' still.
  const old = new CpuWindow(null, [process.pid], adminWith({ js: 0, native: 5, backendLeg: null }, { js: 0, native: 7, backendLeg: null }));
  await old.begin();
  old.end();
  const oldCpu = await old.settled();
  assert.equal(oldCpu.proxyNativeSends, 2);
  assert.equal(oldCpu.proxyLegSends, undefined);
});

test("writes per handshake on the native engine: syscw, the tunnels' sends and the backend legs' sends of the request heads", () => {
  // The handshake case's native figure: the 101 to the client (syscw), the close frame each way (the
  // tunnel's sends) and the request head (the leg's send): 4 per handshake, not the 3 without the leg.
  const cpu: WindowCpu = { seconds: 1, hz: 100, proxyTicks: 10, backendTicks: 5, loadgenTicks: 5, systemBusyTicks: 20, foreignCores: 0, proxyWrites: 1010, proxyCpuNs: null };
  assert.deepEqual(writesOf({ ...cpu, proxyNativeSends: 2000, proxyLegSends: 1000 }, 1000, 'handshake'), {
    syscalls: 4010,
    perUnit: 4.01,
    unit: 'handshake',
    source: 'syscw+wspass',
    nativeSends: 3000,
    legSends: 1000,
  });
  // A wspass from before the legs were counted: the tunnels' sends only, and no legSends field.
  assert.deepEqual(writesOf({ ...cpu, proxyNativeSends: 2000 }, 1000, 'handshake'), { syscalls: 3010, perUnit: 3.01, unit: 'handshake', source: 'syscw+wspass', nativeSends: 2000 });
  // The JavaScript engine takes no leg: a zero count adds nothing.
  assert.equal(writesOf({ ...cpu, proxyNativeSends: 0, proxyLegSends: 0 }, 1000, 'handshake')!.perUnit, 1.01);
});

test("wspass's listening and admin lines give the port and the admin URL; other lines are ignored", () => {
  assert.deepEqual(parseLifecycleLine('{"level":30,"address":"127.0.0.1","port":40895,"workers":2,"msg":"listening"}'), { port: 40895 });
  assert.deepEqual(parseLifecycleLine('{"level":30,"admin":"http://127.0.0.1:44047","msg":"admin listening"}'), { admin: 'http://127.0.0.1:44047' });
  assert.equal(parseLifecycleLine('{"level":40,"msg":"listening soon"}'), undefined);
  assert.equal(parseLifecycleLine('{"msg":"listening"}'), undefined);
  assert.equal(parseLifecycleLine('not json {'), undefined);
});

test('burst share: per-worker difference of tunnelsOpened, shown with percentages', () => {
  assert.deepEqual(tunnelsDuring([32, 32], [539, 525]), [507, 493]);
  assert.deepEqual(tunnelsDuring([], [10, 5]), [10, 5]);
  assert.equal(describeShare([507, 493]), 'worker 0: 507 (50.7%), worker 1: 493 (49.3%)');
  assert.equal(describeShare([0, 0]), 'worker 0: 0, worker 1: 0');
});

test('idle: the second half of the connections gives the marginal KiB per connection', () => {
  // 10 MiB of one-time growth in the first half; 5 KiB per connection throughout.
  const f = idleFigures(100_000, 100_000 + 10_240 + 500 * 5, 100_000 + 10_240 + 1000 * 5, 500, 500);
  assert.equal(f.marginal, 5);
  assert.ok(f.total! > 15, `total ${f.total} includes the one-time growth`);
  assert.deepEqual(idleFigures(null, 1, 2, 1, 1), { total: null, marginal: 1 });
});

function engineCase(over: Partial<CaseResult>): CaseResult {
  return {
    scenario: 'async',
    variant: 'wspass',
    label: 'wspass async=off',
    settings: { durationS: 1, warmupS: 0, connections: 1, sizeBytes: 64, ratePerSec: 0, inFlight: 1, shards: 1 },
    attempts: 1,
    units: 1000,
    throughput: { value: 1000, unit: 'msg/s' },
    latency: null,
    cpu: null,
    cost: { unit: 'µs/msg', proxy: 25, backend: 10 },
    errors: 0,
    warnings: [],
    ...over,
  };
}

test('the reports list the per-worker share and writes per unit (2 decimals) with where each count comes from, skipping cases without them', () => {
  const cases = [
    engineCase({ variant: 'direct', label: 'direct', writes: { syscalls: 1, perUnit: 1, unit: 'msg' } }),
    engineCase({ writes: { syscalls: 2010, perUnit: 2.01, unit: 'msg' } }),
    engineCase({ label: 'wspass async=on' }),
    engineCase({ scenario: 'burst', label: 'wspass 2 workers', workerTunnels: [600, 400], cost: { unit: 'µs/connect', proxy: 700, backend: 80 } }),
    engineCase({ scenario: 'echo', label: 'wspass native', writes: { syscalls: 2030, perUnit: 2.03, unit: 'msg', source: 'syscw+wspass', nativeSends: 2000 } }),
    engineCase({ scenario: 'echo', variant: 'reference', label: 'nginx', writes: { syscalls: 2000, perUnit: 2, unit: 'msg', source: 'syscw' } }),
    engineCase({ scenario: 'handshake', label: 'wspass native', writes: { syscalls: 4010, perUnit: 4.01, unit: 'handshake', source: 'syscw+wspass', nativeSends: 3000, legSends: 1000 } }),
  ];
  assert.deepEqual(writesRows(cases), [
    ['async', 'wspass async=off', '2.01 /msg', '—', '—', '25 µs/msg', 'syscw'],
    ['echo', 'wspass native', '2.03 /msg', '—', '—', '25 µs/msg', "syscw 0.03 + wspass's native sends 2.00"],
    ['echo', 'nginx', '2.00 /msg', '—', '—', '25 µs/msg', 'syscw'],
    ['handshake', 'wspass native', '4.01 /handshake', '—', '—', '25 µs/msg', "syscw 1.01 + wspass's native sends 3.00 (backend leg 1.00)"],
  ]);
  const shares = workerShareLines(cases);
  assert.equal(shares.length, 1);
  assert.equal(shares[0]!.text, 'worker 0: 600 (60.0%), worker 1: 400 (40.0%)');
  assert.equal(shares[0]!.imbalance, 1.2);
  const html = engineSection(cases);
  assert.match(html, /worker 0: 600 \(60\.0%\), worker 1: 400 \(40\.0%\)/);
  assert.match(html, /<td class="n">2\.01 \/msg<\/td>/);
  assert.match(html, /<td>syscw 0\.03 \+ wspass&#39;s native sends 2\.00<\/td><\/tr>/);
  assert.equal(engineSection([engineCase({})]), '', 'no section when nothing was measured');
});

test("a gate window's cost per unit comes from schedstat nanoseconds: µs per unit, or ms per GB of bytes", () => {
  assert.equal(costFromNs(745_000_000, 25_000, 'µs/msg'), 29.8);
  assert.equal(costFromNs(745_000_000, 2e9, 'ms/GB'), 372.5);
  assert.equal(costFromNs(745_000_000, 0, 'µs/msg'), null, 'a window without work has no cost');
  assert.equal(parseSchedstatNs('161480937 375736456 402\n'), 161480937);
});
