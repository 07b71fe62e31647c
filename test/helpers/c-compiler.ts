// The C compiler the sanitizer lanes build with, and its sanitizer runtimes.
import { spawnSync } from 'node:child_process';

/** The first working compiler of $CC, cc, gcc, clang; undefined when none runs. */
export function cCompiler(): string | undefined {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang']) {
    if (cc !== undefined && cc !== '' && spawnSync(cc, ['--version']).status === 0) return cc;
  }
  return undefined;
}

/** Where `cc` keeps a runtime library (e.g. libasan.so); undefined when it does not know it. */
export function runtimeLibrary(cc: string, name: string): string | undefined {
  const r = spawnSync(cc, [`-print-file-name=${name}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  // An unknown name is echoed back bare, not as a path.
  return r.status === 0 && path.startsWith('/') ? path : undefined;
}

/** Flags of every sanitizer build: ASan + UBSan, first error fatal, frames kept for readable stacks. */
export const SANITIZER_FLAGS = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'];
