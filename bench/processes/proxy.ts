// Starts wspass (`node dist/src/cli/main.js run --config FILE`) as a pinned child with a bench config:
// every route points at the echo backend, the async variants under their own prefixes, logs at warn so
// per-tunnel log lines cost nothing. `--workers N` is passed through only when the user gave it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnChild, type Child } from './children.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Path prefixes of the bench routes (the async scenario uses the last two). */
export const ROUTE_PREFIX = { plain: '/', asyncOn: '/async-on/', asyncDelay: '/async-delay/' } as const;
/** asyncDelayMs of the async-delay route. */
export const ASYNC_DELAY_MS = 1;

export interface ProxyProcess {
  child: Child;
  port: number;
  stop(): Promise<void>;
}

export function benchProxyConfig(listenPort: number, backendPort: number): object {
  const backend = `ws://127.0.0.1:${backendPort}/`;
  return {
    listen: `127.0.0.1:${listenPort}`,
    log: { level: 'warn' },
    routes: [
      { name: 'async-on', path: ROUTE_PREFIX.asyncOn, backend, async: true },
      { name: 'async-delay', path: ROUTE_PREFIX.asyncDelay, backend, async: true, asyncDelayMs: ASYNC_DELAY_MS },
      { name: 'echo', path: ROUTE_PREFIX.plain, backend },
    ],
  };
}

/** A port free right now on 127.0.0.1 (the proxy logs at warn, so it does not print the port it bound). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Resolves once something accepts TCP connections on the port; rejects if the child exits first. */
async function waitForPort(child: Child, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`wspass exited (code ${child.process.exitCode}) before listening:\n${child.stderrTail()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`wspass did not listen on port ${port} within ${timeoutMs} ms:\n${child.stderrTail()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startProxy(opts: {
  backendPort: number;
  cpus?: readonly number[] | undefined;
  workers?: number | undefined;
}): Promise<ProxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'wspass-bench-'));
  const configFile = join(dir, 'wspass.json');
  const port = await freePort();
  writeFileSync(configFile, JSON.stringify(benchProxyConfig(port, opts.backendPort), null, 2));
  const args = [CLI, 'run', '--config', configFile];
  if (opts.workers !== undefined) args.push('--workers', String(opts.workers));
  const child = spawnChild(process.execPath, args, { cpus: opts.cpus });
  const stop = async () => {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(child, port);
  } catch (err) {
    await stop();
    throw err;
  }
  return { child, port, stop };
}
