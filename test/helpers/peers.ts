// Real peers for integration tests: `ws` backends, node:http backends, raw `net` servers and clients.
// Everything listens on 127.0.0.1:0 and is closed when the test ends.
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { WebSocketServer, WebSocket, type ServerOptions } from 'ws';

/** Options of a test backend beyond the `ws` server's own. */
export interface BackendExtras {
  /** Serve TLS (wss:// and https://) with this certificate. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Answers plain HTTP requests (default: "plain from ws backend"). */
  readonly onRequest?: http.RequestListener;
}

/** A `ws` backend (echo by default) on 127.0.0.1:0; every request it upgraded is kept in `requests`. */
export async function startWsBackend(
  t: TestContext,
  options: Omit<ServerOptions, 'port' | 'server'> = {},
  onConnection: (ws: WebSocket, req: http.IncomingMessage) => void = (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  },
  extras: BackendExtras = {},
): Promise<{ port: number; wss: WebSocketServer; requests: http.IncomingMessage[] }> {
  const onRequest: http.RequestListener =
    extras.onRequest ??
    ((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('plain from ws backend');
    });
  const server = extras.tls ? https.createServer({ cert: extras.tls.cert, key: extras.tls.key }, onRequest) : http.createServer(onRequest);
  const wss = new WebSocketServer({ ...options, server });
  const requests: http.IncomingMessage[] = [];
  wss.on('connection', (ws, req) => {
    requests.push(req);
    ws.on('error', () => ws.terminate());
    onConnection(ws, req);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { port: (server.address() as AddressInfo).port, wss, requests };
}

/** A ws backend that greets with `name` on a tunnel and answers `name` to plain HTTP. */
export async function startNamedBackend(t: TestContext, name: string): Promise<number> {
  const b = await startWsBackend(t, {}, (ws) => ws.send(name), {
    onRequest: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(name);
    },
  });
  return b.port;
}

export async function startHttpBackend(
  t: TestContext,
  handler: http.RequestListener,
): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { port: (server.address() as AddressInfo).port, server };
}

/** A raw TCP backend; `onSocket` gets every accepted socket (allowHalfOpen, so FIN can be tested). */
export async function startRawBackend(
  t: TestContext,
  onSocket: (socket: net.Socket) => void,
): Promise<{ port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { port: (server.address() as AddressInfo).port, sockets };
}

/** A port that refuses connections: bound, then closed. */
export async function refusedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** Reads from `socket` until `predicate(allBytesSoFar)` holds or the socket ends; resolves with the bytes. */
export function readUntil(socket: net.Socket, predicate: (buf: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (predicate(buf)) done();
    };
    const done = () => {
      socket.removeListener('data', onData);
      socket.removeListener('end', done);
      socket.removeListener('close', done);
      socket.removeListener('error', reject);
      resolve(buf);
    };
    socket.on('data', onData);
    socket.once('end', done);
    socket.once('close', done);
    socket.once('error', reject);
  });
}

export const hasHead = (buf: Buffer): boolean => buf.includes('\r\n\r\n');

/** Opens a raw client connection to 127.0.0.1:port; destroyed when the test ends. */
export async function rawClient(t: TestContext, port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  return socket;
}

/** Sends `raw` and resolves with the first response head as text (and any bytes after it). */
export async function rawExchange(t: TestContext, port: number, raw: string | Buffer): Promise<{ head: string; rest: Buffer; socket: net.Socket }> {
  const socket = await rawClient(t, port);
  socket.write(raw);
  const buf = await readUntil(socket, hasHead);
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return { head: buf.toString('latin1'), rest: Buffer.alloc(0), socket };
  return { head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4), socket };
}

export function statusOf(head: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
}

export function openWs(t: TestContext, url: string, protocols?: string | string[], options?: ConstructorParameters<typeof WebSocket>[2]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  t.after(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary }));
    ws.once('close', () => reject(new Error('closed before a message')));
  });
}

/** A WebSocket upgrade request head for raw clients. */
export function wsHandshake(path: string, extra: Record<string, string> = {}): string {
  const headers: Record<string, string> = {
    Host: 'proxy.test',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...extra,
  };
  return `GET ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

/**
 * Opens a tunnel through the proxy at `port` with a raw client that answers a FIN with a FIN; resolves
 * once the 101 and `greeting` (what the backend sends right after it) arrived. Destroyed when the test ends.
 */
export async function rawTunnel(t: TestContext, port: number, greeting: string, path = '/'): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1' });
  s.on('error', () => undefined);
  t.after(() => s.destroy());
  s.write(wsHandshake(path));
  const got = (await readUntil(s, (b) => b.toString('latin1').endsWith(`\r\n\r\n${greeting}`))).toString('latin1');
  if (!got.startsWith('HTTP/1.1 101 ') || !got.endsWith(greeting)) throw new Error(`no tunnel: ${JSON.stringify(got)}`);
  return s;
}

/** Writes `text` into a tunnel to an echo backend; resolves with what came back (as many bytes). */
export async function echoThrough(s: net.Socket, text: string): Promise<string> {
  const reply = readUntil(s, (b) => b.length >= text.length);
  s.write(text);
  return (await reply).toString('latin1');
}
