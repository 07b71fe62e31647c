// The sanitizer lane: the C relay logic (src/native/relay.c, with asyncDelayMs holds: relay_hold.c,
// and splice with its pipe pool: relay_splice.c, pipe_pool.c; the WebSocket frame tracker and the drain's goodbye: ws_frames.c,
// ws_goodbye.c) driven by a stand-alone C program
// (test/native/relay-driver.c) built with AddressSanitizer, LeakSanitizer and UBSan, then run. Any
// report or a failed scenario fails the test. Without a C compiler the lane is skipped, except with
// CI=true, where a missing compiler is a failure (the lane must not silently vanish).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SANITIZER_FLAGS, cCompiler } from '../helpers/c-compiler.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const ci = process.env.CI === 'true';

test('the relay core runs clean under AddressSanitizer, LeakSanitizer and UBSan', (t) => {
  const cc = cCompiler();
  if (cc === undefined) {
    assert.ok(!ci, 'CI=true but no C compiler: the sanitizer lane cannot run');
    t.skip('no C compiler');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wspass-asan-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const exe = join(dir, 'relay-driver');
  const build = spawnSync(
    cc,
    [
      '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-g', '-O1',
      ...SANITIZER_FLAGS,
      join(root, 'src/native/relay.c'), join(root, 'src/native/relay_hold.c'), join(root, 'src/native/relay_splice.c'), join(root, 'src/native/pipe_pool.c'),
      join(root, 'src/native/ws_frames.c'), join(root, 'src/native/ws_goodbye.c'),
      join(root, 'test/native/relay-driver.c'), '-o', exe,
    ],
    { encoding: 'utf8' },
  );
  if (build.status !== 0 && /sanitize|asan|ubsan/i.test(build.stderr) && !ci) {
    t.skip(`the compiler has no sanitizer runtime: ${build.stderr.split('\n')[0] ?? ''}`);
    return;
  }
  assert.equal(build.status, 0, build.stderr);
  const run = spawnSync(exe, [], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1' },
  });
  assert.doesNotMatch(run.stderr, /Sanitizer|runtime error/, run.stderr);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /all scenarios passed/);
});
