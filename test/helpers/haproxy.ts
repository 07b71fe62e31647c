// HAProxy from the machine's package as the load balancer in front of wspass instances, the way a
// deployment runs it: TCP mode, a PROXY protocol v2 header to each instance, health checks on the
// instance's /readyz (plain HTTP on its health port, so no PROXY header there), retries and redispatch.
// Started on a free port with a stats socket, which says when HAProxy is ready and how it sees each server.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { findProgram } from '../../bench/reference/start.js';
import { freePort } from '../../bench/processes/free-port.js';
import { pollUntil } from './poll.js';

/** Why HAProxy cannot run here, or null when it can. */
export function haproxyMissing(): string | null {
  return findProgram('haproxy') === null ? 'haproxy is not installed (Debian: apt-get install haproxy)' : null;
}

export interface HaproxyServer {
  readonly name: string;
  /** The instance's PROXY protocol listener. */
  readonly port: number;
  /** The instance's health listener (/readyz). */
  readonly healthPort: number;
}

export interface HealthCheck {
  readonly interMs: number;
  readonly fall: number;
  readonly rise: number;
}

/** The configuration: one TCP frontend, round-robin over the servers, from `source` to each of them. */
export function topologyConfig(o: { port: number; source: string; statsSocket: string; servers: readonly HaproxyServer[]; check: HealthCheck }): string {
  const { interMs, fall, rise } = o.check;
  const servers = o.servers.map(
    (s) => `  server ${s.name} 127.0.0.1:${s.port} send-proxy-v2 check port ${s.healthPort} inter ${interMs}ms fall ${fall} rise ${rise}`,
  );
  return `# Written by the wspass tests: HAProxy in TCP mode in front of wspass instances.
global
  nbthread 1
  maxconn 4000
  stats socket ${o.statsSocket} mode 600 level admin
defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout tunnel 60s
  timeout check 1s
  retries 3
  option redispatch
frontend clients
  bind 127.0.0.1:${o.port}
  default_backend wspass
backend wspass
  balance roundrobin
  source ${o.source}
  option httpchk GET /readyz
${servers.join('\n')}
`;
}

export interface RunningHaproxy {
  readonly port: number;
  /** Server name → HAProxy's status of it ("UP", "DOWN", "UP 1/2" while going down, ...). */
  serverStatus(): Promise<Map<string, string>>;
  /** Resolves once every named server has the status (polled; HAProxy sends no event), bounded. */
  waitForStatus(want: Record<string, string>, timeoutMs?: number): Promise<void>;
}

/** One command on the stats socket; resolves with the whole answer (HAProxy closes after it). */
function statsCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let answer = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (answer += d));
    s.once('error', reject);
    s.once('close', () => resolve(answer));
    s.end(`${command}\n`);
  });
}

/** Parses `show stat` CSV into server name → status, for the backend `wspass`. */
function serverStatuses(csv: string): Map<string, string> {
  const [header, ...rows] = csv.trim().split('\n');
  const cols = (header ?? '').replace(/^# /, '').split(',');
  const px = cols.indexOf('pxname');
  const sv = cols.indexOf('svname');
  const status = cols.indexOf('status');
  const out = new Map<string, string>();
  for (const row of rows) {
    const f = row.split(',');
    if (f[px] === 'wspass' && f[sv] !== 'BACKEND') out.set(f[sv]!, f[status]!);
  }
  return out;
}

/** Starts HAProxy with `config(port, statsSocket)`; resolves once its stats socket answers. Killed when the test ends. */
export async function startHaproxy(t: TestContext, config: (port: number, statsSocket: string) => string): Promise<RunningHaproxy> {
  const program = findProgram('haproxy');
  if (program === null) throw new Error(haproxyMissing()!);
  const dir = mkdtempSync(join(tmpdir(), 'wspass-haproxy-'));
  const port = await freePort();
  const statsSocket = join(dir, 'stats.sock');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config(port, statsSocket));
  // -db: stay in the foreground (no daemon), so the test owns the process.
  const child = spawn(program, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  child.on('error', () => undefined);
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const serverStatus = async () => serverStatuses(await statsCommand(statsSocket, 'show stat'));
  await pollUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}: ${stderr}`);
      return serverStatus().then(
        (m) => m.size > 0,
        () => false,
      );
    },
    () => `haproxy's stats socket: ${stderr}`,
    { everyMs: 25 },
  );
  return {
    port,
    serverStatus,
    async waitForStatus(want, timeoutMs = 10_000) {
      let now = new Map<string, string>();
      await pollUntil(
        async () => {
          now = await serverStatus();
          return Object.entries(want).every(([name, status]) => now.get(name) === status);
        },
        () => `haproxy: wanted ${JSON.stringify(want)}, have ${JSON.stringify(Object.fromEntries(now))}: ${stderr}`,
        { timeoutMs },
      );
    },
  };
}
