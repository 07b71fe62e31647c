// Starts wspass (`node dist/src/cli/main.js run --config FILE --workers N`) as a pinned child with a bench
// config: every route points at the echo backend, the async variants under their own prefixes, logs at
// warn and the access log off so per-tunnel log lines cost nothing. wspass binds port 0 and prints its `"msg":"listening"` line
// (with the port) whatever the log level; with `admin` it also prints the admin URL, which the bench
// uses for `GET /status` (per-worker counters, the native engine's write count).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminClient, ProxyStatus } from '../scenarios/types.js';
import { spawnChild, waitForLine, type Child } from './children.js';

/** This checkout's compiled wspass CLI. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** Whether `npm ci` built this checkout's native addon (wspass's `auto` engine loads this file). */
export const NATIVE_ADDON_BUILT = existsSync(fileURLToPath(new URL('../../../build/Release/wspass_native.node', import.meta.url)));

/** Path prefixes of the bench routes (the async scenario uses the last two). */
export const ROUTE_PREFIX = { plain: '/', asyncOn: '/async-on/', asyncDelay: '/async-delay/' } as const;
/** asyncDelayMs of the async-delay route. */
export const ASYNC_DELAY_MS = 1;

/** The tunnel engines a config can ask for (`tunnel.engine`). */
export type TunnelEngine = 'native' | 'js';

export interface ProxyProcess {
  child: Child;
  port: number;
  /** Present when started with `admin: true`. */
  admin: AdminClient | null;
  stop(): Promise<void>;
}

/**
 * The bench's wspass config. `plainOnly` leaves out the async routes: the perf gate starts older
 * revisions with it, so only keys every revision knows decide whether a base can run.
 */
export function benchProxyConfig(
  backendPort: number,
  admin = false,
  plainOnly = false,
  engine?: TunnelEngine,
  accessLog = false,
  tunnelExtra: Readonly<Record<string, unknown>> = {},
): object {
  const backend = `ws://127.0.0.1:${backendPort}/`;
  const asyncRoutes = [
    { name: 'async-on', path: ROUTE_PREFIX.asyncOn, backend, async: true },
    { name: 'async-delay', path: ROUTE_PREFIX.asyncDelay, backend, async: true, asyncDelayMs: ASYNC_DELAY_MS },
  ];
  return {
    listen: '127.0.0.1:0',
    // warn already leaves out info lines such as the access log; `access: false` says so outright where
    // the revision knows the key (older ones, started with plainOnly, reject it).
    // `accessLog`: the access log on (info), for the case that measures what it costs.
    log: accessLog ? { level: 'info', access: true } : plainOnly ? { level: 'warn' } : { level: 'warn', access: false },
    // The bench's own runs read /status (wspass's count of its native engine's writes, per-worker
    // shares); the gate's leave it off: the admin's metrics registry runs an event-loop delay monitor of
    // its own in the primary (a 10 ms timer).
    ...(admin ? { admin: { listen: '127.0.0.1:0' } } : {}),
    // Only when asked for: a revision from before the engines existed rejects the key.
    // `tunnelExtra`: keys the caller checked the revision knows (the gate turns the heap reclaim off).
    ...(engine || Object.keys(tunnelExtra).length > 0 ? { tunnel: { ...(engine ? { engine } : {}), ...tunnelExtra } } : {}),
    routes: [...(plainOnly ? [] : asyncRoutes), { name: 'echo', path: ROUTE_PREFIX.plain, backend }],
  };
}

/** Picks wspass's start-up lines: `{"msg":"listening","port":N}` and `{"msg":"admin listening","admin":URL}`. */
export function parseLifecycleLine(line: string): { port: number } | { admin: string } | undefined {
  if (!line.startsWith('{')) return undefined;
  let v: { msg?: unknown; port?: unknown; admin?: unknown };
  try {
    v = JSON.parse(line) as typeof v;
  } catch {
    return undefined;
  }
  if (v.msg === 'listening' && typeof v.port === 'number') return { port: v.port };
  if (v.msg === 'admin listening' && typeof v.admin === 'string') return { admin: v.admin };
  return undefined;
}

export function adminClient(url: string): AdminClient {
  const status = async (query = '') => {
    const res = await fetch(`${url}/status${query}`);
    if (!res.ok) throw new Error(`GET ${url}/status${query} answered ${res.status}`);
    return (await res.json()) as ProxyStatus;
  };
  return {
    url,
    status: () => status(),
    async tunnelWrites() {
      const { tunnelWrites: per, backendLegWrites: legs } = (await status('?flush=1')).counters;
      if (per === undefined) return null;
      const tunnels = per.reduce((sum, w) => ({ js: sum.js + w.js, native: sum.native + w.native }), { js: 0, native: 0 });
      return { ...tunnels, backendLeg: legs === undefined ? null : legs.reduce((sum, n) => sum + n, 0) };
    },
  };
}

export async function startProxy(opts: {
  backendPort: number;
  cpus?: readonly number[] | undefined;
  workers: number;
  admin?: boolean;
  /** wspass's compiled CLI of another revision (the perf gate's base); default: this checkout's. */
  cli?: string;
  /** Only the plain route (see benchProxyConfig). */
  plainOnly?: boolean;
  /** `tunnel.engine` of the config (unset: the revision's default). */
  engine?: TunnelEngine;
  /** The access log on (the bench's cases otherwise run with it off). */
  accessLog?: boolean;
  /** Node/V8 flags before the CLI entry (the perf gate's memory figure fixes the young generation's size). */
  nodeFlags?: readonly string[];
  /** More `tunnel` keys of the config (only keys the revision's schema has). */
  tunnelExtra?: Readonly<Record<string, unknown>>;
}): Promise<ProxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'wspass-bench-'));
  const configFile = join(dir, 'wspass.json');
  writeFileSync(configFile, JSON.stringify(benchProxyConfig(opts.backendPort, opts.admin, opts.plainOnly, opts.engine, opts.accessLog, opts.tunnelExtra), null, 2));
  const args = [...(opts.nodeFlags ?? []), opts.cli ?? CLI, 'run', '--config', configFile, '--workers', String(opts.workers)];
  const child = spawnChild(process.execPath, args, { cpus: opts.cpus });
  const stop = async () => {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Both lines are waited for together: the admin line may come first or second.
    const port = waitForLine(child, 'wspass', (l) => {
      const v = parseLifecycleLine(l);
      return v && 'port' in v ? v.port : undefined;
    });
    const admin = opts.admin
      ? waitForLine(child, 'wspass admin', (l) => {
          const v = parseLifecycleLine(l);
          return v && 'admin' in v ? v.admin : undefined;
        })
      : Promise.resolve(null);
    const [p, a] = await Promise.all([port, admin]);
    return { child, port: p, admin: a === null ? null : adminClient(a), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
