// Starts an in-process ProxyServer on 127.0.0.1:0 for a test, destroyed when the test ends.
import type { TestContext } from 'node:test';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { ProxyServer } from '../../src/server/proxy-server.js';

export interface TestProxy {
  readonly proxy: ProxyServer;
  readonly port: number;
  /** `ws://127.0.0.1:port` */
  readonly wsBase: string;
  /** `http://127.0.0.1:port` */
  readonly httpBase: string;
}

/**
 * The tunnel engine test proxies run: WSPASS_TEST_TUNNEL_ENGINE when set (the `*-js` suites re-run a
 * tunnel suite with `js`), else `native` with CI=true (a build that silently fell back to JS fails there),
 * else `auto` (native where it was built).
 */
export function testTunnelEngine(): 'auto' | 'native' | 'js' {
  const env = process.env.WSPASS_TEST_TUNNEL_ENGINE;
  if (env === 'auto' || env === 'native' || env === 'js') return env;
  return process.env.CI === 'true' ? 'native' : 'auto';
}

/** WSPASS_TEST_FRONT=1 runs test proxies with the native front on (config `tunnel.front`). */
export function testFront(): boolean {
  return process.env.WSPASS_TEST_FRONT === '1';
}

export async function startProxy(
  t: TestContext,
  config: Omit<ConfigInput, 'listen'> & { listen?: ConfigInput['listen'] },
): Promise<TestProxy> {
  const proxy = new ProxyServer(configSchema.parse({ listen: '127.0.0.1:0', ...config, tunnel: { engine: testTunnelEngine(), front: testFront(), ...config.tunnel } }), { log: silentLogger() });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  // A run meant to exercise the front must not pass on Node's accept without saying so (the default
  // listener is a plain one; TLS and PROXY listeners keep Node's accept).
  if (testFront() && proxy.tunnelEngine === 'native' && proxy.frontCounts.listeners === 0 && config.listen === undefined && config.tunnel?.front !== false) {
    throw new Error('WSPASS_TEST_FRONT=1, but the native front did not start on a listener');
  }
  const port = addr!.port;
  return { proxy, port, wsBase: `ws://127.0.0.1:${port}`, httpBase: `http://127.0.0.1:${port}` };
}
