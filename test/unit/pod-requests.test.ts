// Pod resource requests from bench figures (npm run sizing): the arithmetic on round fixture figures,
// the errors for a file that lacks what the load needs, and the CLI's output and exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { podRequests, sizingFigures, type Load, type SizingFigures } from '../../bench/report/pod-requests.js';

const FIXTURE = new URL('../../../test/fixtures/bench-results-sizing.json', import.meta.url).pathname;
const CLI = new URL('../../scripts/pod-requests.js', import.meta.url).pathname;
const LOAD: Load = { tunnels: 100_000, msgsPerSec: 100_000, handshakesPerSec: 1_000, pods: 2, headroom: 0.25, baseMiB: 100 };

function fixture(): SizingFigures {
  const f = sizingFigures(JSON.parse(readFileSync(FIXTURE, 'utf8')));
  assert.ok(typeof f !== 'string', f as string);
  return f;
}

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

test('50,000 tunnels and 50,000 msg/s + 500 handshakes/s per pod, at 50,000 tunnels/GiB, 40,000 msg/s and 2,000 handshakes/s per core', () => {
  const r = podRequests(fixture(), LOAD);
  assert.equal(r.tunnelsPerPod, 50_000);
  assert.equal(r.msgsPerSecPerPod, 50_000);
  // (50,000 / 40,000 + 500 / 2,000) cores × 1.25 = 1.875 → 1880m (up to 10m).
  assert.equal(r.cpuMillis, 1880);
  // (1 GiB + 100 MiB) × 1.25 = 1405 MiB → 1408 MiB (up to 64 MiB).
  assert.equal(r.memoryMiB, 1408);
  assert.equal(r.memoryLimitMiB, 2816);
  assert.equal(r.workers, 2);
});

test('idle tunnels alone need memory and the 10m minimum of CPU', () => {
  const r = podRequests(fixture(), { ...LOAD, msgsPerSec: 0, handshakesPerSec: 0, headroom: 0 });
  assert.equal(r.cpuMillis, 10);
  assert.equal(r.memoryMiB, 1152); // 1024 + 100 → 1152
  assert.equal(r.workers, 1);
});

test('a results file without the figure a load needs is refused with what to run', () => {
  const f = fixture();
  assert.throws(() => podRequests({ ...f, messagesPerSecPerCore: null }, LOAD), /no echo figure: run the bench with the echo scenario/);
  assert.throws(() => podRequests({ ...f, idleConnectionsPerGiB: null }, LOAD), /no idle-connection figure/);
  assert.throws(() => podRequests({ ...f, handshakesPerSecPerCore: null }, LOAD), /no handshake figure/);
  assert.doesNotThrow(() => podRequests({ ...f, handshakesPerSecPerCore: null }, { ...LOAD, handshakesPerSec: 0 }));
  assert.throws(() => podRequests(f, { ...LOAD, pods: 0 }), /pods must be at least 1/);
  assert.equal(sizingFigures({ format: 'other' }), 'not a bench results file (format "wspass-bench/1")');
  assert.equal(sizingFigures({ format: 'wspass-bench/1' }), 'the results have no capacity section');
});

test('the CLI prints the figures, the per-pod load and a resources block; bad input exits 2, a bad file 1', () => {
  const ok = cli('--results', FIXTURE, '--tunnels', '100000', '--msgs', '100,000', '--handshakes', '1000', '--pods', '2', '--headroom', '0.25', '--base-mib', '100');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /40,000 msg\/s per core, 50,000 idle tunnels per GiB, 2,000 handshakes\/s per core/);
  assert.match(ok.stdout, /per pod 50,000 tunnels and 50,000 msg\/s; wspass run --workers 2/);
  assert.ok(ok.stdout.endsWith('resources:\n  requests:\n    cpu: 1880m\n    memory: 1408Mi\n  limits:\n    memory: 2816Mi\n'), ok.stdout);

  const usage = cli('--results', FIXTURE, '--tunnels', 'many', '--msgs', '1');
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--tunnels must be a number ≥ 0, not "many"/);
  assert.equal(cli('--results', FIXTURE, '--msgs', '1').status, 2);

  const missing = cli('--results', `${FIXTURE}.absent`, '--tunnels', '1', '--msgs', '1');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read .*bench-results-sizing\.json\.absent/);
  const notResults = cli('--results', new URL('../../../package.json', import.meta.url).pathname, '--tunnels', '1', '--msgs', '1');
  assert.equal(notResults.status, 1);
  assert.match(notResults.stderr, /not a bench results file/);
});
