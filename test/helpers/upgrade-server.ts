// handleUpgrade driven directly, with a context the test writes: a node:http server whose upgrades go to
// it (each against one backend, the route `/`), and a context with harmless defaults.
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { handleUpgrade, type UpgradeContext } from '../../src/server/upgrade-handler.js';
import { compiledRoute, routeMatch } from './route-fixtures.js';

export interface UpgradeServer {
  readonly port: number;
  /** handleUpgrade's promise of each upgrade, in arrival order. */
  readonly outcomes: Promise<unknown>[];
  /** Resolves once the first upgrade is in handleUpgrade (past its synchronous start). */
  readonly firstUpgrade: Promise<void>;
}

export async function upgradeServer(t: TestContext, backendPort: number, ctx: UpgradeContext): Promise<UpgradeServer> {
  const outcomes: Promise<unknown>[] = [];
  const upgraded = new Set<Socket>();
  let entered!: () => void;
  const firstUpgrade = new Promise<void>((r) => (entered = r));
  const server = http.createServer();
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    // No 'error' listener here: handleUpgrade must add its own (a test of a late reset relies on it).
    upgraded.add(socket); // node:http no longer tracks it: closeAllConnections would not close it
    const match = routeMatch(compiledRoute(`ws://127.0.0.1:${backendPort}/`), req.url ?? '/');
    outcomes.push(handleUpgrade(ctx, req, socket, head, { tunnel: true, match, protocol: 'websocket' }));
    entered();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const s of upgraded) s.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { port: (server.address() as AddressInfo).port, outcomes, firstUpgrade };
}

/** An upgrade context with no-op hooks and a silent log, `overrides` on top. */
export function upgradeContext(overrides: Partial<UpgradeContext>): UpgradeContext {
  return {
    log: silentLogger(),
    serverName: 'wspass.test',
    maxHeaderBytes: 16 * 1024,
    clientProto: 'http',
    reinject: () => undefined,
    onTunnelOpen: () => undefined,
    onTunnelClose: () => undefined,
    ...overrides,
  };
}
