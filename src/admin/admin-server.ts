// The admin endpoint of the primary thread (off unless `admin` is configured; loopback by default):
//   GET  /healthz, /readyz     liveness and readiness (probes.ts)
//   GET  /status               workers and counters as JSON
//   GET  /metrics              Prometheus text
//                              (both with ?flush=1: every worker adds its open tunnels' counts first)
//   POST /reload               re-read the config file and apply it (422 with the errors when invalid)
//   POST /debug/crash-worker?id=N   only with fault injection on (tests)
//   POST /debug/fail-reload?id=N    only with fault injection on: worker N fails its next reload prepare
// Extra routes (balancer control, tunnels) are mounted by the caller. With a token configured, every
// request must carry it (admin-token.ts); the health listener (startHealthServer) serves the probes without.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import type { Supervisor } from '../workers/supervisor.js';
import type { TokenCheck } from './admin-token.js';
import { answerProbe, type ProbeSource } from './probes.js';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

export interface AdminOptions {
  readonly supervisor: Supervisor;
  readonly metrics: Registry;
  readonly log: Logger;
  /** Re-reads and applies the config; rejects with a message listing what is wrong. */
  readonly reload: () => Promise<void>;
  /** Further handlers, tried in order; a handler returns true when it answered. */
  readonly handlers?: readonly AdminHandler[];
  readonly probes: ProbeSource;
  /** Every request must carry this bearer token; none when absent. */
  readonly token?: TokenCheck | undefined;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function startAdminServer(opts: AdminOptions, host: string, port: number): Promise<{ server: http.Server; address: AddressInfo }> {
  const server = http.createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      opts.log.error({ err: (err as Error).message }, 'admin request failed');
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      else res.destroy();
    });
  });
  return listenOn(server, host, port, opts.log, 'admin endpoint error');
}

/**
 * The health listener: only GET /healthz and /readyz, no token, so a kubelet can probe it. Started before
 * the workers, so readiness says 503 while they start.
 */
export function startHealthServer(probes: ProbeSource, log: Logger, host: string, port: number): Promise<{ server: http.Server; address: AddressInfo }> {
  const server = http.createServer((req, res) => {
    const pathname = (req.url ?? '/').split('?', 1)[0]!;
    if (!answerProbe(probes, req, res, pathname)) sendJson(res, 404, { error: 'the health listener serves GET /healthz and GET /readyz' });
  });
  // A probe connection that stays open must not hold the process at exit.
  server.keepAliveTimeout = 1_000;
  return listenOn(server, host, port, log, 'health listener error');
}

async function listenOn(server: http.Server, host: string, port: number, log: Logger, what: string): Promise<{ server: http.Server; address: AddressInfo }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  // After the start an error (EMFILE on accept, say) is logged; it must not end the primary.
  server.on('error', (err) => log.error({ err: err.message }, what));
  return { server, address: server.address() as AddressInfo };
}

/**
 * `?flush=1`: the counters of open tunnels are otherwise up to a second old (each worker adds them once a
 * second); a reader that measures over a window asks for them as of now. The primary asks only then.
 */
async function flushIfAsked(supervisor: Supervisor, url: URL): Promise<void> {
  if (url.searchParams.get('flush') === '1') await supervisor.flushStats();
}

async function handle(opts: AdminOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://admin');
  } catch {
    sendJson(res, 400, { error: `not a request target: ${JSON.stringify(req.url)}` });
    return;
  }
  if (opts.token && !opts.token.allows(req, res)) {
    req.resume();
    return;
  }
  if (answerProbe(opts.probes, req, res, url.pathname)) return;
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /status':
      await flushIfAsked(opts.supervisor, url);
      sendJson(res, 200, opts.supervisor.status());
      return;
    case 'GET /metrics':
      await flushIfAsked(opts.supervisor, url);
      res.writeHead(200, { 'content-type': opts.metrics.contentType });
      res.end(await opts.metrics.metrics());
      return;
    case 'POST /reload':
      try {
        await opts.reload();
        sendJson(res, 200, { reloaded: true });
      } catch (err) {
        sendJson(res, 422, { reloaded: false, errors: (err as Error).message });
      }
      return;
    case 'POST /debug/fail-reload': {
      const ok = opts.supervisor.failNextPrepare(Number(url.searchParams.get('id')));
      sendJson(res, ok ? 202 : 404, { armed: ok });
      return;
    }
    case 'POST /debug/crash-worker': {
      const ok = opts.supervisor.crash(Number(url.searchParams.get('id')));
      sendJson(res, ok ? 202 : 404, { crashed: ok });
      return;
    }
  }
  for (const h of opts.handlers ?? []) if (await h(req, res, url)) return;
  sendJson(res, 404, { error: `no admin route ${route}` });
}
