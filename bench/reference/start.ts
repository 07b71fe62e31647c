// Starts one of the proxies the bench compares wspass with (--compare): nginx and HAProxy from the
// machine's packages, and the minimal Node.js proxy of this folder. Each gets a generated config in a
// temporary directory, a free loopback port, and the proxy CPUs wspass gets (the same taskset), so the
// same load meets the same conditions. The pids returned are every process whose CPU and memory count
// as the proxy's (nginx: master and its worker).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnChild, waitForLine, type Child } from '../processes/children.js';
import { freePort } from '../processes/free-port.js';
import { haproxyConfig, nginxConfig } from './configs.js';

export const REFERENCE_NAMES = ['nginx', 'haproxy', 'node-minimal'] as const;
export type ReferenceName = (typeof REFERENCE_NAMES)[number];

export interface ReferenceProcess {
  name: ReferenceName;
  /** What ran, for the report: "nginx/1.22.1", "HAProxy 2.6.12", "node v22.…". */
  version: string;
  port: number;
  pids: number[];
  /** The process started (nginx: its master), to see whether it exited and read its stderr's tail. */
  child: Child;
  stop(): Promise<void>;
}

const MINIMAL = fileURLToPath(new URL('./minimal-proxy.js', import.meta.url));

/** The program's path, from PATH or the sbin directories Debian installs servers to; null when absent. */
export function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const d of dirs) {
    if (d !== '' && existsSync(join(d, name))) return join(d, name);
  }
  return null;
}

/** Why a reference cannot run here (its package is not installed), or null when it can. */
export function referenceMissing(name: ReferenceName): string | null {
  if (name === 'node-minimal') return null;
  return findProgram(name) === null ? `${name} is not installed (Debian: apt-get install ${name})` : null;
}

/** Resolves once the port accepts a connection (the program prints no readiness line); bounded. */
async function waitForPort(child: Child, port: number, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) throw new Error(`${what} exited before it listened: ${child.stderrTail()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms: ${child.stderrTail()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The process's children once it has any, or [] after `ms`. */
async function childrenWithin(pid: number, ms: number): Promise<number[]> {
  const until = performance.now() + ms;
  for (;;) {
    const kids = childrenOf(pid);
    if (kids.length > 0 || performance.now() > until) return kids;
    await new Promise((r) => setTimeout(r, 10));
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The first line a program prints for its version flag (nginx prints it on stderr). */
function versionOf(program: string, flag: string): string {
  const r = spawnSync(program, [flag], { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]!.trim() || program;
}

export async function startReference(name: ReferenceName, o: { backendPort: number; cpus?: readonly number[] | undefined }): Promise<ReferenceProcess> {
  if (name === 'node-minimal') {
    const child = spawnChild(process.execPath, [MINIMAL, String(o.backendPort)], { cpus: o.cpus });
    try {
      const port = await waitForLine(child, 'minimal Node proxy', (l) => {
        const m = /"msg":"listening","port":(\d+)/.exec(l);
        return m ? Number(m[1]) : undefined;
      });
      return { name, version: `node ${process.version} (bench/reference/minimal-proxy.ts)`, port, pids: [child.pid], child, stop: () => child.stop() };
    } catch (err) {
      await child.stop();
      throw err;
    }
  }
  const program = findProgram(name);
  if (program === null) throw new Error(referenceMissing(name)!);
  const dir = mkdtempSync(join(tmpdir(), `wspass-bench-${name}-`));
  const port = await freePort();
  const configFile = join(dir, `${name}.conf`);
  let child: Child;
  let version: string;
  if (name === 'nginx') {
    writeFileSync(configFile, nginxConfig({ dir, port, backendPort: o.backendPort }));
    version = versionOf(program, '-v');
    child = spawnChild(program, ['-c', configFile, '-p', dir, '-e', join(dir, 'error.log')], { cpus: o.cpus });
  } else {
    writeFileSync(configFile, haproxyConfig({ port, backendPort: o.backendPort }));
    version = versionOf(program, '-v');
    child = spawnChild(program, ['-db', '-f', configFile], { cpus: o.cpus });
  }
  const stop = async () => {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(child, port, name);
    // nginx's master binds the port before it forks its worker: a case measured with the master alone
    // read 0 µs per request. The worker has no event to wait on, so poll for it, bounded.
    const workers = name === 'nginx' ? await childrenWithin(child.pid, 5_000) : childrenOf(child.pid);
    if (name === 'nginx' && workers.length === 0) throw new Error('nginx started no worker process within 5 s');
    return { name, version, port, pids: [child.pid, ...workers], child, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
