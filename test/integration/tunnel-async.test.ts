// `async` / `asyncDelayMs` routes on both tunnel engines (the native one skipped where the addon is not
// built, required with CI=true): bytes exact and in order both ways with many small messages, the FIN
// behind held bytes (half-close), fewer writes than messages with a delay, the delay itself, and a slow
// reader's back-pressure reaching the backend.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { ProxyServer, type ProxyStats } from '../../src/server/proxy-server.js';
import type { TunnelCloseInfo } from '../../src/tunnel/tunnel.js';
import { ENGINES, skipFor, type Engine } from '../helpers/engines.js';
import { hasHead, rawClient, readUntil, startRawBackend, wsHandshake } from '../helpers/peers.js';
import { switchEchoBackend } from '../helpers/scripted-backend.js';

const MiB = 1024 * 1024;

/** A proxy with an async route per mode; the close reports are kept (`closed(n)` waits for n). */
async function asyncProxy(t: TestContext, engine: Engine, backendPort: number) {
  const infos: { route: string; info: TunnelCloseInfo }[] = [];
  const waiters: (() => void)[] = [];
  const stats: ProxyStats = {
    tunnelOpened: () => undefined,
    tunnelClosed: (route, info) => {
      infos.push({ route, info });
      for (const w of waiters.splice(0)) w();
    },
    httpRequest: () => undefined,
    error: () => undefined,
  };
  const backend = `ws://127.0.0.1:${backendPort}/`;
  const config = configSchema.parse({
    listen: '127.0.0.1:0',
    tunnel: { engine },
    routes: [
      { name: 'turn', path: '/turn', backend, async: true },
      { name: 'delay', path: '/delay', backend, async: true, asyncDelayMs: 20 },
      { name: 'long', path: '/long', backend, async: true, asyncDelayMs: 150 },
    ],
  });
  const proxy = new ProxyServer(config, { log: silentLogger(), stats });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  const closed = async (n: number): Promise<void> => {
    while (infos.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { proxy, port: addr!.port, infos, closed };
}

/** Opens a tunnel on `path` through a switch-echo backend greeting 'hi'; resolves after the greeting. */
async function openTunnel(t: TestContext, port: number, path: string): Promise<net.Socket> {
  const s = await rawClient(t, port);
  s.on('error', () => undefined);
  const greeted = readUntil(s, (b) => b.toString('latin1').endsWith('\r\n\r\nhi'));
  s.write(wsHandshake(path));
  await greeted;
  return s;
}

/** `burst` messages of 1 to 64 bytes written in one event-loop turn, then `n` more each in its own turn, then a FIN. */
async function chatter(s: net.Socket, burst: number, n: number): Promise<Buffer> {
  const sent: Buffer[] = [];
  const write = (i: number) => {
    const m = Buffer.alloc(1 + ((i * 37) % 64), i % 251);
    sent.push(m);
    s.write(m);
  };
  for (let i = 0; i < burst; i++) write(i);
  for (let i = burst; i < burst + n; i++) {
    write(i);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  s.end();
  return Buffer.concat(sent);
}

function collect(s: net.Socket): Promise<Buffer> {
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => got.push(d));
  return once(s, 'end').then(() => Buffer.concat(got));
}

for (const engine of ENGINES) {
  const skip = skipFor(engine);

  test(`${engine}: async routes relay many small messages (a burst in one turn, then one per turn) byte for byte both ways; the FIN follows held bytes`, { skip }, async (t) => {
    const backend = await switchEchoBackend(t, 'hi');
    const { proxy, port, infos, closed } = await asyncProxy(t, engine, backend.port);
    const MESSAGES = 300;
    for (const path of ['/turn', '/delay']) {
      const s = await openTunnel(t, port, path);
      assert.ok([...proxy.liveTunnels()].every(([tunnel]) => tunnel.engine === engine), 'the tunnel runs on the engine under test');
      const echoed = collect(s);
      const sent = await chatter(s, 200, MESSAGES);
      // The echo backend answers the FIN with a FIN once it has echoed everything: both ways in order.
      assert.deepEqual(await echoed, sent, `${path}: the echo, byte for byte`);
    }
    await closed(2);
    for (const { route, info } of infos) {
      assert.equal(info.reason, 'client-closed', route);
      assert.equal(info.bytesToClient - 2, info.bytesToBackend, route);
    }
    // With a delay, the messages written in separate turns go out together: fewer writes than those
    // messages alone (write-through would need about one per message each way).
    const delayed = infos.find((c) => c.route === 'delay')!.info;
    assert.ok(delayed.flushes < MESSAGES, `${delayed.flushes} writes for ${MESSAGES} messages each way`);
    t.diagnostic(`writes for ${MESSAGES} messages each way: ${infos.map((c) => `${c.route} ${c.info.flushes}`).join(', ')}`);
  });

  test(`${engine}: asyncDelayMs holds a lone message for the delay`, { skip }, async (t) => {
    const backend = await switchEchoBackend(t, 'hi');
    const { port } = await asyncProxy(t, engine, backend.port);
    const s = await openTunnel(t, port, '/long');
    const started = performance.now();
    const back = readUntil(s, (b) => b.toString('latin1') === 'ping');
    s.write('ping');
    assert.equal((await back).toString('latin1'), 'ping');
    // Held 150 ms toward the backend and again toward the client; the clock is coarse, hence the margin.
    const took = performance.now() - started;
    assert.ok(took >= 250, `echoed after ${took.toFixed(0)} ms`);
  });

  test(`${engine}: async with a delay: a client that stops reading stops the backend, and loses nothing`, { skip }, async (t) => {
    const TOTAL = 32 * MiB;
    let written = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    const backend = await startRawBackend(t, (s) => {
      void readUntil(s, hasHead).then(async () => {
        s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        while (written < TOTAL && !s.destroyed) {
          written += chunk.length;
          if (!s.write(chunk)) await once(s, 'drain');
        }
        s.end();
      });
    });
    const { port } = await asyncProxy(t, engine, backend.port);
    const client = await rawClient(t, port);
    client.write(wsHandshake('/delay'));
    const head = await readUntil(client, hasHead);
    let received = head.length - (head.indexOf('\r\n\r\n') + 4);
    client.pause();
    // Bounded wait until the backend can no longer write: every buffer on the path is full.
    let last = -1;
    for (let i = 0; i < 50 && written !== last; i++) {
      last = written;
      await delay(100);
    }
    assert.ok(written < 16 * MiB, `the backend pushed ${written / MiB} MiB into a client that does not read`);
    client.on('data', (d: Buffer) => (received += d.length));
    client.resume();
    await once(client, 'end');
    assert.equal(received, TOTAL);
  });
}
