// A drain says goodbye in WebSocket terms, on both tunnel engines: 500 `ws` clients echoing through the
// proxy to a `ws` backend, permessage-deflate on, messages (some fragmented) in flight when the drain
// starts. Every client sees the configured close code, the backend sees 1001, no frame is cut (ws would
// fail the connection with 1002 or an 'error'), nothing is lost backend → client, and every client
// message is either received by the backend or counted as dropped after the close began. Plus, at byte
// level: the frame in progress ends before the close frame and nothing follows a close frame; a
// non-WebSocket tunnel falls back to the FIN; a frame that never ends, and a client that stops reading
// (the backend's close stuck behind it), hit the handshake bound.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import { WebSocket } from 'ws';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { ProxyServer } from '../../src/server/proxy-server.js';
import { closedLog, ENGINES, skipFor, type ClosedLine, type Engine } from '../helpers/engines.js';
import { readUntil, startWsBackend, wsHandshake } from '../helpers/peers.js';
import { scriptedBackend } from '../helpers/scripted-backend.js';

/** An in-process proxy on `engine` whose `tunnel closed` lines are kept. */
async function startProxy(t: TestContext, engine: Engine, input: Omit<ConfigInput, 'listen'>) {
  const config = configSchema.parse({ listen: '127.0.0.1:0', tunnel: { engine }, ...input });
  const { log, lines, nClosed } = closedLog();
  const proxy = new ProxyServer(config, { log });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  return { proxy, port: addr!.port, lines, nClosed };
}

const CLIENTS = 500;
/** permessage-deflate on both ends, with small zlib windows: 1,000 default contexts would take ~300 MB. */
const DEFLATE = { threshold: 64, serverMaxWindowBits: 9, clientMaxWindowBits: 9, zlibDeflateOptions: { memLevel: 1 } } as const;

for (const engine of ENGINES) {
  const skip = skipFor(engine);
  // One engine runs the default code (1012), the other the configured alternative.
  const closeCode = engine === 'native' ? 1012 : 1001;

  test(`${engine}: a drain closes ${CLIENTS} WebSocket tunnels with close frames, deflate on, messages in flight`, { skip, timeout: 30_000 }, async (t) => {
    let backendReceived = 0;
    let backendSent = 0;
    const backendCodes: number[] = [];
    const backend = await startWsBackend(t, { perMessageDeflate: DEFLATE }, (ws) => {
      ws.on('message', (data: Buffer, isBinary) => {
        backendReceived++;
        if (ws.readyState !== WebSocket.OPEN) return;
        backendSent++;
        ws.send(data, { binary: isBinary });
      });
      ws.on('close', (code) => {
        backendCodes.push(code);
        if (backendCodes.length === CLIENTS) backendDone.emit('done');
      });
    });
    const backendDone = new EventEmitter();
    const allBackendClosed = once(backendDone, 'done');
    const { proxy, port, lines, nClosed } = await startProxy(t, engine, {
      routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
      shutdown: { tunnelDrainMs: 500, deadlineMs: 20_000, closeCode, closeHandshakeMs: 10_000 },
    });

    const traffic = new EventEmitter();
    const flowing = once(traffic, 'flowing');
    let clientSent = 0;
    let clientReceived = 0;
    const errors: string[] = [];
    const clientCodes: number[] = [];
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: DEFLATE });
        t.after(() => ws.terminate());
        ws.on('error', (err) => errors.push(err.message));
        await once(ws, 'open');
        assert.match(ws.extensions, /permessage-deflate/);
        // Each client keeps messages in flight: a reply triggers the next message, of varied size, some
        // sent in two fragments.
        const send = (n: number) => {
          if (ws.readyState !== WebSocket.OPEN) return;
          const body = Buffer.alloc(1 + ((n * 7919 + i * 104_729) % 8_000), n & 0xff);
          clientSent++;
          if (n % 5 === 0) {
            ws.send(body.subarray(0, body.length >> 1), { fin: false, binary: true });
            ws.send(body.subarray(body.length >> 1), { fin: true, binary: true });
          } else ws.send(body, { binary: true });
        };
        let n = 0;
        ws.on('message', () => {
          if (++clientReceived === CLIENTS * 2) traffic.emit('flowing');
          send(++n);
        });
        const closed = once(ws, 'close').then(([code]) => clientCodes.push(code as number));
        send(n);
        send(++n);
        return { closed }; // wrapped: an async function returning a promise would wait for it
      }),
    );
    assert.equal(proxy.liveTunnels().next().done, false);
    assert.ok([...proxy.liveTunnels()].every(([tunnel]) => tunnel.engine === engine));

    await flowing; // echoes under way on every side, as in service
    await proxy.drain({ tunnelDrainMs: 500, deadlineMs: 20_000 });
    await Promise.all(clients.map((c) => c.closed));
    await nClosed(CLIENTS);
    await allBackendClosed;

    assert.deepEqual(errors, [], 'no client saw a bad frame');
    assert.deepEqual(new Set(clientCodes), new Set([closeCode]), 'every client got the configured close code');
    assert.deepEqual(new Set(backendCodes), new Set([1001]), 'the backend got 1001 on every connection');
    assert.deepEqual(new Set(lines.map((l) => l.goodbye)), new Set(['handshake']), 'every tunnel completed the closing handshake');
    // However the goodbye ends (whose FIN comes first), the drain is why the tunnel closed.
    assert.deepEqual(new Set(lines.map((l) => `${l.reason}/${l.closedBy}`)), new Set(['drain/proxy']), 'the access log names the drain');
    const dropped = lines.reduce((sum, l) => sum + (l.framesDropped ?? 0), 0);
    // A client message is one frame unless sent in two fragments: count messages through the frames.
    t.diagnostic(`client sent ${clientSent}, backend got ${backendReceived}, frames dropped ${dropped}, backend sent ${backendSent}`);
    assert.ok(dropped > 0, 'messages were in flight when the close began');
    assert.equal(clientReceived, backendSent, 'nothing the backend sent before its close was lost');
    assert.ok(backendReceived <= clientSent, 'the backend got no message twice');
    assert.ok(clientSent - backendReceived <= dropped, `every message the backend did not get was counted (${clientSent - backendReceived} lost, ${dropped} frames dropped)`);
  });
}

const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n';
/** A client frame: masked with a zero key (so its bytes read plainly), FIN set. */
const clientFrame = (op: number, payload: Buffer) => Buffer.concat([Buffer.from([0x80 | op, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
const serverFrame = (op: number, payload: Buffer) => Buffer.concat([Buffer.from([0x80 | op, payload.length]), payload]);
const code = (n: number) => Buffer.from([n >> 8, n & 0xff]);

/** A raw backend that answers a 101 for `protocol` with `greeting` after it; its socket comes out. */
async function rawSwitchBackend(t: TestContext, protocol: string, greeting: Buffer) {
  const sockets: net.Socket[] = [];
  const connected = new EventEmitter();
  const backend = await scriptedBackend(t, (s) => {
    s.on('error', () => undefined);
    s.write(Buffer.concat([Buffer.from(`${SWITCH}Upgrade: ${protocol}\r\n\r\n`, 'latin1'), greeting]));
    sockets.push(s);
    connected.emit('socket', s);
  });
  const socket = (): Promise<net.Socket> =>
    sockets[0] !== undefined ? Promise.resolve(sockets[0]) : (once(connected, 'socket') as Promise<[net.Socket]>).then(([s]) => s);
  return { port: backend.port, socket };
}

/** A raw client through the proxy with `Upgrade: protocol`, resolved once the 101 and `greeting` came. */
async function rawClientTunnel(t: TestContext, port: number, protocol: string, greeting: Buffer): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  s.on('error', () => undefined);
  t.after(() => s.destroy());
  s.write(wsHandshake('/', { Upgrade: protocol }));
  const got = await readUntil(s, (b) => b.includes('\r\n\r\n') && b.subarray(b.indexOf('\r\n\r\n') + 4).length >= greeting.length);
  assert.ok(got.toString('latin1').startsWith('HTTP/1.1 101 '));
  assert.deepEqual(got.subarray(got.indexOf('\r\n\r\n') + 4), greeting);
  return s;
}

/** Collects what `s` receives until its FIN. */
function collect(s: net.Socket): { bytes: () => Buffer; ended: Promise<unknown> } {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  return { bytes: () => Buffer.concat(chunks), ended: once(s, 'end') };
}

/** A raw client and a raw backend, the tunnel between them through a proxy on `engine`, both collected. */
async function rawRig(t: TestContext, engine: Engine, opts: { protocol?: string; closeHandshakeMs?: number; route?: Record<string, unknown> } = {}) {
  const protocol = opts.protocol ?? 'websocket';
  const greeting = serverFrame(1, Buffer.from('hi'));
  const b = await rawSwitchBackend(t, protocol, greeting);
  const { proxy, port, lines, nClosed } = await startProxy(t, engine, {
    routes: [{ path: '/', backend: `ws://127.0.0.1:${b.port}/`, ...(protocol !== 'websocket' ? { upgrade: protocol } : {}), ...opts.route }],
    ...(opts.closeHandshakeMs !== undefined ? { shutdown: { closeHandshakeMs: opts.closeHandshakeMs } } : {}),
  });
  const client = await rawClientTunnel(t, port, protocol, greeting);
  const backend = await b.socket();
  return { proxy, lines, nClosed, client, backend, atBackend: collect(backend), atClient: collect(client) };
}

for (const engine of ENGINES) {
  const skip = skipFor(engine);

  test(`${engine}: the goodbye byte by byte: the frame in progress ends, close frames at boundaries, nothing after them`, { skip }, async (t) => {
    const { proxy, lines, nClosed, client, backend, atBackend, atClient } = await rawRig(t, engine);
    const frame1 = clientFrame(1, Buffer.from('one'));
    const frame2 = clientFrame(2, Buffer.from('two!!'));
    // The second frame is in progress (3 of its bytes sent) when the close begins.
    client.write(Buffer.concat([frame1, frame2.subarray(0, 3)]));
    await readUntil(backend, (buf) => buf.length >= frame1.length + 3);
    const [tunnel] = [...proxy.liveTunnels()][0]!;
    tunnel.close(undefined, { closeCode: 1012, handshakeMs: 10_000 });
    client.write(Buffer.concat([frame2.subarray(3), clientFrame(1, Buffer.from('late'))]));
    // The backend gets the rest of frame 2, then a masked close 1001, and not the late frame.
    const expected = frame1.length + frame2.length + 8;
    await readUntil(backend, () => atBackend.bytes().length >= expected);
    const got = atBackend.bytes();
    assert.deepEqual(got.subarray(0, frame1.length + frame2.length), Buffer.concat([frame1, frame2]));
    const close = got.subarray(frame1.length + frame2.length);
    assert.deepEqual([close[0], close[1]], [0x88, 0x82], 'a masked close frame with a 2-byte payload');
    assert.equal(((close[6]! ^ close[2]!) << 8) | (close[7]! ^ close[3]!), 1001);
    // The backend answers with a data frame, its close, and (wrongly) a frame after it.
    const reply = serverFrame(1, Buffer.from('bye'));
    backend.write(Buffer.concat([reply, serverFrame(8, code(1001)), serverFrame(1, Buffer.from('after'))]));
    await readUntil(client, () => atClient.bytes().length >= reply.length + 4);
    assert.deepEqual(atClient.bytes(), Buffer.concat([reply, serverFrame(8, code(1012))]), 'the backend close is replaced by 1012');
    // The client answers the close: then FIN both ways, and nothing more on either side.
    client.write(clientFrame(8, code(1012)));
    await Promise.all([atBackend.ended, atClient.ended]);
    assert.equal(atBackend.bytes().length, expected);
    assert.equal(atClient.bytes().length, reply.length + 4);
    client.end();
    backend.end();
    await nClosed(1);
    assert.equal(lines[0]!.goodbye, 'handshake');
    assert.equal(lines[0]!.framesDropped, 1, 'the late frame was counted (the client close is not)');
  });

  test(`${engine}: a non-WebSocket tunnel (h2c) gets the bare FIN, even when its bytes look like frames`, { skip }, async (t) => {
    const { proxy, lines, nClosed, client, backend, atBackend, atClient } = await rawRig(t, engine, { protocol: 'h2c', closeHandshakeMs: 10_000 });
    const frame = clientFrame(1, Buffer.from('x'));
    client.write(frame);
    await readUntil(backend, () => atBackend.bytes().length >= frame.length);
    const drained = proxy.drain({ tunnelDrainMs: 0, deadlineMs: 5_000 });
    await Promise.all([atBackend.ended, atClient.ended]);
    assert.deepEqual(atBackend.bytes(), frame, 'no close frame to the backend');
    assert.equal(atClient.bytes().length, 0, 'no close frame to the client');
    client.end();
    backend.end();
    await drained;
    await nClosed(1);
    assert.equal(lines[0]!.goodbye, 'fin');
  });

  test(`${engine}: a frame that never ends holds the close until the bound, then the FIN`, { skip }, async (t) => {
    const { proxy, lines, nClosed, client, backend, atBackend, atClient } = await rawRig(t, engine, { closeHandshakeMs: 300 });
    // A frame announcing 100 bytes of which 10 ever come.
    const partial = Buffer.concat([Buffer.from([0x82, 0x80 | 100, 0, 0, 0, 0]), Buffer.alloc(10, 7)]);
    client.write(partial);
    await readUntil(backend, () => atBackend.bytes().length >= partial.length);
    const started = performance.now();
    const drained = proxy.drain({ tunnelDrainMs: 0, deadlineMs: 5_000 });
    await Promise.all([atBackend.ended, atClient.ended]);
    const waited = performance.now() - started;
    assert.ok(waited >= 250, `the FIN came after ${waited} ms, before the bound`);
    assert.deepEqual(atBackend.bytes(), partial, 'no close frame cut into the frame in progress');
    client.end();
    backend.end();
    await drained;
    await nClosed(1);
    assert.equal(lines[0]!.goodbye, 'timeout');
  });
}

for (const engine of ENGINES) {
  test(`${engine}: behind a client that stops reading, the backend's close never gets through: FIN at the bound`, { skip: skipFor(engine) }, async (t) => {
    const { proxy, lines, nClosed, client, backend, atBackend } = await rawRig(t, engine, { closeHandshakeMs: 300 });
    client.pause(); // a slow reader: from here on it reads nothing
    // One 8 MiB frame the client never takes in full: the backend's close would have to wait behind it.
    const size = 8 << 20;
    const head = Buffer.from([0x82, 127, 0, 0, 0, 0, size >>> 24, (size >> 16) & 0xff, (size >> 8) & 0xff, size & 0xff]);
    backend.write(Buffer.concat([head, Buffer.alloc(size, 1)]));
    const started = performance.now();
    const drained = proxy.drain({ tunnelDrainMs: 0, deadlineMs: 5_000 });
    // The backend gets its close frame at once (the client's direction is at a boundary) ...
    await readUntil(backend, () => atBackend.bytes().length >= 8);
    const close = atBackend.bytes();
    assert.equal(((close[6]! ^ close[2]!) << 8) | (close[7]! ^ close[3]!), 1001);
    backend.write(serverFrame(8, code(1001)));
    // ... but the client never reads up to the backend's close: the bound ends it with the FIN.
    await atBackend.ended;
    const waited = performance.now() - started;
    assert.ok(waited >= 250, `the FIN came after ${waited} ms, before the bound`);
    backend.end();
    client.destroy();
    await drained;
    await nClosed(1);
    assert.equal(lines[0]!.goodbye, 'timeout');
  });
}

for (const engine of ENGINES) {
  test(`${engine}: a backend that answers the close with a bare FIN: the client still gets its close frame, then the FIN`, { skip: skipFor(engine) }, async (t) => {
    const { proxy, lines, nClosed, client, backend, atBackend, atClient } = await rawRig(t, engine, { closeHandshakeMs: 10_000 });
    const drained = proxy.drain({ tunnelDrainMs: 0, deadlineMs: 5_000 });
    await readUntil(backend, () => atBackend.bytes().length >= 8);
    backend.end(); // no close frame
    await readUntil(client, () => atClient.bytes().length >= 4);
    assert.deepEqual(atClient.bytes(), serverFrame(8, code(1012)));
    // The backend's FIN waits for the client's answer (a FIN sent with the close frame would have been
    // read with it).
    assert.equal(client.readableEnded, false);
    client.write(clientFrame(8, code(1012)));
    await Promise.all([atClient.ended, atBackend.ended]);
    assert.equal(atClient.bytes().length, 4);
    client.end();
    await drained;
    await nClosed(1);
    assert.equal(lines[0]!.goodbye, 'handshake');
    assert.equal(lines[0]!.framesDropped, 0);
  });
}

/** The client answers its 1012 close: FIN both ways; the tunnel's line says the handshake completed, nothing dropped. */
async function answerClose(rig: Awaited<ReturnType<typeof rawRig>>, drained: Promise<unknown>): Promise<ClosedLine> {
  rig.client.write(clientFrame(8, code(1012)));
  await Promise.all([rig.atClient.ended, rig.atBackend.ended]);
  rig.client.end();
  rig.backend.end();
  await drained;
  await rig.nClosed(1);
  const line = rig.lines[0]!;
  assert.equal(line.goodbye, 'handshake');
  assert.equal(line.framesDropped, 0);
  return line;
}

/** A server frame with a 64-bit length (any size). */
function bigServerFrame(op: number, size: number, fill: number): Buffer {
  const head = Buffer.from([0x80 | op, 127, 0, 0, 0, 0, size >>> 24, (size >> 16) & 0xff, (size >> 8) & 0xff, size & 0xff]);
  return Buffer.concat([head, Buffer.alloc(size, fill)]);
}

// The modes a backend lane may be in when the goodbye starts mid-frame: plain reads, bulk splices (a
// frame larger than the read buffer), async holds.
const LANE_MODES: readonly [string, number, Record<string, unknown>][] = [
  ['a small frame', 3000, {}],
  ['a bulk (spliced) frame', 1 << 20, {}],
  ['an async-held frame', 3000, { async: true, asyncDelayMs: 5 }],
];

for (const engine of ENGINES) {
  for (const [mode, size, route] of LANE_MODES) {
    test(`${engine}: ${mode} in flight from the backend at the goodbye reaches the client whole, then the close, split reads and all`, { skip: skipFor(engine), timeout: 5_000 }, async (t) => {
      const rig = await rawRig(t, engine, { closeHandshakeMs: 10_000, route });
      const { proxy, client, backend, atBackend, atClient } = rig;
      const frame = bigServerFrame(2, size, 9);
      // A bulk frame: half of it before the goodbye, so the lane splices payload when the goodbye starts.
      const first = size > 65_536 ? size >> 1 : 10;
      const cuts = [0, first, first + ((size - first) >> 1), size - 100, frame.length];
      // The first piece (the header and some payload) reaches the client before the goodbye starts.
      backend.write(frame.subarray(cuts[0], cuts[1]));
      await readUntil(client, () => atClient.bytes().length >= cuts[1]!);
      const drained = proxy.drain({ tunnelDrainMs: 0, deadlineMs: 5_000 });
      // The client's direction is at a boundary: the backend gets its close at once.
      await readUntil(backend, () => atBackend.bytes().length >= 8);
      // The rest of the frame in pieces, then the backend's close reply, itself cut in two.
      for (let i = 1; i < cuts.length - 1; i++) backend.write(frame.subarray(cuts[i], cuts[i + 1]));
      const reply = serverFrame(8, code(1001));
      backend.write(reply.subarray(0, 1));
      backend.write(reply.subarray(1));
      const expected = frame.length + 4;
      await readUntil(client, () => atClient.bytes().length >= expected);
      const got = atClient.bytes();
      assert.equal(got.length, expected);
      assert.ok(got.subarray(0, frame.length).equals(frame), 'the whole frame, unchanged');
      assert.deepEqual(got.subarray(frame.length), serverFrame(8, code(1012)));
      const line = await answerClose(rig, drained);
      assert.equal(line.bytesToClient, 4 + expected, 'the greeting, the frame and the close');
    });
  }
}

/** A server frame with a 16-bit length. */
function serverFrame16(op: number, size: number, fill: number): Buffer {
  return Buffer.concat([Buffer.from([0x80 | op, 126, size >> 8, size & 0xff]), Buffer.alloc(size, fill)]);
}

/** A client frame with a 16-bit length, masked with a zero key. */
function clientFrame16(op: number, size: number, fill: number): Buffer {
  return Buffer.concat([Buffer.from([0x80 | op, 0x80 | 126, size >> 8, size & 0xff, 0, 0, 0, 0]), Buffer.alloc(size, fill)]);
}

for (const engine of ENGINES) {
  test(`${engine}: both directions mid-frame at the goodbye: the message, its echo and the echo before it all arrive, then the closes`, { skip: skipFor(engine), timeout: 5_000 }, async (t) => {
    const rig = await rawRig(t, engine, { closeHandshakeMs: 10_000 });
    const { proxy, client, backend, atBackend, atClient } = rig;
    const message = clientFrame16(2, 3000, 1);
    const earlierEcho = serverFrame16(2, 3000, 2);
    const echo = serverFrame16(2, 3000, 1);
    // The client's message and the backend's earlier echo are both in progress when the drain starts.
    client.write(message.subarray(0, 10));
    backend.write(earlierEcho.subarray(0, 10));
    await Promise.all([readUntil(backend, () => atBackend.bytes().length >= 10), readUntil(client, () => atClient.bytes().length >= 10)]);
    const drained = proxy.drain({ tunnelDrainMs: 0, deadlineMs: 5_000 });
    client.write(message.subarray(10));
    // The backend gets the whole message, then its close: it echoes the message and answers the close.
    await readUntil(backend, () => atBackend.bytes().length >= message.length + 8);
    assert.ok(atBackend.bytes().subarray(0, message.length).equals(message));
    backend.write(earlierEcho.subarray(10));
    backend.write(echo.subarray(0, 1000));
    backend.write(Buffer.concat([echo.subarray(1000), serverFrame(8, code(1001)).subarray(0, 1)]));
    backend.write(serverFrame(8, code(1001)).subarray(1));
    const expected = Buffer.concat([earlierEcho, echo, serverFrame(8, code(1012))]);
    await readUntil(client, () => atClient.bytes().length >= expected.length);
    assert.ok(atClient.bytes().equals(expected), 'both echoes whole, then the 1012 close');
    await answerClose(rig, drained);
    assert.equal(atBackend.bytes().length, message.length + 8);
  });
}
