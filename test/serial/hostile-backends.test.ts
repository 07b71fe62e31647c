// Backends that answer an upgrade request with every kind of wrong bytes, 200 times each, through
// `wspass run --workers 2`: the client gets the documented status every time, no worker restarts (admin
// /status), and every socket is let go (the wspass process's fd count comes back to where it started).
// Serial lane: it holds hundreds of sockets at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { adminStatus, spawnProxy } from '../helpers/cli.js';
import { hasHead, readUntil, statusOf, wsHandshake } from '../helpers/peers.js';
import { pollUntil } from '../helpers/poll.js';

const RUNS = 200;
const BATCH = 20;

const GOOD_101 = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
const CONTROL_101 = 'HTTP/1.1 101 Switching\x01Protocols\x7f\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';

interface Scenario {
  readonly name: string;
  /** What the client must get. */
  readonly status: number;
  /** What the backend does once it has read the request head. */
  readonly backend: (s: net.Socket) => void;
  /** Sends one byte through the tunnel once the head arrived (the backend acts on it). */
  readonly poke?: boolean;
  /** Runs all RUNS exchanges at once instead of in batches. */
  readonly concurrent?: boolean;
  /** The route's handshake timeout. */
  readonly handshakeTimeoutMs?: number;
  /** Also true of what the client received. */
  readonly check?: (text: string) => void;
}

const SCENARIOS: readonly Scenario[] = [
  { name: '101 with control characters in the reason, kept open', status: 502, backend: (s) => s.write(CONTROL_101) },
  { name: '101 with control characters in the reason, then FIN', status: 502, backend: (s) => s.end(CONTROL_101) },
  {
    name: '101 with control characters in the reason, then reset',
    status: 502,
    backend: (s) => s.write(CONTROL_101, () => s.resetAndDestroy()),
  },
  {
    name: '101 without Upgrade',
    status: 502,
    backend: (s) => s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n'),
  },
  {
    name: '101, then a reset once the tunnel carries a byte',
    status: 101,
    poke: true,
    backend: (s) => {
      s.write(GOOD_101);
      s.once('data', () => s.resetAndDestroy());
    },
  },
  { name: '200 with control characters in the reason', status: 502, backend: (s) => s.end('HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n') },
  {
    name: 'a broken chunked body',
    status: 403,
    backend: (s) => s.write('HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'),
    check: (text) => assert.ok(!text.includes('0\r\n\r\n'), 'a broken body never looks complete'),
  },
  { name: 'garbage', status: 502, backend: (s) => s.write('\x00\xff\x13garbage\r\n\r\n') },
  { name: 'half a head, then close', status: 502, backend: (s) => s.end('HTTP/1.1 101 Switching Pro') },
  {
    name: 'bare-LF heads',
    status: 502,
    backend: (s) => s.write('HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n\n'),
  },
  {
    name: 'a 64 KiB header block',
    status: 502,
    backend: (s) => s.write(`HTTP/1.1 101 Switching Protocols\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`),
  },
  { name: 'silence', status: 504, backend: () => undefined, concurrent: true, handshakeTimeoutMs: 300 },
];

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Polls (bounded) until the fd count is back to `baseline`: socket closes have no single event to await. */
async function fdsBackTo(pid: number, baseline: number, what: string): Promise<void> {
  await pollUntil(() => openFds(pid) <= baseline, () => `${what}: ${openFds(pid) - baseline} fds still open after the runs`);
}

/** One upgrade request; resolves with everything the client received until the proxy ended the connection. */
async function exchange(port: number, path: string, poke: boolean): Promise<string> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined); // a reset after the answer is one of the outcomes under test
  try {
    await once(socket, 'connect');
    socket.write(wsHandshake(path));
    let all = await readUntil(socket, hasHead);
    if (poke && statusOf(all.toString('latin1')) === 101) socket.write('x');
    if (!socket.readableEnded && !socket.destroyed) all = Buffer.concat([all, await readUntil(socket, () => false)]);
    return all.toString('latin1');
  } finally {
    socket.destroy();
  }
}

test('hostile backends: the documented status every time, and every socket let go', { timeout: 180_000 }, async (t) => {
  const backendSockets = new Set<net.Socket>();
  // Not half-open: a FIN from the proxy closes the backend's side too, so its fds count as let go.
  const server = net.createServer((s) => {
    backendSockets.add(s);
    s.on('close', () => backendSockets.delete(s));
    s.on('error', () => undefined);
    void readUntil(s, hasHead).then((buf) => {
      const path = /^GET \/s\/(\d+)[ /]/.exec(buf.toString('latin1'))?.[1];
      SCENARIOS[Number(path)]?.backend(s);
    }, () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const s of backendSockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  const backend = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const { port, admin, child } = await spawnProxy(
    t,
    {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      log: { level: 'fatal' },
      routes: SCENARIOS.map((s, i) => ({ path: `/s/${i}`, backend: `${backend}s/${i}`, ...(s.handshakeTimeoutMs ? { handshakeTimeoutMs: s.handshakeTimeoutMs } : {}) })),
    },
    { args: ['--workers', '2'] },
  );
  const pid = child.pid!;
  const baseline = openFds(pid);

  for (const [i, scenario] of SCENARIOS.entries()) {
    const batch = scenario.concurrent === true ? RUNS : BATCH;
    for (let done = 0; done < RUNS; done += batch) {
      const texts = await Promise.all(
        Array.from({ length: Math.min(batch, RUNS - done) }, () => exchange(port, `/s/${i}`, scenario.poke === true)),
      );
      for (const text of texts) {
        assert.equal(statusOf(text), scenario.status, `${scenario.name}: got ${JSON.stringify(text.slice(0, 80))}`);
        scenario.check?.(text);
      }
    }
    await fdsBackTo(pid, baseline, scenario.name);
  }
  const status = await adminStatus(admin!);
  assert.deepEqual(status.workers.map((w) => [w.state, w.restarts]), [['ready', 0], ['ready', 0]], 'no worker restarted');
});
