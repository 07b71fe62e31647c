// The self-test's regressions, applied as patches to a temporary tree (never a switch in wspass itself).
// JavaScript engine: a module that makes every net.Socket write spin for a fixed time first, imported at
// the top of every compiled src file so it loads in the main thread and in each worker thread's isolate.
// Native engine: the same spin at the top of the C relay's send function, and the addon rebuilt. A
// tunnel writes once per message per direction, so `spinUs` per write adds writes-per-message × spinUs
// of CPU to each relayed message.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const INJECTED_FILE = 'injected-regression.js';

/**
 * The injected JavaScript module: a wall-clock spin (hrtime). Node has no per-thread CPU clock fine
 * enough for a spin of a microsecond: process.threadCpuUsage() advances in scheduler ticks, and a spin
 * on it ran 112× the base's cost per message. The native spin counts thread CPU time (below).
 */
export function injectedModule(spinUs: number): string {
  return `// Written by the perf gate's self-test into a temporary tree: a calibrated regression, not wspass code.
import net from 'node:net';
const SPIN_NS = ${BigInt(Math.max(1, Math.round(spinUs * 1000)))}n;
const write = net.Socket.prototype.write;
net.Socket.prototype.write = function injectedWrite(...args) {
  const until = process.hrtime.bigint() + SPIN_NS;
  while (process.hrtime.bigint() < until);
  return write.apply(this, args);
};
`;
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return jsFiles(p);
    return name.endsWith('.js') ? [p] : [];
  });
}

/** The import line for the injected module, from a file in `dir` (relative to distSrc). */
export function importLine(distSrc: string, file: string): string {
  const rel = relative(join(file, '..'), join(distSrc, INJECTED_FILE)).split(sep).join('/');
  return `import '${rel.startsWith('.') ? rel : `./${rel}`}';\n`;
}

/** Patches `<tree>/dist/src`; returns how many compiled files now import the injected module. */
export function injectWriteCost(treeDir: string, spinUs: number): number {
  const distSrc = join(treeDir, 'dist', 'src');
  const files = jsFiles(distSrc).filter((f) => !f.endsWith(`${sep}${INJECTED_FILE}`));
  writeFileSync(join(distSrc, INJECTED_FILE), injectedModule(spinUs));
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    // A shebang must stay the first line (the CLI entry has one).
    const at = text.startsWith('#!') ? text.indexOf('\n') + 1 : 0;
    writeFileSync(f, text.slice(0, at) + importLine(distSrc, f) + text.slice(at));
  }
  return files.length;
}

/** Where the native engine's injected cost goes: the one function that sends relayed bytes. */
export const NATIVE_PATCH_POINT = 'static ssize_t send_some(struct relay *r, enum relay_side src, const char *data, size_t len) {\n';

/**
 * The self-test's regression for the native engine: `<tree>/src/native/relay.c` patched so every send
 * of relayed bytes first spends about `spinUs` of the thread's CPU time, then the tree's addon rebuilt
 * with its own build script. Throws when the source no longer has the patch point or the build fails.
 *
 * The spin reads CLOCK_THREAD_CPUTIME_ID, and a read of a thread's CPU clock is a system call (no vDSO
 * path): about 0.3 µs here, more under load. A spin that read the clock until `spinUs` had passed spent
 * the target plus about one and a half reads: measured 980 ns for a 600 ns target, so an injection sized
 * at 10 % of the native engine's cost per message was really about 15 %. This one stops when the elapsed
 * time plus one and a half of its last read's cost reaches the target, which makes the mean right for
 * any cost of a read (measured 659–684 ns for 600, 1,225–1,235 for 1,200; a spin cannot be shorter than
 * two reads, about 0.5 µs). A loop of calibrated length was tried instead and rejected: on this machine
 * the same loop's CPU time per iteration moved 2× between runs, so no calibration held.
 */
export function injectNativeSendCost(treeDir: string, spinUs: number): void {
  const file = join(treeDir, 'src', 'native', 'relay.c');
  const text = readFileSync(file, 'utf8');
  if (!text.includes(NATIVE_PATCH_POINT)) throw new Error(`${file}: the patch point (send_some) is not there; update bench/gate/inject.ts`);
  const ns = Math.max(1, Math.round(spinUs * 1000));
  const spin = `  /* Injected by the perf gate's self-test: a calibrated regression, not wspass code. */
  injected_spin(${ns}L);
`;
  const helper = `#include <time.h>
/* Injected by the perf gate's self-test: spends about ns of this thread's CPU time; not wspass code. */
static long injected_thread_ns(void) {
  struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec * 1000000000L + t.tv_nsec;
}
static void injected_spin(long ns) {
  long t0 = injected_thread_ns(), prev = t0;
  for (;;) {
    long t = injected_thread_ns(), c = t - prev;
    prev = t;
    if ((t - t0) + c + c / 2 >= ns) break;
  }
}
`;
  // Just above send_some: after relay.c's own includes and its _GNU_SOURCE.
  writeFileSync(file, text.replace(NATIVE_PATCH_POINT, helper + NATIVE_PATCH_POINT + spin));
  rmSync(join(treeDir, 'build'), { recursive: true, force: true });
  const r = spawnSync(process.execPath, [join('scripts', 'build-native.mjs')], { cwd: treeDir, encoding: 'utf8' });
  if (!existsSync(join(treeDir, 'build', 'Release', 'wspass_native.node'))) {
    throw new Error(`the injected native engine did not build: ${`${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ')}`);
  }
}
