// Runs the real `wspass` command as a child process (the compiled CLI on this Node), for tests that need
// a separate process: exit codes, signals, RSS.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pollUntil } from './poll.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export function tempFile(t: TestContext, name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wspass-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `wspass ...args` to completion (with `env` added to this process's environment). */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Reads the child's stdout until a line matches; resolves with the match. */
export function waitForLine(child: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer | string) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        child.stdout!.removeListener('data', onData);
        // Keep reading (and dropping) what follows: a full pipe would block the child's log writes.
        child.stdout!.resume();
        resolve(m);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before printing ${re}; output:\n${buf}`)));
  });
}

export interface SpawnedProxy {
  readonly child: ChildProcess;
  readonly port: number;
  /** `http://127.0.0.1:N` when the config has an admin section. */
  readonly admin: string | undefined;
  /** The config file the process runs with (rewrite it and reload to change routes). */
  readonly file: string;
  /** What it printed on stdout up to its `listening` (and `admin listening`) line: the start-up log. */
  readonly startup: string;
  /** With `onLine`: resolves once every line it printed has been passed on (its stdout ended). */
  readonly linesDone: Promise<void> | undefined;
}

/** Any sanitizer's report (AddressSanitizer, LeakSanitizer, UBSan) in a process's output. */
export const SANITIZER_REPORT = /==\d+==ERROR: \w*Sanitizer|runtime error:/;

/**
 * How long a checked end waits for the process after SIGTERM: the drain (shutdown.deadlineMs, 10 s by
 * default) plus LeakSanitizer's scan at exit, with room for a slow shared machine.
 */
const CHECKED_END_MS = 30_000;

/**
 * Ends a `wspass run` the way an operator does, for a process LeakSanitizer should check (it only checks
 * a process that ends by itself): SIGTERM, then its exit must be 0 within CHECKED_END_MS with no sanitizer
 * report on its stderr. SIGKILL only past that bound, and then the test fails: an unchecked exit.
 */
async function endChecked(child: ChildProcess, stderr: () => string): Promise<void> {
  // 'close': the exit and the end of its stderr (LeakSanitizer prints its report just before the exit).
  const closed = child.exitCode === null && child.signalCode === null ? once(child, 'close', { signal: AbortSignal.timeout(CHECKED_END_MS) }) : undefined;
  if (closed !== undefined) {
    child.kill('SIGTERM');
    try {
      await closed;
    } catch {
      child.kill('SIGKILL');
      assert.fail(`wspass run (pid ${child.pid}) still running ${CHECKED_END_MS} ms after SIGTERM: SIGKILLed, so not checked for leaks`);
    }
  }
  // The report itself is on our stderr already (passed on as printed): named here by its summary only, so
  // that a scan of the output finds each report once.
  const report = SANITIZER_REPORT.exec(stderr());
  const summary = report && (/SUMMARY: .*/.exec(stderr().slice(report.index))?.[0] ?? 'a sanitizer report');
  assert.ok(summary === null, `wspass run (pid ${child.pid}) printed a sanitizer report on stderr (above): ${summary}`);
  assert.deepEqual({ code: child.exitCode, signal: child.signalCode }, { code: 0, signal: null }, `wspass run (pid ${child.pid}) after SIGTERM:\n${stderr().slice(-4000)}`);
}

/**
 * Starts `wspass run --config <json>` and resolves once it listens (and its admin endpoint, if any, is
 * up); `onLine` gets each line it prints on stdout. Killed (SIGKILL) when the test ends; with `checkedEnd`,
 * ended by SIGTERM instead, and the test fails unless it exits 0 by itself without a sanitizer report (its
 * stderr is still passed on to ours): for runs on the sanitized addon, where LeakSanitizer checks it.
 */
export async function spawnProxy(
  t: TestContext,
  config: object,
  opts: { args?: string[]; env?: Record<string, string>; onLine?: (line: string) => void; checkedEnd?: boolean } = {},
): Promise<SpawnedProxy> {
  const file = tempFile(t, 'wspass.json', JSON.stringify(config));
  const checked = opts.checkedEnd === true;
  const child = spawn(process.execPath, [CLI, 'run', '--config', file, ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', checked ? 'pipe' : 'inherit'],
    env: { ...process.env, ...opts.env },
  });
  const stdout = child.stdout!;
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    process.stderr.write(d);
  });
  // Every stdout line, from the first (the access log is part of it), for tests that read the log.
  let linesDone: Promise<void> | undefined;
  const onLine = opts.onLine;
  if (onLine) {
    let rest = '';
    stdout.setEncoding('utf8').on('data', (d: string) => {
      const parts = (rest + d).split('\n');
      rest = parts.pop()!;
      for (const line of parts) onLine(line);
    });
    linesDone = once(stdout, 'end').then(() => {
      if (rest !== '') onLine(rest);
    });
  }
  t.after(async () => {
    if (checked) await endChecked(child, () => stderr);
    else if (child.exitCode === null) child.kill('SIGKILL');
  });
  const wantAdmin = 'admin' in config;
  const m = await waitForLine(child, wantAdmin ? /"port":(\d+)[^\n]*"msg":"listening"[\s\S]*"admin":"([^"]+)"/ : /"port":(\d+)[^\n]*"msg":"listening"/);
  return { child, port: Number(m[1]), admin: m[2], file, startup: m.input, linesDone };
}

/** Resident set size of a process, in bytes, from /proc. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

/** What tests read of GET /status. */
export interface AdminStatus {
  workers: { id: number; state: string; restarts: number }[];
  counters: { workers: { activeTunnels: number; tunnelsOpened: number }[]; routes: Record<string, { activeTunnels: number }>; errors: Record<string, number> };
}

/** GET /status on a fresh connection (no keep-alive socket stays behind to skew fd counts). */
export function adminStatus(admin: string): Promise<AdminStatus> {
  return new Promise((resolve, reject) => {
    http
      .get(`${admin}/status`, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve(JSON.parse(body) as AdminStatus));
      })
      .on('error', reject);
  });
}

/** Polls the admin status until `ok` holds (bounded): the primary's view changes asynchronously. */
export async function waitForStatus(admin: string, ok: (s: AdminStatus) => boolean, what: string): Promise<AdminStatus> {
  let last: AdminStatus | undefined;
  await pollUntil(async () => ok((last = await adminStatus(admin))), what, { everyMs: 25 });
  return last!;
}
