// One upgrade request, from node:http's 'upgrade' event to a running byte tunnel:
//
//   client ──head──▶ connect backend ──▶ send head ──▶ 101 ? relay 101, start ByteTunnel
//                                                    └▶ other status: relay it, give the socket back to node:http
//
// Bytes the client sends after its head stay in the client socket's buffer (nothing reads it) until the
// backend's 101; they are the first bytes the tunnel forwards.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { ERRORS, WspassError, type ErrorCode } from '../errors.js';
import { endSocketWithError } from '../http/error-response.js';
import { forwardRequestHeaders, serializeResponseHead } from '../http/headers.js';
import type { Logger } from '../log.js';
import { connectBackend } from '../tunnel/backend-connect.js';
import { backendHandshake } from '../tunnel/backend-handshake.js';
import { ByteTunnel, type TunnelCloseInfo } from '../tunnel/byte-tunnel.js';
import { relayResponse } from './response-relay.js';
import { backendSwitchedTo, type UpgradeDecision } from './upgrade-decision.js';

export interface UpgradeContext {
  readonly log: Logger;
  readonly serverName: string;
  readonly maxHeaderBytes: number;
  readonly clientProto: 'http' | 'https';
  /** Live tunnels, for shutdown and metrics. */
  readonly tunnels: Set<ByteTunnel>;
  /** Hands a socket back to node:http so it parses the next request on it. */
  reinject(socket: Socket): void;
  /** Called when a tunnel ends. */
  onTunnelClose?(info: TunnelCloseInfo, routeName: string): void;
}

function toCode(err: unknown): ErrorCode {
  return err instanceof WspassError ? err.code : 'WSP_BACKEND_BAD_RESPONSE';
}

export async function handleUpgrade(
  ctx: UpgradeContext,
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  decision: Extract<UpgradeDecision, { tunnel: true }>,
): Promise<void> {
  const { route, backendPath } = decision.match;
  const log = ctx.log.child({ route: route.name, url: req.url });
  let clientGone = false;
  const onClientError = (err: Error) => {
    clientGone = true;
    log.debug({ err: err.message }, 'client error before the tunnel started');
  };
  const onClientClose = () => {
    clientGone = true;
  };
  client.on('error', onClientError);
  client.once('close', onClientClose);

  const fail = (code: ErrorCode, err?: unknown) => {
    const level = ERRORS[code].status >= 500 ? 'warn' : 'info';
    log[level]({ code, status: ERRORS[code].status, err: err instanceof Error ? err.message : undefined }, ERRORS[code].reason);
    endSocketWithError(client, code);
  };

  const rawHeaders = forwardRequestHeaders(req.rawHeaders, {
    host: req.headers.host,
    backendHostHeader: route.backend.hostHeader,
    preserveHost: route.preserveHost,
    forwardedHeaders: route.forwardedHeaders,
    clientIp: client.remoteAddress ?? '',
    serverName: ctx.serverName,
    clientProto: ctx.clientProto,
    keepTransferFraming: true,
    upgrade: decision.protocol,
  });

  let backend: Socket;
  try {
    backend = await connectBackend(route.backend, { connectTimeoutMs: route.connectTimeoutMs, tls: route.tls });
  } catch (err) {
    fail(toCode(err), err);
    return;
  }
  if (clientGone) {
    backend.destroy();
    return;
  }
  const onClientGoneDuringHandshake = () => backend.destroy();
  client.once('close', onClientGoneDuringHandshake);

  let result: Awaited<ReturnType<typeof backendHandshake>>;
  try {
    result = await backendHandshake(
      backend,
      { method: req.method ?? 'GET', path: backendPath, rawHeaders },
      { handshakeTimeoutMs: route.handshakeTimeoutMs, maxHeaderBytes: ctx.maxHeaderBytes },
    );
  } catch (err) {
    client.removeListener('close', onClientGoneDuringHandshake);
    backend.destroy();
    if (!clientGone) fail(toCode(err), err);
    return;
  } finally {
    client.removeListener('close', onClientGoneDuringHandshake);
  }
  if (clientGone) {
    if (result.kind === 'switched') result.socket.destroy();
    else result.response.destroy();
    return;
  }

  if (result.kind === 'response') {
    // Not switching: relay the answer as an ordinary response. The connection stays usable unless the
    // client already sent bytes past its head (they belong to the protocol it hoped for) or sent a body.
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const reusable = head.length === 0 && client.readableLength === 0 && !hasBody;
    log.info({ status: result.response.statusCode }, 'backend declined the upgrade');
    await relayResponse(client, result.response, { method: req.method ?? 'GET', keepAlive: reusable });
    client.removeListener('error', onClientError);
    client.removeListener('close', onClientClose);
    if (reusable && !client.destroyed && client.writable) ctx.reinject(client);
    else client.destroySoon?.();
    return;
  }

  const upgraded = result.socket;
  const backendUpgrade = headerValue(result.rawHeaders, 'upgrade');
  if (!backendSwitchedTo(decision.protocol, backendUpgrade)) {
    upgraded.destroy();
    fail('WSP_BACKEND_UPGRADE_MISMATCH', new Error(`asked for ${decision.protocol}, got ${backendUpgrade ?? 'none'}`));
    return;
  }

  client.removeListener('error', onClientError);
  client.removeListener('close', onClientClose);
  client.setNoDelay(true);
  client.setKeepAlive(true, 30_000);
  client.write(serializeResponseHead(101, result.statusMessage, forward101Headers(result.rawHeaders)));
  const started = Date.now();
  const tunnel = new ByteTunnel(
    client,
    upgraded,
    {
      idleTimeoutMs: route.idleTimeoutMs,
      highWaterMarkBytes: route.highWaterMarkBytes,
      async: route.async,
      asyncDelayMs: route.asyncDelayMs,
    },
    { toBackend: head.length > 0 ? head : undefined, toClient: result.head.length > 0 ? result.head : undefined },
    (info) => {
      ctx.tunnels.delete(tunnel);
      log.info(
        {
          reason: info.reason,
          bytesToBackend: info.bytesToBackend,
          bytesToClient: info.bytesToClient,
          durationMs: info.durationMs ?? Date.now() - started,
          err: info.error?.message,
        },
        'tunnel closed',
      );
      ctx.onTunnelClose?.(info, route.name);
    },
  );
  ctx.tunnels.add(tunnel);
  log.debug({ protocol: decision.protocol }, 'tunnel open');
}

/** The 101 is relayed as the backend sent it, minus headers that only concern the backend hop. */
function forward101Headers(rawHeaders: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (lower === 'keep-alive' || lower === 'proxy-connection' || lower === 'transfer-encoding') continue;
    out.push(name, rawHeaders[i + 1] as string);
  }
  return out;
}

function headerValue(rawHeaders: string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === name) {
      const v = rawHeaders[i + 1] as string;
      value = value === undefined ? v : `${value}, ${v}`;
    }
  }
  return value;
}
