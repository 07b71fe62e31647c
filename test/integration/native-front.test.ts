// The native front (config `tunnel.front`): C accepts and peeks, TypeScript takes the heads the routes
// tunnel and gives everything else to node:http with its bytes. Each case checks both what the client sees
// and which way the connection went (the front's counts), so a front that silently gave everything to
// node:http fails here. Skipped where the addon is not built (CI builds it).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { loadNative } from '../../src/tunnel/native-addon.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { pino } from 'pino';
import { silentLogger, type Logger } from '../../src/log.js';
import { ProxyServer } from '../../src/server/proxy-server.js';
import { headersOf } from '../../src/http/headers.js';
import { echoThrough, rawClient, rawTunnel, readUntil, startWsBackend, statusOf, openWs, nextMessage, wsHandshake } from '../helpers/peers.js';
import { adminStatus, spawnProxy, waitForStatus } from '../helpers/cli.js';
import { headerValues, scriptedBackend, switchEchoBackend } from '../helpers/scripted-backend.js';

const skip = loadNative().addon === undefined ? 'native addon not built' : false;

async function start(t: TestContext, config: Omit<ConfigInput, 'listen'>, front = true, log: Logger = silentLogger()): Promise<{ proxy: ProxyServer; port: number }> {
  const engine = config.tunnel?.engine ?? 'native';
  const proxy = new ProxyServer(configSchema.parse({ listen: '127.0.0.1:0', ...config, tunnel: { ...config.tunnel, engine, front } }), { log });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  return { proxy, port: addr!.port };
}

test('an upgrade through the front is taken there and echoes', { skip, timeout: 10_000 }, async (t) => {
  const backend = await startWsBackend(t);
  const { proxy, port } = await start(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const ws = await openWs(t, `ws://127.0.0.1:${port}/chat`);
  const reply = nextMessage(ws);
  ws.send('hello');
  assert.equal((await reply).data.toString(), 'hello');
  assert.deepEqual(proxy.frontCounts, { listeners: 1, taken: 1, givenBack: 0 });
  assert.equal(backend.requests[0]?.url, '/chat');
});

test('a plain GET goes to node:http and its connection stays alive for a second request', { skip, timeout: 10_000 }, async (t) => {
  const backend = await startWsBackend(t);
  const { proxy, port } = await start(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  const get = 'GET /a HTTP/1.1\r\nHost: proxy.test\r\n\r\n';
  client.write(get);
  const first = (await readUntil(client, (b) => b.includes('plain from ws backend'))).toString('latin1');
  assert.equal(statusOf(first), 200);
  client.write(get);
  const second = (await readUntil(client, (b) => b.includes('plain from ws backend'))).toString('latin1');
  assert.equal(statusOf(second), 200);
  assert.deepEqual(proxy.frontCounts, { listeners: 1, taken: 0, givenBack: 1 });
});

/** What a raw client gets back for `raw`, through a proxy with the front on or off. */
async function answerTo(t: TestContext, front: boolean, raw: string, backendPort: number): Promise<string> {
  const { port } = await start(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backendPort}/` }] }, front);
  const socket = await rawClient(t, port);
  socket.write(raw);
  // node:http closes the connection after each of these answers: everything up to the close is compared.
  const all = await readUntil(socket, () => false);
  return all.toString('latin1').replace(/^Date: .*\r\n/m, 'Date: -\r\n');
}

test('a malformed head gets the same status and bytes with the front on as with it off', { skip, timeout: 10_000 }, async (t) => {
  const backend = await startWsBackend(t);
  for (const raw of [
    'GET /x HTTP/1.1\r\nHost: proxy.test\r\nBad Name: x\r\n\r\n',
    'GET /x HTTP/1.1\r\nHost: proxy.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
    `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: proxy.test\r\n\r\n`,
    'GARBAGE\r\n\r\n',
  ]) {
    const on = await answerTo(t, true, raw, backend.port);
    const off = await answerTo(t, false, raw, backend.port);
    assert.ok(statusOf(on) >= 400, `an error status for ${JSON.stringify(raw.slice(0, 40))}: ${on}`);
    assert.equal(on, off, JSON.stringify(raw.slice(0, 40)));
  }
});

test('a head written one byte at a time still upgrades (through node:http: an incomplete head is given back)', { skip, timeout: 10_000 }, async (t) => {
  const backend = await switchEchoBackend(t, 'hi');
  const { proxy, port } = await start(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.setNoDelay(true);
  const head = wsHandshake('/split');
  const got = readUntil(client, (b) => b.toString('latin1').endsWith('\r\n\r\nhi'));
  for (const ch of head) {
    await new Promise<void>((resolve) => client.write(ch, () => resolve()));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  assert.equal(statusOf((await got).toString('latin1')), 101);
  assert.equal(await echoThrough(client, 'ping'), 'ping');
  assert.deepEqual(proxy.frontCounts, { listeners: 1, taken: 0, givenBack: 1 });
});

test('a client that closes before sending anything, or in the middle of a head, costs nothing', { skip, timeout: 10_000 }, async (t) => {
  const backend = await startWsBackend(t);
  const { proxy, port } = await start(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const silent = net.connect({ port, host: '127.0.0.1' });
  silent.on('error', () => undefined);
  await once(silent, 'connect');
  silent.end();
  await once(silent, 'close');
  const cut = net.connect({ port, host: '127.0.0.1' });
  cut.on('error', () => undefined);
  await once(cut, 'connect');
  cut.end('GET /x HTTP/1.1\r\nHost: pro');
  await readUntil(cut, () => false);
  // The proxy still serves: a tunnel opens through the front.
  const ws = await openWs(t, `ws://127.0.0.1:${port}/after`);
  const reply = nextMessage(ws);
  ws.send('still');
  assert.equal((await reply).data.toString(), 'still');
  assert.equal(proxy.frontCounts.taken, 1);
});

test('a connection that sends nothing gets the head timeout\'s answer, as with the front off', { skip, timeout: 10_000 }, async (t) => {
  const answers: string[] = [];
  for (const front of [true, false]) {
    const { proxy, port } = await start(t, { headTimeoutMs: 200, routes: [{ path: '/', respond: { status: 404 } }] }, front);
    const client = await rawClient(t, port);
    answers.push((await readUntil(client, () => false)).toString('latin1').replace(/^Date: .*\r\n/m, 'Date: -\r\n'));
    assert.equal(proxy.frontCounts.listeners, front ? 1 : 0);
  }
  assert.equal(statusOf(answers[0]!), 408, answers[0]);
  assert.equal(answers[0], answers[1]);
});

test('200 concurrent handshakes through the front', { skip, timeout: 30_000 }, async (t) => {
  const backend = await switchEchoBackend(t, 'hi');
  const { proxy, port } = await start(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const tunnels = await Promise.all(Array.from({ length: 200 }, () => rawTunnel(t, port, 'hi')));
  const echoes = await Promise.all(tunnels.map((s, i) => echoThrough(s, `m${i}`)));
  assert.deepEqual(echoes, tunnels.map((_s, i) => `m${i}`));
  assert.equal(proxy.frontCounts.taken, 200);
});

test('a non-101 answer is relayed and the connection reused', { skip, timeout: 10_000 }, async (t) => {
  const backend = await scriptedBackend(t, (s) => s.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\ndenied'));
  const { proxy, port } = await start(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(wsHandshake('/one'));
  const first = (await readUntil(client, (b) => b.includes('denied'))).toString('latin1');
  assert.equal(statusOf(first), 403);
  assert.deepEqual(headerValues(backend.heads[0]!, 'upgrade'), ['websocket']);
  client.write(wsHandshake('/two'));
  const second = (await readUntil(client, (b) => b.includes('denied'))).toString('latin1');
  assert.equal(statusOf(second), 403);
  assert.equal(backend.heads.length, 2);
  // The first head was the front's; the second was read by node:http on the reused connection.
  assert.deepEqual(proxy.frontCounts, { listeners: 1, taken: 1, givenBack: 0 });
});

test('the front on with the JavaScript engine: a start-up warning and no front', { skip, timeout: 10_000 }, async (t) => {
  const backend = await startWsBackend(t);
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(String((JSON.parse(line) as { msg?: string }).msg)) });
  const { proxy, port } = await start(t, { tunnel: { engine: 'js' }, routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] }, true, log);
  assert.ok(warnings.some((w) => w.includes('tunnel.front')), warnings.join('\n'));
  const ws = await openWs(t, `ws://127.0.0.1:${port}/x`);
  const reply = nextMessage(ws);
  ws.send('js');
  assert.equal((await reply).data.toString(), 'js');
  assert.deepEqual(proxy.frontCounts, { listeners: 0, taken: 0, givenBack: 0 });
});

test('wspass run with workers: /status counts each worker\'s front handshakes and given-back connections; a reload names tunnel.front as needing a restart; SIGTERM exits cleanly', { skip, timeout: 30_000 }, async (t) => {
  const backend = await startWsBackend(t);
  const config = (front: boolean) => ({
    listen: '127.0.0.1:0',
    admin: { listen: '127.0.0.1:0' },
    tunnel: { engine: 'native', front },
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
  });
  // The reload's answer may come before its log line is read from the child's stdout: wait for the line.
  let restartLine: (line: { msg?: string; keys?: string[] }) => void = () => {};
  const restartWarned = new Promise<{ msg?: string; keys?: string[] }>((resolve) => (restartLine = resolve));
  const onLine = (l: string) => {
    const line = JSON.parse(l) as { msg?: string; keys?: string[] };
    if (line.keys !== undefined) restartLine(line);
  };
  const { child, port, admin, file } = await spawnProxy(t, config(true), { args: ['--workers', '2'], onLine });
  await waitForStatus(admin!, (s) => s.workers.every((w) => w.state === 'ready'), 'workers ready');
  const ws = await openWs(t, `ws://127.0.0.1:${port}/w`);
  const reply = nextMessage(ws);
  ws.send('via workers');
  assert.equal((await reply).data.toString(), 'via workers');
  const res = await fetch(`http://127.0.0.1:${port}/plain`);
  assert.equal(await res.text(), 'plain from ws backend');
  const status = (await adminStatus(admin!)) as unknown as { counters: { front: { taken: number; givenBack: number }[] } };
  const sum = (k: 'taken' | 'givenBack'): number => status.counters.front.reduce((n, w) => n + w[k], 0);
  assert.equal(status.counters.front.length, 2);
  assert.equal(sum('taken'), 1);
  assert.ok(sum('givenBack') >= 1, JSON.stringify(status.counters.front));
  // The front starts with a listener: turning it off in a reload is refused as a listen change is.
  writeFileSync(file, JSON.stringify(config(false)));
  assert.equal((await fetch(`${admin}/reload`, { method: 'POST' })).status, 200);
  const warning = await restartWarned;
  assert.deepEqual(warning.keys, ['tunnel.front']);
  assert.match(warning.msg ?? '', /tunnel\.front: changes need a restart/);
  ws.terminate();
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0);
});

test('destroy closes a connection that has not sent anything yet', { skip, timeout: 10_000 }, async (t) => {
  const backend = await startWsBackend(t);
  const { proxy, port } = await start(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const silent = await rawClient(t, port);
  // Accepted in order: once a later connection's handshake is through, the silent one waits in C.
  const ws = await openWs(t, `ws://127.0.0.1:${port}/later`);
  assert.equal(proxy.frontCounts.taken, 1);
  const ended = once(silent, 'end');
  await proxy.destroy();
  await ended;
  assert.equal(silent.bytesRead, 0, 'closed without an answer, as node:http closes an idle connection');
  ws.terminate();
});

test('during a drain, a connection that had sent nothing gets the drain\'s 503 for its request, front on and off', { skip, timeout: 10_000 }, async (t) => {
  const backend = await startWsBackend(t);
  const answers: string[] = [];
  for (const front of [true, false]) {
    const { proxy, port } = await start(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] }, front);
    const silent = await rawClient(t, port);
    // Accepted in order: once a later connection's handshake is through, the silent one was accepted.
    const ws = await openWs(t, `ws://127.0.0.1:${port}/later`);
    assert.equal(proxy.frontCounts.taken, front ? 1 : 0);
    const drained = proxy.drain({ tunnelDrainMs: 0, deadlineMs: 5_000 });
    silent.write('GET /late HTTP/1.1\r\nHost: x\r\n\r\n');
    const head = (await readUntil(silent, (b) => b.includes('\r\n\r\n'))).toString('latin1');
    answers.push(head.replace(/^Date: .*\r\n/im, ''));
    ws.terminate();
    await drained;
  }
  assert.match(answers[0]!, /^HTTP\/1\.1 503 [^]*Connection: close\r\n/i);
  assert.equal(answers[0], answers[1]);
});

test('the headers object of a front request is the one node:http builds from the same raw fields', { timeout: 10_000 }, async (t) => {
  const seen: { headers: unknown; raw: string[] }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ headers: { ...req.headers }, raw: req.rawHeaders });
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const fields = [
    'Host: a.test', 'Host: b.test', 'User-Agent: one', 'User-Agent: two', 'Cookie: a=1', 'Cookie: b=2', 'Set-Cookie: x=1',
    'Set-Cookie: y=2', 'Accept: text/html', 'accept: text/plain', 'X-Custom: 1', 'X-CUSTOM: 2', 'Authorization: first',
    'Authorization: second', 'Upgrade: websocket', 'Connection: Upgrade', 'Connection: keep-alive', 'Origin: http://o.test',
    'Referer: r1', 'Referer: r2', 'Max-Forwards: 1', 'Max-Forwards: 2',
  ];
  const client = await rawClient(t, (server.address() as net.AddressInfo).port);
  client.write(`GET / HTTP/1.1\r\n${fields.join('\r\n')}\r\n\r\n`);
  await readUntil(client, (b) => b.includes('\r\n\r\n'));
  assert.equal(seen.length, 1);
  assert.deepEqual(headersOf(seen[0]!.raw), seen[0]!.headers);
});

test('the client address the backend is told is the same with the front on as off, on IPv4 and IPv6 listeners', { skip, timeout: 10_000 }, async (t) => {
  const backend = await startWsBackend(t);
  for (const host of ['127.0.0.1', '::1']) {
    const seen: (string | string[] | undefined)[] = [];
    for (const front of [true, false]) {
      const proxy = new ProxyServer(
        configSchema.parse({
          listen: host === '::1' ? '[::1]:0' : `${host}:0`,
          tunnel: { engine: 'native', front },
          routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
        }),
        { log: silentLogger() },
      );
      const [addr] = await proxy.listen();
      t.after(() => proxy.destroy());
      const url = host === '::1' ? `ws://[::1]:${addr!.port}/v` : `ws://${host}:${addr!.port}/v`;
      const ws = await openWs(t, url);
      ws.terminate();
      seen.push(backend.requests.at(-1)?.headers['x-forwarded-for']);
      assert.equal(proxy.frontCounts.taken, front ? 1 : 0);
    }
    assert.equal(seen[0], host);
    assert.deepEqual(seen[0], seen[1]);
  }
});
