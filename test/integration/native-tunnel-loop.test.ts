// The native engine's stay inside a loop turn (src/native/tunnel_loop.h): while its tunnels keep it busy,
// the core serves them from its own epoll set and goes back to Node's loop only when Node has something to
// do. Here a child process floods one native tunnel through an in-process proxy (client and echo backend
// both in the child, so this thread sees nothing but the tunnel's own fds) and, meanwhile, Node's own work
// on this thread must still happen: a timer fires, another tunnel's idle timeout (the core's timer, on
// Node's loop) closes it, and a new handshake goes through and echoes. A core that waited for its set
// without Node's next timer would never let the idle timeout fire here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { ProxyServer, type ProxyStats } from '../../src/server/proxy-server.js';
import { loadNative } from '../../src/tunnel/native-addon.js';
import type { TunnelCloseInfo } from '../../src/tunnel/tunnel.js';
import { readUntil } from '../helpers/peers.js';
import { pollUntil } from '../helpers/poll.js';

const skip = loadNative().addon === undefined ? 'native addon not available' : false;

const HEAD = 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/**
 * The child: an echo backend (answers the upgrade with 101, then echoes), and, once it reads the proxy's
 * port on stdin, one client that writes 16 KiB chunks as fast as the tunnel takes them and reads the echo.
 * Prints the backend's port, then "flowing" after a MiB came back. Ends itself after 30 s at most.
 */
const PEER = `
const net = require('net');
setTimeout(() => process.exit(0), 30000).unref();
const backend = net.createServer((s) => {
  s.on('error', () => {});
  let head = Buffer.alloc(0);
  const onData = (d) => {
    head = Buffer.concat([head, d]);
    const end = head.indexOf('\\r\\n\\r\\n');
    if (end < 0) return;
    s.off('data', onData);
    s.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n\\r\\n');
    if (head.length > end + 4) s.write(head.subarray(end + 4));
    s.pipe(s);
  };
  s.on('data', onData);
});
backend.listen(0, '127.0.0.1', () => process.stdout.write(backend.address().port + '\\n'));
process.stdin.once('data', (d) => {
  const c = net.connect(Number(String(d).trim()), '127.0.0.1');
  c.on('error', () => process.exit(1));
  const chunk = Buffer.alloc(16384, 0x41);
  let got = 0;
  let said = false;
  const pump = () => { while (c.write(chunk)) {} c.once('drain', pump); };
  c.write(${JSON.stringify(HEAD)});
  c.once('data', pump);
  c.on('data', (b) => {
    got += b.length;
    if (!said && got > 1048576) { said = true; process.stdout.write('flowing\\n'); }
  });
});
`;

test('while native tunnels alone keep the thread busy, Node still runs its timers, idle timeouts and new handshakes', { skip, timeout: 60_000 }, async (t) => {
  const child = spawn(process.execPath, ['-e', PEER], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.on('error', () => undefined);
  child.stdin.on('error', () => undefined);
  t.after(() => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout });
  const next = () => new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`flood peer exited (${code})`)));
  });
  const backendPort = Number(await next());

  const closed: TunnelCloseInfo[] = [];
  const stats: ProxyStats = {
    tunnelOpened: () => undefined,
    tunnelClosed: (_route, info) => void closed.push(info),
    httpRequest: () => undefined,
    error: () => undefined,
  };
  const config = configSchema.parse({
    listen: '127.0.0.1:0',
    tunnel: { engine: 'native' },
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backendPort}/`, idleTimeoutMs: 300 }],
  });
  const proxy = new ProxyServer(config, { log: silentLogger(), stats });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());

  child.stdin.write(`${addr!.port}\n`);
  assert.equal(await next(), 'flowing');
  const flood = [...proxy.liveTunnels()][0]![0];
  assert.equal(flood.engine, 'native');

  // A timer of this thread fires while the flood runs.
  await new Promise<void>((resolve) => setTimeout(resolve, 20));

  // A new handshake goes through and echoes; left idle, its idle timeout (the core's timer) closes it.
  const s = net.connect(addr!.port, '127.0.0.1');
  s.on('error', () => undefined);
  t.after(() => s.destroy());
  const upgraded = readUntil(s, (b) => b.includes('\r\n\r\n'));
  s.write(HEAD);
  await upgraded;
  const echoed = readUntil(s, (b) => b.toString('latin1').includes('ping'));
  s.write('ping');
  await echoed;
  await once(s, 'close');
  await pollUntil(() => closed.length >= 1, () => `the idle tunnel's close reported (${closed.length})`);
  assert.equal(closed[0]!.reason, 'idle-timeout');

  // The flood is still relayed, and counted.
  const before = flood.bytesToBackend;
  await pollUntil(() => flood.bytesToBackend > before + 1_000_000, () => `the flood goes on (${flood.bytesToBackend})`);
  assert.equal(closed.length, 1, 'the flooding tunnel stays open');
});
