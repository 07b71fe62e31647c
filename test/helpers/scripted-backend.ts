// A raw `net` backend that reads one request head per connection and answers with exact bytes, for tests
// of what the proxy relays from a backend's answer to an upgrade request.
import type net from 'node:net';
import type { TestContext } from 'node:test';
import { hasHead, readUntil, startRawBackend } from './peers.js';

export interface ScriptedBackend {
  readonly port: number;
  /** The request head of each connection, in arrival order, as text. */
  readonly heads: string[];
  /**
   * Resolves once the proxy let go of the n-th connection (0-based): the backend side saw its FIN or the
   * connection close (the backend itself is half-open capable, so it does not close on a FIN).
   */
  released(n: number): Promise<void>;
}

/** Each connection: read the request head, then `answer(socket, head)`. */
export async function scriptedBackend(t: TestContext, answer: (socket: net.Socket, head: string) => void): Promise<ScriptedBackend> {
  const heads: string[] = [];
  const releases: Promise<void>[] = [];
  const backend = await startRawBackend(t, (s) => {
    releases.push(new Promise<void>((resolve) => {
      s.once('end', () => resolve());
      s.once('close', () => resolve());
    }));
    void readUntil(s, hasHead).then((buf) => {
      const text = buf.toString('latin1');
      const head = text.slice(0, text.indexOf('\r\n\r\n') + 4);
      heads.push(head);
      answer(s, head);
    });
  });
  return {
    port: backend.port,
    heads,
    released: (n) => releases[n] ?? Promise.reject(new Error(`no connection ${n}`)),
  };
}

/** The header lines of a head (request or response) as [lower-case name, value] pairs, in order. */
export function headerPairs(head: string): [string, string][] {
  const end = head.indexOf('\r\n\r\n');
  const lines = (end < 0 ? head : head.slice(0, end)).split('\r\n').slice(1);
  return lines.filter((l) => l !== '').map((l) => {
    const colon = l.indexOf(':');
    return [l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim()];
  });
}

/** All values of `name` (lower-case) in a head. */
export function headerValues(head: string, name: string): string[] {
  return headerPairs(head).filter(([n]) => n === name).map(([, v]) => v);
}

/**
 * A raw byte-level echo backend: answers every upgrade with a 101 and `greeting` right after it (so a
 * client knows the tunnel is up and which backend it reached), then echoes; a FIN is answered with a FIN.
 * Tunnel byte counts through it are exact (no framing).
 */
export function switchEchoBackend(t: TestContext, greeting: string): Promise<ScriptedBackend> {
  return scriptedBackend(t, (s) => {
    s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n${greeting}`);
    s.on('data', (d: Buffer) => s.write(d));
    s.on('end', () => s.end());
  });
}
