// Bench: argument parsing and its error messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgError, parseBenchArgs, parseDuration, parseSize } from '../../bench/args.js';
import { settingsFor } from '../../bench/settings.js';

test('defaults: run every scenario, direct baseline on, pinned; the gate takes 12 windows of 1.5 s in 6 blocks', () => {
  const a = parseBenchArgs([]);
  assert.equal(a.command, 'run');
  assert.deepEqual(a.scenarios, []);
  assert.equal(a.direct, true);
  assert.equal(a.pin, true);
  assert.equal(a.workers, undefined);
  const g = parseBenchArgs(['gate']);
  assert.equal(g.command, 'gate');
  assert.deepEqual([g.pairs, g.blocks, g.windowS, g.memoryPairs, g.base, g.kind], [12, 6, 1.5, 4, undefined, 'gate']);
  const s = parseBenchArgs(['selftest', '--base', 'main', '--inject', '15%', '--pairs', '12', '--window', '2s']);
  assert.deepEqual([s.command, s.base, s.injectPct, s.pairs, s.windowS], ['selftest', 'main', 15, 12, 2]);
  const e = parseBenchArgs(['estimate', '--records', 'r', '--trials', '2000']);
  assert.deepEqual([e.command, e.recordsDir, e.trials], ['estimate', 'r', 2000]);
});

test('gate options are checked: at least 3 pairs, a label for the record', () => {
  fails(['gate', '--pairs', '2'], /--pairs: 2 is out of range; use 3 to 100/);
  fails(['gate', '--pairs', '4'], /--blocks: 6 blocks need at least as many pairs \(--pairs 4\)/);
  fails(['gate', '--kind', 'A A'], /--kind: "A A" is not a short lower-case label/);
  fails(['gate', '--inject', 'lots'], /--inject: "lots" is not a whole number/);
});

test('scenarios, durations, sizes and counts are parsed with their units', () => {
  const a = parseBenchArgs(['--scenario', 'echo,bulk', '--scenario', 'echo', '--duration', '500ms', '--size', '4KiB', '--connections', '10', '--workers', '2']);
  assert.deepEqual(a.scenarios, ['echo', 'bulk']);
  assert.equal(a.durationS, 0.5);
  assert.equal(a.sizeBytes, 4096);
  assert.equal(a.connections, 10);
  assert.deepEqual(a.workers, [2]);
  assert.equal(parseDuration('10'), 10);
  assert.equal(parseDuration('2s'), 2);
  assert.equal(parseDuration('1m'), 60);
  assert.equal(parseSize('64'), 64);
  assert.equal(parseSize('1MiB'), 1048576);
  const s = settingsFor('echo', a);
  assert.deepEqual([s.durationS, s.connections, s.sizeBytes], [0.5, 10, 4096]);
  // --size does not give a size to scenarios that send no messages.
  assert.equal(settingsFor('handshake', a).sizeBytes, 0);
});

function fails(argv: string[], message: RegExp): void {
  assert.throws(
    () => parseBenchArgs(argv),
    (err: unknown) => err instanceof ArgError && message.test(err.message),
  );
}

test('an unknown scenario is named, with the list of valid ones', () => {
  fails(['--scenario', 'echoo'], /--scenario: unknown scenario "echoo"; choose from echo, open-loop, bulk, handshake, idle, http, async/);
});

test('a bad --duration says what a duration looks like', () => {
  fails(['--duration', 'fast'], /--duration: "fast" is not a duration; use seconds like 10 or 10s, or 500ms, or 1m/);
  fails(['--duration', '0'], /--duration: 0 is out of range/);
  fails(['--duration', '-3'], /--duration/);
});

test('--target must be a ws:// URL and needs --backend-port', () => {
  fails(['--target', 'http://127.0.0.1:8080/', '--backend-port', '9000'], /--target: "http:\/\/127\.0\.0\.1:8080\/" is not a ws:\/\/ URL/);
  fails(['--target', 'localhost:8080', '--backend-port', '9000'], /--target: "localhost:8080" is not a ws:\/\/ URL/);
  fails(['--target', 'nonsense', '--backend-port', '9000'], /--target: "nonsense" is not a URL/);
  fails(['--target', 'ws://127.0.0.1:8080/'], /--target needs --backend-port N/);
  const a = parseBenchArgs(['--target', 'ws://127.0.0.1:8080/ws/', '--backend-port', '9000', '--target-pid', '12,13']);
  assert.equal(a.target?.href, 'ws://127.0.0.1:8080/ws/');
  assert.deepEqual(a.targetPids, [12, 13]);
  fails(['--target-pid', '12'], /--target-pid only goes with --target/);
  fails(['gate', '--target', 'ws://127.0.0.1:8080/', '--backend-port', '9000'], /--target is for runs, not for gate/);
});

test('other mistakes: unknown option, bad numbers, unknown command', () => {
  fails(['--bogus'], /Unknown option '--bogus'/);
  fails(['--connections', 'ten'], /--connections: "ten" is not a whole number/);
  fails(['--size', '3 parsecs'], /--size: "3 parsecs" is not a size/);
  fails(['--workers', '0'], /--workers: 0 is out of range; use 1 to 256/);
  fails(['frobnicate'], /unknown command "frobnicate"; use run \(the default\), gate, versus, selftest, baseline or estimate/);
});

test('versus takes the references from --compare and the gate\'s figures; --engine and --compare stay off the gate', () => {
  const v = parseBenchArgs(['versus', '--compare', 'nginx,haproxy', '--figure', 'echo.cpu_per_msg.native', '--connections', '50']);
  assert.equal(v.command, 'versus');
  assert.deepEqual([v.compare, v.figures, v.connections, v.pairs, v.blocks], [['nginx', 'haproxy'], ['echo.cpu_per_msg.native'], 50, 12, 6]);
  fails(['versus', '--compare', 'apache'], /--compare: "apache" is not one of nginx, haproxy, node-minimal/);
  fails(['versus', '--engine', 'js'], /--engine is for runs; versus has its own fixed figures \(pick them with --figure\)/);
  fails(['gate', '--compare', 'nginx'], /--compare is for runs and versus; gate compares wspass revisions/);
});
