// Bytes a client sends before the backend's 101 are bounded by TCP back-pressure, not refused: the
// proxy holds at most highWaterMarkBytes of them and stops reading, so the rest stays queued in the
// client; after the 101 every byte reaches the backend, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { rawClient, readUntil, hasHead, startRawBackend, wsHandshake } from '../helpers/peers.js';
import { startProxy } from '../helpers/proxy.js';

const EARLY = 16 * 1024 * 1024;

test('early tunnel bytes before the 101: the client is paused, nothing is lost', async (t) => {
  let answer: (() => void) | undefined;
  let received = 0;
  let onReceived: (() => void) | undefined;
  let lastByte = -1;
  /** Bytes the backend got after the request head before it answered. */
  let beforeAnswer = -1;
  const backend = await startRawBackend(t, (s: net.Socket) => {
    void readUntil(s, hasHead).then((buf) => {
      beforeAnswer = buf.length - (buf.indexOf('\r\n\r\n') + 4);
      answer = () => {
        s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        s.on('data', (d: Buffer) => {
          received += d.length;
          lastByte = d[d.length - 1]!;
          if (received >= EARLY) onReceived?.();
        });
      };
    });
  });
  const p = await startProxy(t, {
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/`, highWaterMarkBytes: 16 * 1024 }],
  });
  const client = await rawClient(t, p.port);
  client.on('error', () => undefined);
  const early = Buffer.alloc(EARLY, 0x61);
  early[EARLY - 1] = 0x7a;
  client.write(wsHandshake('/'));
  client.write(early);
  // Bounded poll (no event says "the peer stopped reading"): until the client's queue stops shrinking.
  let last = -1;
  for (let stable = 0, i = 0; stable < 5 && i < 200; i++) {
    await new Promise((r) => setTimeout(r, 20));
    stable = client.writableLength === last && answer !== undefined ? stable + 1 : 0;
    last = client.writableLength;
  }
  // Socket buffers in the kernel take a few MiB at most; the proxy took highWaterMarkBytes.
  assert.ok(client.writableLength > 4 * 1024 * 1024, `the client still holds most of it: ${client.writableLength} bytes queued`);
  assert.equal(beforeAnswer, 0, 'early bytes are held by the proxy until the answer');
  const all = new Promise<void>((resolve) => (onReceived = resolve));
  answer!();
  await all;
  assert.equal(received, EARLY);
  assert.equal(lastByte, 0x7a);
});
