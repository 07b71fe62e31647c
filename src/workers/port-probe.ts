// Before any worker binds, the primary checks that each configured port is free by binding it once
// WITHOUT SO_REUSEPORT. Workers bind with SO_REUSEPORT, and the kernel lets any socket of the same user
// that also sets it join the group: a second wspass (or anything else of ours) on the same port would
// silently take a share of the first one's connections. A plain bind fails when such a group exists.
//
// Race window: between this probe closing its socket and worker 0 binding (a few milliseconds), another
// process can still take the port with SO_REUSEPORT; the probe does not hold the port across the start.
// Respawned workers skip the probe: their own group already holds the port.
import net from 'node:net';

export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
}

/** Resolves when every fixed port (port 0 is skipped: the kernel picks a free one) can be bound alone. */
export async function assertPortsFree(targets: readonly ProbeTarget[]): Promise<void> {
  for (const { host, port } of targets) {
    if (port === 0) continue;
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', (err: NodeJS.ErrnoException) => {
        const why =
          err.code === 'EADDRINUSE'
            ? 'is already in use (another wspass, or another process, serves it); refusing to share it'
            : `cannot be bound: ${err.message}`;
        reject(Object.assign(new Error(`${host}:${port} ${why}`), { code: err.code }));
      });
      probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
    });
  }
}
