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

/**
 * The native front of test proxies (config `tunnel.front`): WSPASS_TEST_FRONT=0 turns it off (Node accepts,
 * also on the native engine), =1 asks for it by name; unset, the default (on wherever the native engine runs).
 */
export function testFront(): boolean | undefined {
  const env = process.env.WSPASS_TEST_FRONT;
  return env === '0' ? false : env === '1' ? true : undefined;
}

export async function startProxy(
  t: TestContext,
  config: Omit<ConfigInput, 'listen'> & { listen?: ConfigInput['listen'] },
): Promise<TestProxy> {
  const proxy = new ProxyServer(configSchema.parse({ listen: '127.0.0.1:0', ...config, tunnel: { engine: testTunnelEngine(), ...(testFront() !== undefined ? { front: testFront() } : {}), ...config.tunnel } }), { log: silentLogger() });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  // A native-engine run must not pass on Node's accept without saying so: the front is on by default there
  // (the default listener is a plain one; TLS and PROXY listeners keep Node's accept).
  const front = config.tunnel?.front ?? testFront();
  if (front !== false && proxy.tunnelEngine === 'native' && proxy.frontCounts.listeners === 0 && config.listen === undefined) {
    throw new Error('the native engine runs, but the native front did not start on the listener');
  }
  const port = addr!.port;
  return { proxy, port, wsBase: `ws://127.0.0.1:${port}`, httpBase: `http://127.0.0.1:${port}` };
}
