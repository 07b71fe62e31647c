// A raw TCP backend that records every request head it gets, byte for byte, and answers like a small
// server that speaks both ways: an upgrade request gets 101 naming the protocol asked for and its bytes
// echoed upper-cased; any other request gets `200` with `plain <request target>` (keep-alive, so pooled
// connections carry several requests). Plus raw-client helpers to read a whole small response.
import type net from 'node:net';
import type { TestContext } from 'node:test';
import { hasHead, rawExchange, readUntil, startRawBackend } from './peers.js';

export interface RecordingBackend {
  readonly port: number;
  /** Every request head received (through the blank line), in arrival order. */
  readonly heads: string[];
}

/** Values of header `name` (case-insensitive) in a head, in order. */
export function headerValues(head: string, name: string): string[] {
  const out: string[] = [];
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).toLowerCase() === name.toLowerCase()) out.push(line.slice(colon + 1).trim());
  }
  return out;
}

/** The request line of a head. */
export function requestLine(head: string): string {
  return head.slice(0, head.indexOf('\r\n'));
}

export async function startRecordingBackend(t: TestContext): Promise<RecordingBackend> {
  const heads: string[] = [];
  const serve = (s: net.Socket, pending: Buffer): void => {
    void readUntil(s, (b) => hasHead(Buffer.concat([pending, b]))).then((more) => {
      const buf = Buffer.concat([pending, more]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return; // the peer went away mid-head
      const head = buf.subarray(0, end + 4).toString('latin1');
      heads.push(head);
      const rest = buf.subarray(end + 4);
      const upgrade = headerValues(head, 'upgrade')[0];
      if (upgrade !== undefined) {
        s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${upgrade}\r\nConnection: Upgrade\r\n\r\n`);
        if (rest.length !== 0) s.write(rest.toString('latin1').toUpperCase());
        s.on('data', (d: Buffer) => s.write(d.toString('latin1').toUpperCase()));
        return;
      }
      const body = `plain ${requestLine(head).split(' ')[1] ?? ''}`;
      s.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      serve(s, rest);
    });
  };
  const backend = await startRawBackend(t, (s) => serve(s, Buffer.alloc(0)));
  return { port: backend.port, heads };
}

/** Sends `raw` and reads the response head and a Content-Length body (or, for a 101, what follows the head). */
export async function rawRequest(
  t: TestContext,
  port: number,
  raw: string,
): Promise<{ head: string; body: string; socket: net.Socket }> {
  const r = await rawExchange(t, port, raw);
  const length = Number(headerValues(r.head, 'content-length')[0] ?? 0);
  let body = r.rest;
  if (body.length < length) body = Buffer.concat([body, await readUntil(r.socket, (b) => body.length + b.length >= length)]);
  return { head: r.head, body: body.toString('latin1'), socket: r.socket };
}
