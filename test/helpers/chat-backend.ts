// A byte-level WebSocket-ish backend that picks a subprotocol, and the raw client tunnel that asks for
// it: exact byte counts (no framing) and a way for either side to close first.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readUntil, wsHandshake } from './peers.js';
import { scriptedBackend } from './scripted-backend.js';

/**
 * A byte-level backend: 101 choosing subprotocol `chat`, the greeting `hi`, then echo; `bye` from the
 * client makes it close its side (FIN) instead of echoing.
 */
export function chatBackend(t: TestContext) {
  return scriptedBackend(t, (s) => {
    s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: chat\r\n\r\nhi');
    s.on('data', (d: Buffer) => (d.toString() === 'bye' ? s.end() : s.write(d)));
    s.on('end', () => s.end());
  });
}

/** A raw client tunnel asking for subprotocol `chat`; resolves once the 101 and the greeting arrived. */
export async function tunnel(t: TestContext, port: number, path: string): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1' });
  s.on('error', () => undefined);
  t.after(() => s.destroy());
  s.write(wsHandshake(path, { 'Sec-WebSocket-Protocol': 'chat' }));
  const got = (await readUntil(s, (b) => b.toString('latin1').endsWith('\r\n\r\nhi'))).toString('latin1');
  assert.match(got, /^HTTP\/1\.1 101 /);
  return s;
}

