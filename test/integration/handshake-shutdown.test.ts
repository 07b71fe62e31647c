// Handshakes in flight when the server stops: destroy() ends them at once (client and backend), and a
// drain waits for them and closes the tunnel such a handshake opens with the closing handshake, as it does
// the tunnels it found open. With the native front (a held client: an fd, no socket) and without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { startProxy } from '../helpers/proxy.js';
import { rawClient, startRawBackend, startWsBackend, wsHandshake } from '../helpers/peers.js';

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
