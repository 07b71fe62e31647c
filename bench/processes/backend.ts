// Starts the echo/sink backend (backends/main.ts) as a pinned child process and waits for its ready line.
import { fileURLToPath } from 'node:url';
import type { BackendReadyLine } from '../backends/protocol.js';
import { spawnChild, waitForLine, type Child } from './children.js';

const ENTRY = fileURLToPath(new URL('../backends/main.js', import.meta.url));

export interface Backend {
  child: Child;
  port: number;
  impl: 'uws' | 'ws';
  fallbackReason?: string;
}

export async function startBackend(opts: { cpus?: readonly number[] | undefined; port?: number; impl?: 'ws' }): Promise<Backend> {
  const args = [ENTRY, '--port', String(opts.port ?? 0)];
  if (opts.impl) args.push('--impl', opts.impl);
  const child = spawnChild(process.execPath, args, { cpus: opts.cpus });
  try {
    const ready = await waitForLine<BackendReadyLine>(child, 'echo backend', (line) => {
      try {
        const v = JSON.parse(line) as Partial<BackendReadyLine>;
        return v.ready === true ? (v as BackendReadyLine) : undefined;
      } catch {
        return undefined;
      }
    });
    const b: Backend = { child, port: ready.port, impl: ready.impl };
    if (ready.fallbackReason) b.fallbackReason = ready.fallbackReason;
    return b;
  } catch (err) {
    await child.stop();
    throw err;
  }
}
