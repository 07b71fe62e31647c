// Child processes of the bench (proxy, backend): spawned pinned, tracked, and all killed when the bench
// exits for any reason (normal end, error, SIGINT/SIGTERM), so no run leaves a process behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { pinPrefix } from '../measure/pinning.js';

const live = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.stderr.write(`\nbench: stopped by ${signal}; child processes killed\n`);
      process.exit(130);
    });
  }
}

export interface Child {
  readonly pid: number;
  readonly process: ChildProcess;
  /** Emits 'line' for each stdout line (stdout is always drained, so a chatty child never blocks). */
  readonly lines: EventEmitter;
  /** Last lines of stderr, for error messages. */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  cpus?: readonly number[] | undefined;
  /** Called for each stdout line. */
  onLine?: (line: string) => void;
}

export function spawnChild(command: string, args: readonly string[], opts: SpawnOptions = {}): Child {
  hookExit();
  const prefix = pinPrefix(opts.cpus);
  const [file, ...rest] = prefix.length > 0 ? [...prefix, command, ...args] : [command, ...args];
  // taskset execs the command, so the pid we get is the pid of the process we measure.
  const child = spawn(file as string, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  live.add(child);
  let exited = child.exitCode !== null;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      live.delete(child);
      resolve();
    });
  });
  const tail: string[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => {
    tail.push(l);
    if (tail.length > 20) tail.shift();
  });
  const lines = new EventEmitter();
  createInterface({ input: child.stdout }).on('line', (l) => lines.emit('line', l));
  if (opts.onLine) lines.on('line', opts.onLine);
  return {
    pid: child.pid,
    process: child,
    lines,
    stderrTail: () => tail.join('\n'),
    async stop(graceMs = 3000) {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}

/** Resolves with the first stdout line `pick` accepts; rejects if the child exits first or after `timeoutMs`. */
export function waitForLine<T>(
  child: Child,
  what: string,
  pick: (line: string) => T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onLine = (line: string) => {
      const v = pick(line);
      if (v !== undefined) done(() => resolve(v));
    };
    const done = (fn: () => void) => {
      clearTimeout(timer);
      child.lines.off('line', onLine);
      child.process.off('exit', onExit);
      fn();
    };
    const onExit = (code: number | null) =>
      done(() => reject(new Error(`${what} exited (code ${code}) before it was ready:\n${child.stderrTail()}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`${what} not ready after ${timeoutMs} ms`))), timeoutMs);
    child.lines.on('line', onLine);
    child.process.once('exit', onExit);
  });
}
