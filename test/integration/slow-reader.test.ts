// A client that stops reading must not make the proxy buffer what the backend sends: backpressure reaches
// the backend, and the proxy's memory stays bounded. Measured as RSS of a separate proxy process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { spawnProxy, rssOf } from '../helpers/cli.js';
import { ENGINES, skipFor } from '../helpers/engines.js';
import { hasHead, rawClient, readUntil, startRawBackend, wsHandshake } from '../helpers/peers.js';

const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;

for (const engine of ENGINES) test(`a slow-reading client keeps proxy memory bounded and loses nothing (${engine} engine)`, { skip: skipFor(engine) }, async (t) => {
  let written = 0;
  const chunk = Buffer.alloc(MiB, 0x61);
  const backend = await startRawBackend(t, (s) => {
    void readUntil(s, hasHead).then(async () => {
      s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      while (written < TOTAL && !s.destroyed) {
        written += chunk.length;
        if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
      }
      s.end();
    });
  });
  const { child, port } = await spawnProxy(t, {
    listen: '127.0.0.1:0',
    log: { level: 'warn' },
    tunnel: { engine },
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
  });
  const pid = child.pid!;
  const client = await rawClient(t, port);
  client.write(wsHandshake('/'));
  const head = await readUntil(client, hasHead);
  let received = head.length - (head.indexOf('\r\n\r\n') + 4);
  client.pause();
  const rssBefore = rssOf(pid);

  // Wait (bounded) until the backend can no longer write: every buffer on the path is full.
  let last = -1;
  for (let i = 0; i < 100 && written !== last; i++) {
    last = written;
    await delay(100);
  }
  const rssStalled = rssOf(pid);
  const stalledAt = written;
  assert.ok(stalledAt < TOTAL / 4, `backend pushed ${stalledAt / MiB} MiB into a non-reading client: no backpressure`);
  assert.ok(rssStalled - rssBefore < 48 * MiB, `proxy RSS grew ${(rssStalled - rssBefore) / MiB} MiB`);

  // Now read everything: nothing was lost.
  client.on('data', (d: Buffer) => (received += d.length));
  client.resume();
  await new Promise((r) => client.once('end', r));
  assert.equal(received, TOTAL);
  t.diagnostic(`backend stalled at ${(stalledAt / MiB).toFixed(0)} MiB; proxy RSS +${((rssStalled - rssBefore) / MiB).toFixed(1)} MiB`);
});
