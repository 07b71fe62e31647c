// The native front (config `tunnel.front`): C accepts and peeks, TypeScript takes the heads the routes
// tunnel and gives everything else to node:http with its bytes. Each case checks both what the client sees
// and which way the connection went (the front's counts), so a front that silently gave everything to
// node:http fails here. Skipped where the addon is not built (CI builds it).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { loadNative } from '../../src/tunnel/native-addon.js';
import type { BackendOrigin } from '../../src/routing/types.js';
import { requestHeadBytes, type HandshakeRequest } from '../../src/tunnel/backend-handshake.js';
import { HeldClient } from '../../src/tunnel/held-client.js';
import { connectLeg } from '../../src/tunnel/native-backend-leg.js';
import type { ReleasedLeg } from '../../src/tunnel/released-leg.js';
import { NativeRegistry } from '../../src/tunnel/native-registry.js';
import { NativeTunnel } from '../../src/tunnel/native-tunnel.js';
import type { TunnelCloseInfo } from '../../src/tunnel/tunnel.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { pino } from 'pino';
import { silentLogger, type Logger } from '../../src/log.js';
import { ProxyServer } from '../../src/server/proxy-server.js';
import { headersOf } from '../../src/http/headers.js';
import { echoThrough, rawClient, rawTunnel, readUntil, refusedPort, startWsBackend, statusOf, openWs, nextMessage, wsHandshake } from '../helpers/peers.js';
import { adminStatus, spawnProxy, waitForStatus } from '../helpers/cli.js';
import { headerValues, scriptedBackend, switchEchoBackend, type ScriptedBackend } from '../helpers/scripted-backend.js';
import type { ProxyStats } from '../../src/server/proxy-server.js';

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

test('a head that starts late and stalls gets its 408 when node:http would give it: the head timeout counts from its first byte, front on and off', { skip, timeout: 15_000 }, async (t) => {
  const headTimeoutMs = 500;
  const answers: string[] = [];
  for (const front of [true, false]) {
    const { proxy, port } = await start(t, { headTimeoutMs, routes: [{ path: '/', respond: { status: 404 } }] }, front);
    const client = await rawClient(t, port);
    const connected = performance.now();
    // The first bytes come after most of the head timeout (the front gives the incomplete head to
    // node:http), and the head never ends.
    await new Promise<void>((resolve) => setTimeout(resolve, headTimeoutMs * 0.6));
    client.write('GET /slow HTTP/1.1\r\nHost: x\r\n');
    const answer = (await readUntil(client, () => false)).toString('latin1');
    const elapsed = performance.now() - connected;
    answers.push(answer.replace(/^Date: .*\r\n/m, 'Date: -\r\n'));
    assert.equal(proxy.frontCounts.givenBack, front ? 1 : 0);
    // node:http restarts its head timer when a request begins: not before 1.6 x headTimeoutMs (a little
    // slack for the clocks of the two sides).
    assert.ok(elapsed >= headTimeoutMs * 1.6 - 25, `front ${front}: the 408 came ${elapsed.toFixed(0)} ms after the connect`);
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

// A handshake the front takes holds the client as an fd (HeldClient): no net.Socket until something other
// than a 101 on the native engine must be said, the 101 sent by the C tunnel before the backend's bytes.

/** A masked WebSocket text frame, as a client sends it. */
function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4]!)]);
}

/** The answer's head and what follows it. */
function split(answer: Buffer): { head: string; rest: string } {
  const end = answer.indexOf('\r\n\r\n');
  return { head: answer.subarray(0, end + 4).toString('latin1'), rest: answer.subarray(end + 4).toString('latin1') };
}

/** Sends an upgrade head with `early` right after it; the answer must be a 101, then exactly `rest`. */
async function switched(client: net.Socket, path: string, early: string, rest: string): Promise<void> {
  const got = readUntil(client, (b) => b.toString('latin1').endsWith(`\r\n\r\n${rest}`));
  client.write(wsHandshake(path) + early);
  const answer = split(await got);
  assert.equal(statusOf(answer.head), 101);
  assert.equal(answer.rest, rest);
}

test('a first frame in the same write as the request is relayed after the 101, in order, and a drain still says goodbye at a frame boundary', { skip, timeout: 10_000 }, async (t) => {
  const backend = await startWsBackend(t);
  const { proxy, port } = await start(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  const echoed = '\x81\x05early';
  const got = readUntil(client, (b) => b.toString('latin1').endsWith(echoed));
  client.write(Buffer.concat([Buffer.from(wsHandshake('/early'), 'latin1'), clientTextFrame('early')]));
  const { head, rest } = split(await got);
  assert.equal(statusOf(head), 101);
  assert.equal(rest, echoed);
  assert.equal(proxy.frontCounts.taken, 1);
  const tunnel = [...proxy.liveTunnels()][0]?.[0];
  assert.equal(tunnel!.engine, 'native');
  // The 101 is not the tunnel's: its byte count is the echoed frame's alone, as with the front off.
  assert.equal(tunnel!.bytesToClient, echoed.length);
  // The frame tracker did not take the 101 for frames: the drain's close frame comes whole.
  const closing = readUntil(client, () => false);
  await proxy.close();
  const goodbye = await closing;
  assert.equal(goodbye[0], 0x88, `a close frame: ${goodbye.toString('hex')}`);
  assert.equal(goodbye.readUInt16BE(2), 1012);
});

test('tunnel bytes in the same segment as the backend\'s 101 follow the client\'s 101 at once', { skip, timeout: 10_000 }, async (t) => {
  const backend = await switchEchoBackend(t, 'hi');
  const { proxy, port } = await start(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  await switched(client, '/seg', '', 'hi');
  assert.equal(await echoThrough(client, 'after'), 'after');
  assert.equal(proxy.frontCounts.taken, 1);
  const tunnel = [...proxy.liveTunnels()][0]?.[0];
  assert.equal(tunnel!.bytesToClient, 'hi'.length + 'after'.length);
});

/** What `raw` gets through a proxy with the front on or off (the Date header blanked), and the front's count. */
async function firstAnswer(t: TestContext, front: boolean, config: Omit<ConfigInput, 'listen'>, raw: string, before?: (port: number) => Promise<void>): Promise<{ answer: string; taken: number }> {
  const { proxy, port } = await start(t, config, front);
  await before?.(port);
  const client = await rawClient(t, port);
  client.write(raw);
  const all = await readUntil(client, () => false);
  return { answer: all.toString('latin1').replace(/^Date: .*\r\n/m, 'Date: -\r\n'), taken: proxy.frontCounts.taken };
}

test('a refused admission is answered through the client\'s socket as with the front off', { skip, timeout: 10_000 }, async (t) => {
  const backend = await switchEchoBackend(t, 'hi');
  const config = { limits: { perClient: { maxTunnels: 1 } }, routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] };
  const answers: string[] = [];
  for (const front of [true, false]) {
    const { answer, taken } = await firstAnswer(t, front, config, wsHandshake('/second'), async (port) => {
      await rawTunnel(t, port, 'hi');
    });
    assert.equal(taken, front ? 2 : 0);
    answers.push(answer);
  }
  assert.equal(statusOf(answers[0]!), 429, answers[0]);
  assert.equal(answers[0], answers[1]);
});

test('a backend that refuses gets the same error answer with the front on as off', { skip, timeout: 10_000 }, async (t) => {
  const dead = await refusedPort();
  const config = { routes: [{ path: '/', backend: `ws://127.0.0.1:${dead}/` }] };
  const on = await firstAnswer(t, true, config, wsHandshake('/dead'));
  const off = await firstAnswer(t, false, config, wsHandshake('/dead'));
  assert.equal(on.taken, 1);
  assert.equal(statusOf(on.answer), 503, on.answer);
  assert.equal(on.answer, off.answer);
});

test('with the JavaScript engine after a reload, a held client gets its 101 through a socket, then the tunnel', { skip, timeout: 10_000 }, async (t) => {
  const backend = await switchEchoBackend(t, 'hi');
  const routes = [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }];
  const { proxy, port } = await start(t, { routes });
  proxy.reload(configSchema.parse({ listen: '127.0.0.1:0', tunnel: { engine: 'js', front: true }, routes }));
  const client = await rawClient(t, port);
  await switched(client, '/js', 'early', 'hiearly');
  assert.equal(await echoThrough(client, 'more'), 'more');
  assert.equal(proxy.frontCounts.taken, 1);
  const tunnel = [...proxy.liveTunnels()][0]?.[0];
  assert.equal(tunnel!.engine, 'js');
});

/** Open fds of this process (the proxy runs in it). */
function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A backend that answers 101 (and 'hi') only when told to (`answer`); `headIn` resolves when the head arrived. */
async function delayedSwitchBackend(t: TestContext): Promise<{ backend: ScriptedBackend; headIn: Promise<void>; answer: () => void }> {
  let headIn!: () => void;
  const arrived = new Promise<void>((resolve) => (headIn = resolve));
  let answer!: () => void;
  const told = new Promise<void>((resolve) => (answer = resolve));
  const backend = await scriptedBackend(t, (s) => {
    s.on('error', () => undefined);
    headIn();
    void told.then(() => {
      s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhi');
      s.on('data', (d: Buffer) => s.write(d));
      s.on('end', () => s.end());
    });
  });
  return { backend, headIn: arrived, answer };
}

for (const how of ['FIN', 'reset'] as const) {
  test(`a client that leaves (${how}) while the backend has not answered: no crash, the backend is let go, no fd left`, { skip, timeout: 10_000 }, async (t) => {
    const { backend, headIn, answer } = await delayedSwitchBackend(t);
    const outcomes: string[] = [];
    const stats: ProxyStats = {
      tunnelOpened: () => undefined,
      tunnelClosed: () => undefined,
      httpRequest: () => undefined,
      error: () => undefined,
      handshake: (outcome) => void outcomes.push(outcome),
    };
    const proxy = new ProxyServer(
      configSchema.parse({ listen: '127.0.0.1:0', tunnel: { engine: 'native', front: true }, routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] }),
      { log: silentLogger(), stats },
    );
    const [addr] = await proxy.listen();
    t.after(() => proxy.destroy());
    const baseline = openFds();
    const client = net.connect({ port: addr!.port, host: '127.0.0.1' });
    client.on('error', () => undefined);
    await once(client, 'connect');
    client.write(wsHandshake('/leaving'));
    await headIn;
    if (how === 'FIN') client.destroy();
    else client.resetAndDestroy();
    await once(client, 'close');
    answer();
    await backend.released(0);
    assert.equal(proxy.frontCounts.taken, 1);
    // The proxy's side of both connections closes (a tunnel that found the client gone, or none at all).
    while (openFds() > baseline || proxy.tunnelCount > 0) await new Promise((resolve) => setTimeout(resolve, 10)); // bounded by the test timeout
    // Then a new handshake is served as usual.
    await switched(await rawClient(t, addr!.port), '/again', '', 'hi');
    // A reset is seen when the answer comes (client_gone, no tunnel); a FIN alone could be a half-close,
    // so the tunnel starts and finds the client gone when it writes the 101.
    assert.equal(outcomes[0], how === 'reset' ? 'client_gone' : 'success');
  });
}

test('close() waits for a handshake in flight on a held client, which still gets its 101', { skip, timeout: 10_000 }, async (t) => {
  const { backend, headIn, answer } = await delayedSwitchBackend(t);
  const { proxy, port } = await start(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
  const client = await rawClient(t, port);
  client.write(wsHandshake('/inflight'));
  await headIn;
  let closed = false;
  const closing = proxy.close().then(() => (closed = true));
  // Several loop turns: enough for the listener's close to complete if nothing held it open.
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(closed, false, 'close() waited for the held client');
  const got = readUntil(client, (b) => b.toString('latin1').endsWith('\r\n\r\nhi'));
  answer();
  const { head } = split(await got);
  assert.equal(statusOf(head), 101);
  await closing;
  assert.equal(proxy.frontCounts.taken, 1);
});

const LEG_REQUEST: HandshakeRequest = { method: 'GET', path: '/', rawHeaders: ['Host', 'b', 'Connection', 'Upgrade', 'Upgrade', 'websocket'] };
const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';

/** A backend leg to a raw peer on `port` that switched: its fd (no JS handle holds it) and what followed the 101. */
async function legTo(port: number): Promise<{ socket: ReleasedLeg; head: Buffer }> {
  const addon = loadNative().addon!;
  const origin: BackendOrigin = { scheme: 'ws', secure: false, hostname: '127.0.0.1', port, hostHeader: 'b', httpOrigin: 'http://b' };
  const leg = await connectLeg(addon, origin, requestHeadBytes(LEG_REQUEST), 5_000);
  const answer = await leg.answer(LEG_REQUEST, { handshakeTimeoutMs: 5_000, maxHeaderBytes: 16_384 });
  if (answer.kind !== 'switched') throw new Error('the peer did not switch');
  return answer;
}

test('when the core refuses the tunnel, the JavaScript engine takes the held client: its 101 first, then the tunnel', { skip, timeout: 10_000 }, async (t) => {
  const addon = loadNative().addon!;
  // The client's end is a raw peer reached by a backend leg: an fd no JS socket holds, as the front's.
  const apps: net.Socket[] = [];
  const clientApp = await scriptedBackend(t, (s) => {
    apps.push(s);
    s.write(SWITCH);
  });
  const backend = await switchEchoBackend(t, 'hi');
  const clientEnd = await legTo(clientApp.port);
  const backendEnd = await legTo(backend.port);
  const server = net.createServer();
  const adopted: net.Socket[] = [];
  const held = new HeldClient(addon, server, clientEnd.socket.fd, (socket) => adopted.push(socket));
  clientEnd.socket.handedOver();
  const connections = (): number => (server as net.Server & { _connections: number })._connections;
  assert.equal(connections(), 1, 'a held client is one of its server\'s connections');
  held.switched(Buffer.from('HTTP/1.1 101 held\r\n\r\n'));
  const refusing = new NativeRegistry({
    setCloseHandler: () => undefined,
    open: () => {
      throw new Error('the core refuses');
    },
    close: () => undefined,
    destroy: () => undefined,
    counters: () => 0,
  });
  let reported!: (info: TunnelCloseInfo) => void;
  const closed = new Promise<TunnelCloseInfo>((resolve) => (reported = resolve));
  const options = { idleTimeoutMs: 0, highWaterMarkBytes: 65_536, async: false, asyncDelayMs: 0, websocket: false };
  const tunnel = new NativeTunnel(refusing, held, backendEnd.socket, options, { toClient: backendEnd.head }, { tunnelClosed: (_ctx: undefined, info) => reported(info) }, undefined);
  t.after(() => tunnel.destroy());
  assert.equal(tunnel.engine, 'js');
  assert.equal(adopted.length, 1, 'the held client became a socket, set up by the listener');
  const app = apps[0]!;
  const got = await readUntil(app, (b) => b.toString('latin1').endsWith('hi'));
  assert.equal(got.toString('latin1'), 'HTTP/1.1 101 held\r\n\r\nhi');
  assert.equal(await echoThrough(app, 'ping'), 'ping');
  assert.equal(tunnel.bytesToClient, 'hi'.length + 'ping'.length, 'the 101 is not the tunnel\'s');
  tunnel.close(0);
  const info = await closed;
  assert.equal(info.bytesToClient, 'hi'.length + 'ping'.length);
  assert.equal(info.bytesToBackend, 'ping'.length);
  assert.equal(connections(), 0, 'and its socket was counted out when it closed');
});
