// handleUpgrade is exception-safe: whatever throws once the backend answered, both sockets are let go and
// the client gets a 502 if nothing was written to it yet. The throws are injected through the context
// (a tunnel registry or a log sink failing), the only code that can still fail after the 101 rules passed.
import { once } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../../src/log.js';
import { rawExchange, statusOf, wsHandshake } from '../helpers/peers.js';
import { headerValues, scriptedBackend } from '../helpers/scripted-backend.js';
import { upgradeContext, upgradeServer } from '../helpers/upgrade-server.js';

test('a throw after the 101 was written closes the client and lets go of the backend; a later reset harms nothing', { timeout: 10_000 }, async (t) => {
  const backend = await scriptedBackend(t, (s) => {
    s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    s.once('end', () => s.resetAndDestroy());
  });
  const { port, outcomes } = await upgradeServer(
    t,
    backend.port,
    upgradeContext({
      onTunnelOpen: () => {
        throw new Error('tunnel registry failed');
      },
    }),
  );
  const r = await rawExchange(t, port, wsHandshake('/chat'));
  assert.deepEqual(headerValues(backend.heads[0]!, 'upgrade'), ['websocket']);
  assert.equal(statusOf(r.head), 101, 'the 101 went out before the throw');
  assert.deepEqual(headerValues(r.head, 'connection'), ['Upgrade']);
  if (!r.socket.readableEnded) await once(r.socket, 'end'); // the proxy closed the client connection
  await backend.released(0);
  await Promise.all(outcomes); // the handler settled without rejecting
});

test('a throw before anything was written answers the client 502 and lets go of the backend', { timeout: 10_000 }, async (t) => {
  const backend = await scriptedBackend(t, (s) => s.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 1000\r\n\r\npartial'));
  // A log sink that fails on the line written just before the answer is relayed.
  const failing = {
    child: () => failing,
    debug: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    info: () => {
      throw new Error('log sink failed');
    },
  };
  const errors: string[] = [];
  const { port, outcomes } = await upgradeServer(
    t,
    backend.port,
    upgradeContext({ log: failing as unknown as Logger, onError: (code) => errors.push(code) }),
  );
  const r = await rawExchange(t, port, wsHandshake('/'));
  assert.deepEqual(headerValues(backend.heads[0]!, 'upgrade'), ['websocket']);
  assert.equal(statusOf(r.head), 502);
  assert.deepEqual(headerValues(r.head, 'x-wspass-error'), ['WSP_BACKEND_BAD_RESPONSE']);
  assert.deepEqual(errors, ['WSP_BACKEND_BAD_RESPONSE']);
  await backend.released(0);
  await Promise.all(outcomes);
});
