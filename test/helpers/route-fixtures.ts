// Hand-built routes for tests of the layers below the route table (HTTP proxy, tunnel): a CompiledRoute
// with the config's defaults, pointing at a test backend, without going through config compilation.
import type { BackendOrigin, CompiledRoute, RouteMatch, RouteOptions } from '../../src/routing/types.js';

const DEFAULT_PORT = { ws: 80, http: 80, wss: 443, https: 443 } as const;

/** A BackendOrigin for `url` (ws://, wss://, http:// or https://; path ignored). */
export function backendOrigin(url: string): BackendOrigin {
  const u = new URL(url);
  const scheme = u.protocol.slice(0, -1);
  if (scheme !== 'ws' && scheme !== 'wss' && scheme !== 'http' && scheme !== 'https') {
    throw new Error(`not a backend URL: ${url}`);
  }
  const secure = scheme === 'wss' || scheme === 'https';
  const port = u.port === '' ? DEFAULT_PORT[scheme] : Number(u.port);
  const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const hostPart = hostname.includes(':') ? `[${hostname}]` : hostname;
  const hostHeader = u.port === '' ? hostPart : `${hostPart}:${port}`;
  return {
    scheme,
    secure,
    hostname,
    port,
    hostHeader,
    httpOrigin: `${secure ? 'https' : 'http'}://${hostPart}:${port}`,
  };
}

/** The config defaults (src/config/schema.ts), as a compiled route gets them. */
export const DEFAULT_ROUTE_OPTIONS: RouteOptions = {
  idleTimeoutMs: 0,
  connectTimeoutMs: 5_000,
  handshakeTimeoutMs: 30_000,
  preserveHost: false,
  forwardedHeaders: true,
  async: false,
  asyncDelayMs: 0,
  highWaterMarkBytes: 256 * 1024,
  upgrade: { kind: 'list', protocols: ['websocket'] },
  upgradeOnly: false,
  tls: undefined,
};

/** A route to `backend` (a URL or an origin) with defaults, overridden by `options`. */
export function compiledRoute(
  backend: string | BackendOrigin,
  options: Partial<RouteOptions> & { name?: string; index?: number } = {},
): CompiledRoute {
  const { name, index, ...rest } = options;
  return {
    ...DEFAULT_ROUTE_OPTIONS,
    ...rest,
    index: index ?? 0,
    name: name ?? `routes[${index ?? 0}]`,
    backend: typeof backend === 'string' ? backendOrigin(backend) : backend,
  };
}

/** A match of `route` sending `backendPath` (path and query) to the backend. */
export function routeMatch(route: CompiledRoute, backendPath = '/'): RouteMatch {
  return { route, backendPath };
}
