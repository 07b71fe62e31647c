// HttpProxy on real loopback sockets: a node:http front that hands every request to proxy.handle() with a
// hand-built route, node:http or raw net backends, and node:http clients.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import type { ErrorCode } from '../../src/errors.js';
import { HttpProxy } from '../../src/http/http-proxy.js';
import type { RouteMatch, RouteOptions } from '../../src/routing/types.js';
import { refusedPort, startHttpBackend, startRawBackend } from '../helpers/peers.js';
import { compiledRoute, routeMatch } from '../helpers/route-fixtures.js';

const MiB = 1024 * 1024;

interface Front {
  readonly port: number;
  readonly proxy: HttpProxy;
  readonly server: http.Server;
  /** Every onError call, in order. */
  readonly errors: { code: ErrorCode; err: Error }[];
  /** Resolves with the next onError call. */
  nextError(): Promise<{ code: ErrorCode; err: Error }>;
}

/** A proxy front on 127.0.0.1:0 that sends every request to `match`; `observe` sees each exchange first. */
async function startFront(
  t: TestContext,
  match: RouteMatch,
  observe?: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<Front> {
  const errors: { code: ErrorCode; err: Error }[] = [];
  const events = new EventEmitter();
  const proxy = new HttpProxy({
    serverName: 'wspass.test',
    onError: (code, err) => {
      errors.push({ code, err });
      events.emit('error-reported', { code, err });
    },
  });
  const server = http.createServer((req, res) => {
    observe?.(req, res);
    proxy.handle(req, res, match, 'http');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await proxy.destroy();
  });
  const nextError = async () => {
    const [reported] = (await once(events, 'error-reported')) as [{ code: ErrorCode; err: Error }];
    return reported;
  };
  return { port: (server.address() as AddressInfo).port, proxy, server, errors, nextError };
}

/** A front proxying to the node:http backend on `backendPort`. */
function frontTo(
  t: TestContext,
  backendPort: number,
  path = '/',
  options: Partial<RouteOptions> = {},
  observe?: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<Front> {
  return startFront(t, routeMatch(compiledRoute(`http://127.0.0.1:${backendPort}`, options), path), observe);
}

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One request on a fresh connection (or on `agent`), body collected. */
function send(
  port: number,
  opts: http.RequestOptions & { body?: string | Buffer } = {},
): Promise<Reply> {
  const { body, ...rest } = opts;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent: false, ...rest }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('GET: method, path with query and headers reach the backend; the answer comes back', async (t) => {
  let seen: http.IncomingMessage | undefined;
  const backend = await startHttpBackend(t, (req, res) => {
    seen = req;
    res.writeHead(201, 'Made It', { 'x-backend': 'yes', 'content-type': 'text/plain' });
    res.end('hello');
  });
  const front = await frontTo(t, backend.port, '/api/items?q=a%20b&n=1');
  const reply = await send(front.port, { path: '/front/path', headers: { host: 'front.test', 'x-custom': 'kept' } });

  assert.equal(reply.status, 201);
  assert.equal(reply.headers['x-backend'], 'yes');
  assert.equal(reply.body.toString(), 'hello');
  assert.ok(seen);
  assert.equal(seen.method, 'GET');
  assert.equal(seen.url, '/api/items?q=a%20b&n=1');
  assert.equal(seen.headers['x-custom'], 'kept');
  assert.equal(seen.headers['transfer-encoding'], undefined, 'a GET without body gets no chunked framing');
  assert.equal(seen.headers['content-length'], undefined);
  assert.deepEqual(front.errors, []);
});

test('hop-by-hop headers are removed both ways; Host is the backend and X-Forwarded-* are added', async (t) => {
  let seen: http.IncomingHttpHeaders = {};
  const backend = await startHttpBackend(t, (req, res) => {
    seen = req.headers;
    res.writeHead(200, {
      Connection: 'X-Backend-Secret',
      'X-Backend-Secret': 'hidden',
      'Keep-Alive': 'timeout=99',
      'X-Visible': 'shown',
    });
    res.end('ok');
  });
  const front = await frontTo(t, backend.port);
  const reply = await send(front.port, {
    headers: {
      Host: 'front.test',
      Connection: 'keep-alive, X-Client-Secret',
      'X-Client-Secret': 'hidden',
      'Keep-Alive': 'timeout=5',
      TE: 'trailers',
      'X-Forwarded-For': '10.1.2.3',
      'X-Visible': 'shown',
    },
  });

  assert.equal(reply.status, 200);
  assert.equal(seen.host, `127.0.0.1:${backend.port}`);
  for (const name of ['x-client-secret', 'keep-alive', 'te']) {
    assert.equal(seen[name], undefined, `${name} must not reach the backend`);
  }
  assert.equal(seen['x-visible'], 'shown');
  // The client is no trusted hop (forwardedFor.trustedHops is empty): its own X-Forwarded-For is replaced.
  assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen['x-forwarded-host'], 'front.test');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-server'], 'wspass.test');

  assert.equal(reply.headers['x-backend-secret'], undefined);
  assert.notEqual(reply.headers['keep-alive'], 'timeout=99', "the backend's Keep-Alive is not relayed");
  assert.equal(reply.headers['x-visible'], 'shown');
});

test('POST 10 MiB streams both ways without buffering the whole body (sha256 compared)', { timeout: 30_000 }, async (t) => {
  const backend = await startHttpBackend(t, (req, res) => {
    // The echo is written as it is read, so the response starts long before the request ends.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    req.pipe(res);
  });
  const front = await frontTo(t, backend.port, '/echo');

  const total = 10 * MiB;
  const chunkSize = 64 * 1024;
  const sentHash = createHash('sha256');
  const receivedHash = createHash('sha256');
  let received = 0;
  const progress = new EventEmitter();

  const req = http.request({
    host: '127.0.0.1',
    port: front.port,
    method: 'POST',
    path: '/upload',
    agent: false,
    headers: { 'content-length': String(total) },
  });
  const responded = once(req, 'response') as Promise<[http.IncomingMessage]>;
  const write = async (chunk: Buffer) => {
    sentHash.update(chunk);
    if (!req.write(chunk)) await once(req, 'drain');
  };

  // First 1 MiB, then wait until echoed bytes are back at the client: if any hop (proxy request side,
  // backend, proxy response side) held the body until its end, this would never happen.
  for (let sent = 0; sent < MiB; sent += chunkSize) await write(randomBytes(chunkSize));
  const [res] = await responded;
  assert.equal(res.statusCode, 200);
  res.on('data', (d: Buffer) => {
    receivedHash.update(d);
    received += d.length;
    progress.emit('data');
  });
  while (received < 512 * 1024) await once(progress, 'data');
  assert.ok(received < total);

  for (let sent = MiB; sent < total; sent += chunkSize) await write(randomBytes(chunkSize));
  req.end();
  await once(res, 'end');

  assert.equal(received, total);
  assert.equal(receivedHash.digest('hex'), sentHash.digest('hex'));
  assert.deepEqual(front.errors, []);
});

test('a chunked request body (no Content-Length) is streamed chunked to the backend', async (t) => {
  const backendEvents = new EventEmitter();
  let seen: { te: string | undefined; length: string | undefined; body: string } | undefined;
  const backend = await startHttpBackend(t, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      backendEvents.emit('data');
    });
    req.on('end', () => {
      seen = {
        te: req.headers['transfer-encoding'],
        length: req.headers['content-length'],
        body: Buffer.concat(chunks).toString(),
      };
      res.end('done');
    });
  });
  const front = await frontTo(t, backend.port);
  const firstPart = once(backendEvents, 'data');
  const req = http.request({ host: '127.0.0.1', port: front.port, method: 'PUT', agent: false });
  const responded = once(req, 'response') as Promise<[http.IncomingMessage]>;
  req.write('part one, ');
  // The second part is sent only once the first reached the backend: the body's length is unknown
  // to the proxy when it starts sending, so it must frame it chunked.
  await firstPart;
  req.end('part two');
  const [res] = await responded;
  res.setEncoding('latin1');
  let body = '';
  res.on('data', (d: string) => (body += d));
  await once(res, 'end');
  assert.equal(res.statusCode, 200);
  assert.equal(body, 'done');
  assert.deepEqual(seen, { te: 'chunked', length: undefined, body: 'part one, part two' });
});

test('Expect: 100-continue: the client gets its 100, the backend gets the body without Expect', async (t) => {
  let seen: { expect: string | undefined; body: string } | undefined;
  const backend = await startHttpBackend(t, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen = { expect: req.headers.expect, body: Buffer.concat(chunks).toString() };
      res.end('got it');
    });
  });
  const front = await frontTo(t, backend.port);
  const body = 'x'.repeat(1000);
  let continued = false;
  const reply = await new Promise<Reply>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: front.port,
        method: 'POST',
        agent: false,
        headers: { expect: '100-continue', 'content-length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
  });
  assert.ok(continued);
  assert.equal(reply.status, 200);
  assert.equal(reply.body.toString(), 'got it');
  assert.deepEqual(seen, { expect: undefined, body });
});

test('keep-alive toward the backend: sequential requests share one backend connection', async (t) => {
  let connections = 0;
  const backend = await startHttpBackend(t, (req, res) => res.end(`answer to ${req.url}`));
  backend.server.on('connection', () => connections++);
  const front = await frontTo(t, backend.port, '/same');

  for (let i = 0; i < 4; i++) {
    const reply = await send(front.port);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString(), 'answer to /same');
  }
  assert.equal(connections, 1);
});

test('response backpressure: a client that does not read stops the backend from writing', { timeout: 60_000 }, async (t) => {
  const total = 64 * MiB;
  const chunk = Buffer.alloc(8 * 1024, 7); // under the 16 KiB high-water mark: write() is false only when full
  const backendState = new EventEmitter();
  let written = 0;
  const backend = await startHttpBackend(t, (_req, res) => {
    res.writeHead(200, { 'content-length': String(total) });
    const pump = () => {
      while (written < total) {
        written += chunk.length;
        if (!res.write(chunk)) {
          backendState.emit('blocked');
          res.once('drain', () => {
            backendState.emit('unblocked');
            pump();
          });
          return;
        }
      }
      res.end();
      backendState.emit('finished');
    };
    pump();
  });
  // The proxy's own queue toward the client, sampled at every event below: with backpressure it never
  // holds much more than one read from the backend past its high-water mark.
  let proxyResponse: http.ServerResponse | undefined;
  let proxyQueuedMax = 0;
  const sample = () => {
    proxyQueuedMax = Math.max(proxyQueuedMax, proxyResponse?.writableLength ?? 0);
  };
  const front = await frontTo(t, backend.port, '/', {}, (_req, res) => (proxyResponse = res));

  const req = http.request({ host: '127.0.0.1', port: front.port, agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  let received = 0;
  let finished = false;
  let gapAtFinish = -1;
  res.on('data', (d: Buffer) => {
    received += d.length;
    sample();
  });
  // The client reads only while the backend is blocked. If the proxy ignored backpressure it would keep
  // draining the backend into memory, the backend would hardly ever block, and it would finish while the
  // client had read little. With backpressure the bytes in flight are bounded by socket buffers.
  res.pause();
  backendState.on('blocked', () => {
    sample();
    res.resume();
  });
  backendState.on('unblocked', () => {
    sample();
    if (!finished) res.pause();
  });
  backendState.once('finished', () => {
    sample();
    finished = true;
    gapAtFinish = total - received;
    res.resume();
  });
  await once(res, 'end');

  assert.equal(received, total);
  assert.ok(gapAtFinish >= 0);
  assert.ok(gapAtFinish < 24 * MiB, `in flight when the backend finished: ${(gapAtFinish / MiB).toFixed(1)} MiB`);
  assert.ok(proxyQueuedMax < MiB, `the proxy queued up to ${(proxyQueuedMax / MiB).toFixed(1)} MiB for the client`);
});

test('HEAD relays the head only and leaves the client connection usable', async (t) => {
  const backend = await startHttpBackend(t, (req, res) => {
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': '11', 'x-head': 'yes' });
      res.end();
    } else {
      res.end('after head');
    }
  });
  let clientConnections = 0;
  const front = await frontTo(t, backend.port);
  front.server.on('connection', () => clientConnections++);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());

  const head = await send(front.port, { method: 'HEAD', agent });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '11');
  assert.equal(head.headers['x-head'], 'yes');
  assert.equal(head.body.length, 0);
  const next = await send(front.port, { agent });
  assert.equal(next.body.toString(), 'after head');
  assert.equal(clientConnections, 1);
});

test('204 relays no body and leaves the client connection usable', async (t) => {
  const backend = await startHttpBackend(t, (req, res) => {
    if (req.url === '/empty') {
      res.writeHead(204, { 'x-empty': 'yes' });
      res.end();
    } else {
      res.end('after 204');
    }
  });
  let clientConnections = 0;
  const front = await startFront(
    t,
    routeMatch(compiledRoute(`http://127.0.0.1:${backend.port}`), '/empty'),
  );
  front.server.on('connection', () => clientConnections++);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());

  const empty = await send(front.port, { agent });
  assert.equal(empty.status, 204);
  assert.equal(empty.headers['x-empty'], 'yes');
  assert.equal(empty.headers['transfer-encoding'], undefined);
  assert.equal(empty.body.length, 0);
  const again = await send(front.port, { agent });
  assert.equal(again.status, 204);
  assert.equal(clientConnections, 1);
});

test('a refused backend port answers 503 WSP_BACKEND_REFUSED', async (t) => {
  const port = await refusedPort();
  const front = await frontTo(t, port);
  const reply = await send(front.port);
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['x-wspass-error'], 'WSP_BACKEND_REFUSED');
  assert.match(reply.body.toString(), /WSP_BACKEND_REFUSED/);
  assert.deepEqual(
    front.errors.map((e) => e.code),
    ['WSP_BACKEND_REFUSED'],
  );
});

test('a backend that accepts but never answers: 504 WSP_HANDSHAKE_TIMEOUT after handshakeTimeoutMs', async (t) => {
  const backendClosed = new EventEmitter();
  const backend = await startHttpBackend(t, (req) => {
    req.socket.on('close', () => backendClosed.emit('closed'));
  });
  const closed = once(backendClosed, 'closed');
  const front = await frontTo(t, backend.port, '/', { handshakeTimeoutMs: 50 });
  const reply = await send(front.port);
  assert.equal(reply.status, 504);
  assert.equal(reply.headers['x-wspass-error'], 'WSP_HANDSHAKE_TIMEOUT');
  await closed; // the proxy gave up the backend connection
  assert.deepEqual(
    front.errors.map((e) => e.code),
    ['WSP_HANDSHAKE_TIMEOUT'],
  );
});

test('a backend that sends garbage answers 502 WSP_BACKEND_BAD_RESPONSE', async (t) => {
  const backend = await startRawBackend(t, (socket) => {
    socket.once('data', () => socket.end('SSH-2.0-not-http\r\n\r\n'));
  });
  const front = await frontTo(t, backend.port);
  const reply = await send(front.port);
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['x-wspass-error'], 'WSP_BACKEND_BAD_RESPONSE');
  assert.equal(front.errors[0]?.code, 'WSP_BACKEND_BAD_RESPONSE');
});

test('a backend that closes without answering answers 502 WSP_BACKEND_BAD_RESPONSE', async (t) => {
  const backend = await startRawBackend(t, (socket) => {
    socket.once('data', () => socket.destroy());
  });
  const front = await frontTo(t, backend.port);
  const reply = await send(front.port);
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['x-wspass-error'], 'WSP_BACKEND_BAD_RESPONSE');
});

test('a TLS failure toward an https backend answers 502 WSP_BACKEND_TLS', async (t) => {
  // A plain HTTP server behind an https:// URL: the TLS handshake cannot succeed.
  const backend = await startHttpBackend(t, (_req, res) => res.end('plain'));
  const front = await startFront(t, routeMatch(compiledRoute(`https://127.0.0.1:${backend.port}`), '/'));
  const reply = await send(front.port);
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['x-wspass-error'], 'WSP_BACKEND_TLS');
});

for (const framing of ['content-length', 'chunked'] as const) {
  test(`a backend dying mid-body (${framing}) cuts the client connection instead of ending cleanly`, async (t) => {
    const backend = await startRawBackend(t, (socket) => {
      socket.once('data', () => {
        const head =
          framing === 'content-length'
            ? 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789'
            : 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n';
        socket.write(head, () => socket.destroy());
      });
    });
    const front = await frontTo(t, backend.port);
    const outcome = await new Promise<{ status: number; body: string; complete: boolean; aborted: boolean }>(
      (resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: front.port, agent: false }, (res) => {
          let body = '';
          let aborted = false;
          res.setEncoding('latin1');
          res.on('data', (d: string) => (body += d));
          res.on('aborted', () => (aborted = true));
          res.on('error', () => undefined); // 'aborted' (ECONNRESET) is the expected outcome
          res.on('close', () => resolve({ status: res.statusCode ?? 0, body, complete: res.complete, aborted }));
        });
        req.on('error', reject);
        req.end();
      },
    );
    assert.equal(outcome.status, 200);
    assert.equal(outcome.complete, false, 'a short body must not look complete');
    assert.ok(outcome.aborted);
    assert.ok(outcome.body.length < 1000);
    assert.equal(front.errors[0]?.code, 'WSP_BACKEND_BAD_RESPONSE');
  });
}

test('a client that aborts mid-upload aborts the backend request', async (t) => {
  const backendEvents = new EventEmitter();
  const backend = await startHttpBackend(t, (req) => {
    req.once('data', () => backendEvents.emit('data'));
    req.on('close', () => backendEvents.emit('closed', req.complete));
  });
  const front = await frontTo(t, backend.port);
  const gotData = once(backendEvents, 'data');
  const backendClosed = once(backendEvents, 'closed') as Promise<[boolean]>;
  const reported = front.nextError();

  const req = http.request({
    host: '127.0.0.1',
    port: front.port,
    method: 'POST',
    agent: false,
    headers: { 'content-length': String(MiB) },
  });
  req.on('error', () => undefined); // destroyed on purpose
  req.write(Buffer.alloc(64 * 1024, 1));
  await gotData;
  req.destroy();

  const [complete] = await backendClosed;
  assert.equal(complete, false, 'the backend saw the request cut short');
  assert.equal((await reported).code, 'WSP_CLIENT_ERROR');
});

test('a client that goes away mid-response aborts the backend response', async (t) => {
  const backendEvents = new EventEmitter();
  const backend = await startHttpBackend(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first part; the rest never comes');
    res.on('close', () => backendEvents.emit('closed', res.writableFinished));
  });
  const front = await frontTo(t, backend.port);
  const backendClosed = once(backendEvents, 'closed') as Promise<[boolean]>;
  const reported = front.nextError();

  const req = http.request({ host: '127.0.0.1', port: front.port, agent: false });
  req.on('error', () => undefined);
  req.end();
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  res.on('error', () => undefined);
  await once(res, 'data');
  req.destroy();

  const [finished] = await backendClosed;
  assert.equal(finished, false);
  assert.equal((await reported).code, 'WSP_CLIENT_ERROR');
});

test('after close() new requests get 503 WSP_SHUTTING_DOWN', async (t) => {
  const backend = await startHttpBackend(t, (_req, res) => res.end('ok'));
  const front = await frontTo(t, backend.port);
  assert.equal((await send(front.port)).status, 200);
  await front.proxy.close();
  const reply = await send(front.port);
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['x-wspass-error'], 'WSP_SHUTTING_DOWN');
});
