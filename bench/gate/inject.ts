// The self-test's regression, applied as a patch to the compiled output of a temporary tree (never a
// switch in wspass itself): a module that makes every net.Socket write spin for a fixed time first,
// imported at the top of every compiled src file so it loads in the main thread and in each worker
// thread's isolate. A tunnel writes once per message per direction, so `spinUs` per write adds
// writes-per-message × spinUs of CPU to each relayed message.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const INJECTED_FILE = 'injected-regression.js';

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
