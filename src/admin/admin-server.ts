// The admin endpoint of the primary thread (off unless `admin` is configured; loopback by default):
//   GET  /healthz              200 when every worker is ready, else 503
//   GET  /status               workers and counters as JSON
//   GET  /metrics              Prometheus text
//   POST /reload               re-read the config file and apply it (422 with the errors when invalid)
//   POST /debug/crash-worker?id=N   only with fault injection on (tests)
//   POST /debug/fail-reload?id=N    only with fault injection on: worker N fails its next reload prepare
// Extra routes (balancer control) are mounted by the caller.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import type { Supervisor } from '../workers/supervisor.js';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

export interface AdminOptions {
  readonly supervisor: Supervisor;
  readonly metrics: Registry;
  readonly log: Logger;
  /** Re-reads and applies the config; rejects with a message listing what is wrong. */
  readonly reload: () => Promise<void>;
  /** Further handlers, tried in order; a handler returns true when it answered. */
  readonly handlers?: readonly AdminHandler[];
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startAdminServer(opts: AdminOptions, host: string, port: number): Promise<{ server: http.Server; address: AddressInfo }> {
  const server = http.createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      opts.log.error({ err: (err as Error).message }, 'admin request failed');
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  // After the start an error (EMFILE on accept, say) is logged; it must not end the primary.
  server.on('error', (err) => opts.log.error({ err: err.message }, 'admin endpoint error'));
  return { server, address: server.address() as AddressInfo };
}

async function handle(opts: AdminOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://admin');
  } catch {
    sendJson(res, 400, { error: `not a request target: ${JSON.stringify(req.url)}` });
    return;
  }
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /healthz': {
      const ok = opts.supervisor.status().workers.every((w) => w.state === 'ready');
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
      return;
    }
    case 'GET /status':
      sendJson(res, 200, opts.supervisor.status());
      return;
    case 'GET /metrics':
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
