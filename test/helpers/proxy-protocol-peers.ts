// Peers for PROXY protocol tests: a proxy whose refusals are counted, raw clients that write a PROXY header
// (from a chosen local address), and the header bytes themselves.
import net from 'node:net';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import type { ErrorCode } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { ProxyServer, type ProxyStats } from '../../src/server/proxy-server.js';
import { encodeProxyV2 } from '../../src/proxy-protocol/encode-v2.js';
import { testTunnelEngine } from './proxy.js';

export interface CountingProxy {
  readonly proxy: ProxyServer;
  readonly port: number;
  /** Every error code the proxy counted, in order. */
  readonly errors: ErrorCode[];
}

export async function startCountingProxy(
  t: TestContext,
  input: Omit<ConfigInput, 'listen'> & { listen?: ConfigInput['listen'] },
  engine: 'auto' | 'native' | 'js' = testTunnelEngine(),
): Promise<CountingProxy> {
  const errors: ErrorCode[] = [];
  const stats: ProxyStats = {
    tunnelOpened: () => undefined,
    tunnelClosed: () => undefined,
    httpRequest: () => undefined,
    error: (code) => errors.push(code),
  };
  const config = configSchema.parse({ listen: '127.0.0.1:0', tunnel: { engine }, ...input });
  const proxy = new ProxyServer(config, { log: silentLogger(), stats });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  return { proxy, port: addr!.port, errors };
}

/** The PROXY-protocol listener most tests use: trusts 127.0.0.1 only. */
export function ppListener(extra: Record<string, unknown> = {}): ConfigInput['listen'] {
  return [{ address: '127.0.0.1:0', proxyProtocol: { trustedSources: ['127.0.0.1/32'], ...extra } }];
}

export function v1(source: string, sourcePort = 40000): string {
  return `PROXY TCP4 ${source} 127.0.0.1 ${sourcePort} 443\r\n`;
}

export function v2(source: string, sourcePort = 40000): Buffer {
  return encodeProxyV2({ source, sourcePort, destination: '127.0.0.1', destinationPort: 443 });
}

/**
 * Connects to 127.0.0.1:port (from `localAddress` when given), writes each of `parts` in turn and collects
 * everything until the proxy closes the connection. Destroyed when the test ends.
 */
export async function sendAndCollect(
  t: TestContext,
  port: number,
  parts: readonly (string | Buffer)[],
  localAddress?: string,
): Promise<{ text: string; socket: net.Socket }> {
  const socket = net.connect({ port, host: '127.0.0.1', ...(localAddress !== undefined && { localAddress }) });
  socket.on('error', () => undefined);
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  for (const p of parts) socket.write(p);
  await once(socket, 'close');
  return { text: Buffer.concat(chunks).toString('latin1'), socket };
}

/** Resolves once `socket` has closed (or at once when it has). */
export function closed(socket: net.Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return once(socket, 'close').then(() => undefined);
}
