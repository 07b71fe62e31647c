// Which engine relays a tunnel. `tunnel.engine` in the config: `js` always uses ByteTunnel; `native`
// requires the C core (a missing addon is a start-up error); `auto` uses the core where it loaded and
// the tunnel fits it, the JavaScript engine otherwise (one warning per thread and cause).
import type net from 'node:net';
import { WspassError } from '../errors.js';
import { ByteTunnel } from './byte-tunnel.js';
import { HeldClient } from './held-client.js';
import { loadNative, type NativeAddon } from './native-addon.js';
import { registryOf, type NativeRegistry } from './native-registry.js';
import { NativeTunnel, plainFd } from './native-tunnel.js';
import { ReleasedLeg } from './released-leg.js';
import type { Tunnel, TunnelCloser, TunnelInitialBytes, TunnelOptions } from './tunnel.js';

export type TunnelEngineSetting = 'auto' | 'native' | 'js';

/** The engine a thread runs, decided once from the setting and whether the addon loaded. */
export interface TunnelEngine {
  readonly name: 'native' | 'js';
  /** Why `auto` runs JS (the addon's load error), for the start-up warning. */
  readonly fallback?: string;
  readonly registry?: NativeRegistry;
  /** The addon, for the backend legs of handshakes (native-backend-leg.ts). */
  readonly addon?: NativeAddon;
  /** Called at most once per cause with the reason a tunnel stayed on the JS engine under `auto`. */
  warn?: (why: string) => void;
}

export const JS_ENGINE: TunnelEngine = { name: 'js' };

/** Resolves the setting on this thread. Throws WSP_NATIVE_UNAVAILABLE for `native` without the addon. */
export function resolveTunnelEngine(setting: TunnelEngineSetting): TunnelEngine {
  if (setting === 'js') return JS_ENGINE;
  const load = loadNative();
  if (load.addon !== undefined) return { name: 'native', registry: registryOf(load.addon), addon: load.addon };
  if (setting === 'native') throw new WspassError('WSP_NATIVE_UNAVAILABLE', `tunnel.engine is native: ${load.error}`);
  return { name: 'js', fallback: load.error };
}

/** Why a tunnel cannot run on the core (undefined: it can). */
function unfit(client: net.Socket | HeldClient, backend: net.Socket | ReleasedLeg): string | undefined {
  if (!(client instanceof HeldClient) && plainFd(client) === undefined) return 'the client side is TLS (or not a TCP socket)';
  if (!(backend instanceof ReleasedLeg) && plainFd(backend) === undefined) return 'the backend side is TLS (or not a TCP socket)';
  return undefined;
}

const warned = new Set<string>();

/**
 * Starts a tunnel on `engine` (ByteTunnel's contract for the arguments); when it ends, `closer` is told
 * with `ctx`. A native tunnel keeps nothing per tunnel but `ctx` for it (no closure); the JavaScript
 * engine, which holds far more per tunnel anyway, takes a closure.
 */
export function openTunnel<C>(
  engine: TunnelEngine,
  client: net.Socket | HeldClient,
  backend: net.Socket | ReleasedLeg,
  options: TunnelOptions,
  initial: TunnelInitialBytes,
  closer: TunnelCloser<C>,
  ctx: C,
): Tunnel {
  if (engine.registry !== undefined) {
    const why = unfit(client, backend);
    if (why === undefined) return new NativeTunnel(engine.registry, client, backend, options, initial, closer, ctx);
    if (!warned.has(why)) {
      warned.add(why);
      engine.warn?.(why);
    }
  }
  const socket = backend instanceof ReleasedLeg ? backend.toSocket() : backend;
  // A held client's socket has its 101 written first (HeldClient.switched).
  const clientSocket = client instanceof HeldClient ? client.toSocket() : client;
  return new ByteTunnel(clientSocket, socket, options, initial, (info) => closer.tunnelClosed(ctx, info));
}
