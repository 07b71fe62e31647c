// The socket.io preset with a real socket.io server (2 replicas, no shared adapter) and the real
// socket.io client: each session starts with long-polling (several HTTP requests that must reach the
// replica holding the session) and then upgrades to WebSocket (which must reach the same replica). The
// preset's route cookie makes that hold; plain round-robin breaks it (the control case).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { ProxyServer } from '../../src/server/proxy-server.js';

interface Replica {
  readonly name: string;
  readonly url: string;
  /** Sessions that upgraded from polling to WebSocket on this replica. */
  upgraded: number;
  sessions: number;
}

async function startReplica(t: TestContext, name: string): Promise<Replica> {
  const server = http.createServer();
  const ioServer = new Server(server, { cors: { origin: true, credentials: true } });
  const replica: Replica = { name, url: '', upgraded: 0, sessions: 0 };
  ioServer.on('connection', (socket) => {
    replica.sessions++;
    socket.conn.once('upgrade', () => replica.upgraded++);
    socket.on('whoami', (ack: (who: { name: string; transport: string }) => void) => ack({ name, transport: socket.conn.transport.name }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    ioServer.disconnectSockets(true);
    await ioServer.close();
  });
  return Object.assign(replica, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

async function startProxy(t: TestContext, balancer: Record<string, unknown>, members: string[]): Promise<number> {
  const input: ConfigInput = {
    listen: '127.0.0.1:0',
    routes: [{ path: '/', backend: 'balancer://sio/' }],
    balancers: { sio: { ...balancer, members: members.map((url) => ({ url })) } },
  };
  const proxy = new ProxyServer(configSchema.parse(input), { log: silentLogger() });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  return addr!.port;
}

function client(t: TestContext, port: number): ClientSocket {
  // withCredentials: the Node client keeps cookies (as a browser does) only when asked to.
  const socket = io(`http://127.0.0.1:${port}`, { withCredentials: true, reconnection: false, transports: ['polling', 'websocket'] });
  t.after(() => socket.disconnect());
  return socket;
}

/** Connects over polling, waits for the upgrade to WebSocket, then asks the replica its name. */
async function session(t: TestContext, port: number): Promise<{ name: string; transport: string }> {
  const socket = client(t, port);
  let firstTransport = '';
  const upgraded = new Promise<void>((resolve, reject) => {
    socket.io.once('open', () => {
      firstTransport = socket.io.engine.transport.name;
      socket.io.engine.once('upgrade', () => resolve());
    });
    socket.once('connect_error', reject);
  });
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  await Promise.all([upgraded, connected]);
  assert.equal(firstTransport, 'polling', 'a session starts with long-polling');
  return (await socket.timeout(5_000).emitWithAck('whoami')) as { name: string; transport: string };
}

test('socketio preset: polling then upgrade stays on one replica; sessions spread over both replicas', async (t) => {
  const replicas = await Promise.all([startReplica(t, 'r1'), startReplica(t, 'r2')]);
  // The replicas are http:// members, which do not tunnel by default; the socketio preset tunnels WebSocket.
  const port = await startProxy(t, { strategy: 'socketio' }, replicas.map((r) => r.url));
  const results = [];
  for (let i = 0; i < 6; i++) results.push(await session(t, port));
  for (const r of results) assert.equal(r.transport, 'websocket');
  assert.deepEqual(
    replicas.map((r) => [r.sessions, r.upgraded]),
    [
      [3, 3],
      [3, 3],
    ],
    'round-robin for new sessions, every session upgraded on its own replica',
  );
  assert.deepEqual(results.map((r) => r.name).sort(), ['r1', 'r1', 'r1', 'r2', 'r2', 'r2']);
});

test('control: without stickiness the second polling request reaches the other replica and the session fails', async (t) => {
  const replicas = await Promise.all([startReplica(t, 'r1'), startReplica(t, 'r2')]);
  // Tunnelling as the preset does, so stickiness is the only difference.
  const port = await startProxy(t, { strategy: 'byrequests', upgrade: 'websocket' }, replicas.map((r) => r.url));
  const socket = client(t, port);
  const outcome = await new Promise<string>((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', () => resolve('connect_error'));
  });
  assert.equal(outcome, 'connect_error');
});
