// Handshakes in flight when the server stops: destroy() ends them at once (client and backend), and a
// drain waits for them and closes the tunnel such a handshake opens with the closing handshake, as it does
// the tunnels it found open. With the native front (a held client: an fd, no socket) and without it; and a
// handshake waiting for a busy client table (handleUpgrade driven directly, its locks held in the test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { configSchema } from '../../src/config/schema.js';
import { LimitState, TunnelAdmission } from '../../src/limits/tunnel-admission.js';
import { GLOBAL_CELL } from '../../src/limits/tunnel-counts.js';
import { CLIENT_GONE } from '../../src/metrics/handshake-outcome.js';
import { HandshakesInFlight } from '../../src/server/handshakes-in-flight.js';
import { startProxy } from '../helpers/proxy.js';
import { rawClient, startRawBackend, startWsBackend, wsHandshake } from '../helpers/peers.js';
import { holdBucketLocks } from '../helpers/client-table-locks.js';
import { upgradeContext, upgradeServer } from '../helpers/upgrade-server.js';

/** The front as the tests run it (undefined: the default, on wherever the native engine runs) and off. */
const FRONTS = [undefined, false] as const;

for (const front of FRONTS) {
  const name = front === false ? 'front off' : 'front default';

  test(`${name}: destroy() ends a handshake in flight: the client and the backend connection are closed`, { timeout: 10_000 }, async (t) => {
    let arrived!: () => void;
    const requested = new Promise<void>((r) => (arrived = r));
    // A backend that takes the request and never answers (the handshake timeout is far away).
    const backend = await startRawBackend(t, (s) => s.once('data', () => arrived()));
    const { proxy, port } = await startProxy(t, {
      ...(front === false ? { tunnel: { front } } : {}),
      routes: [{ name: 'ws', path: '/', backend: `ws://127.0.0.1:${backend.port}/`, handshakeTimeoutMs: 60_000 }],
    });
    const client = await rawClient(t, port);
    const clientEnded = once(client, 'end');
    client.write(wsHandshake('/'));
    await requested;
    const backendSide = [...backend.sockets][0]!;
    const backendEnded = once(backendSide, 'end');
    await proxy.destroy();
    // Both ends see the proxy's FIN (the test's timeout is the bound: the handshake timeout is 60 s).
    await Promise.all([clientEnded, backendEnded]);
    assert.equal(proxy.tunnelCount, 0);
  });

  test(`${name}: a drain waits for a handshake in flight and closes the tunnel it opens with close frames`, { timeout: 15_000 }, async (t) => {
    let letThrough!: () => void;
    let asked!: () => void;
    const backendAsked = new Promise<void>((r) => (asked = r));
    // The backend holds its 101 until the drain has begun.
    const backend = await startWsBackend(t, {
      verifyClient: (_info, cb) => {
        letThrough = () => cb(true);
        asked();
      },
    });
    const { proxy, port } = await startProxy(t, {
      ...(front === false ? { tunnel: { front } } : {}),
      shutdown: { closeCode: 1012, closeHandshakeMs: 2_000 },
      routes: [{ name: 'ws', path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
    });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    ws.on('error', () => undefined);
    const opened = once(ws, 'open');
    const closed = once(ws, 'close') as Promise<[number, Buffer]>;
    await backendAsked;
    const drained = proxy.drain({ tunnelDrainMs: 100, deadlineMs: 10_000 });
    letThrough();
    await opened;
    // The drain's goodbye (its close code), not the cut of a destroy at the deadline (1006).
    const [code] = await closed;
    assert.equal(code, 1012);
    await drained;
    assert.equal(proxy.tunnelCount, 0);
  });
}

test('a handshake waiting for a client table held by another thread is in flight: destroyed there, it ends without a backend and gives its counts back', { timeout: 10_000 }, async (t) => {
  let backendConnections = 0;
  const backend = await startRawBackend(t, () => backendConnections++);
  const config = configSchema.parse({ listen: '127.0.0.1:0', limits: { maxTunnels: 10, perClient: { maxTunnels: 5 } }, routes: [{ name: 'r', path: '/', backend: 'ws://b/' }] });
  const state = LimitState.local(config);
  const admission = new TunnelAdmission(config, state);
  const locks = holdBucketLocks(state.clients);
  t.after(() => locks.release());
  const handshakes = new HandshakesInFlight(() => undefined);
  const outcomes: string[] = [];
  const server = await upgradeServer(t, backend.port, upgradeContext({ onHandshake: (outcome) => outcomes.push(outcome), admission: () => admission, handshakes }));
  const client = await rawClient(t, server.port);
  const clientEnded = once(client, 'end');
  client.write(wsHandshake('/'));
  await server.firstUpgrade;
  assert.equal(handshakes.size, 1, 'the wait for the client table is a handshake in flight');
  handshakes.destroyAll();
  await clientEnded;
  locks.release();
  await Promise.all(server.outcomes);
  assert.deepEqual(outcomes, [CLIENT_GONE]);
  assert.equal(handshakes.size, 0);
  assert.equal(state.counts.count(GLOBAL_CELL), 0, 'the ticket it got after the wait went back');
  assert.equal(state.clients.count('127.0.0.1'), 0);
  assert.equal(backendConnections, 0, 'no backend connection was made');
});
