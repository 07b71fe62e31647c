// Relays a backend's non-101 answer to an upgrade request onto the raw client socket (node:http no longer
// manages it). What the answer carries (headers, Date, Upgrade, framing) is decided by switch-response.ts;
// this file only moves the body: copied as is under the backend's Content-Length, or re-chunked.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { finished } from 'node:stream';
import { declinedResponse } from '../http/switch-response.js';
import type { UpgradePolicy } from '../routing/types.js';

export interface RelayOptions {
  readonly method: string;
  readonly keepAlive: boolean;
  /** The route's upgrade policy (decides whether the backend's Upgrade header is relayed). */
  readonly policy: UpgradePolicy;
  /** Headers added after the backend's (e.g. a sticky-session cookie). */
  readonly extra?: readonly string[] | undefined;
  /** Maps the backend's headers back to the proxy (the route's `reverse`). */
  readonly rewrite?: ((headers: string[]) => void) | undefined;
}

/**
 * Writes `response` to `client` and resolves once it is written (or either side failed). With
 * `keepAlive` false the answer says `Connection: close` and the client socket is ended afterwards.
 * Resolves false when the body did not arrive whole: the client socket is then ended without the rest
 * (under chunked framing, without the last chunk), so the client can tell the body is short, and the
 * response is destroyed. Throws (before writing anything) only when the head cannot be serialised.
 */
export function relayResponse(client: Socket, response: IncomingMessage, opts: RelayOptions): Promise<boolean> {
  const { head, framing } = declinedResponse(
    { statusCode: response.statusCode ?? 502, statusMessage: response.statusMessage ?? '', rawHeaders: response.rawHeaders },
    { method: opts.method, keepAlive: opts.keepAlive, policy: opts.policy, now: new Date(), extra: opts.extra, rewrite: opts.rewrite },
  );
  client.write(head);

  return new Promise<boolean>((resolve) => {
    let done = false;
    const finish = (whole: boolean) => {
      if (done) return;
      done = true;
      client.removeListener('drain', onDrain);
      client.removeListener('close', onClientClose);
      response.removeListener('data', onData);
      if (!whole) response.destroy();
      if (!whole || !opts.keepAlive) client.end();
      resolve(whole);
    };
    const onDrain = () => response.resume();
    const onClientClose = () => finish(false);
    const onData = (chunk: Buffer) => {
      if (framing === 'none') return; // a body where none may be: not relayed
      let ok: boolean;
      if (framing === 'chunked') {
        client.write(`${chunk.length.toString(16)}\r\n`);
        client.write(chunk);
        ok = client.write('\r\n');
      } else {
        ok = client.write(chunk);
      }
      if (!ok) response.pause();
    };
    client.on('drain', onDrain);
    client.once('close', onClientClose);
    response.on('data', onData);
    // finished() also reports a response that was destroyed before we got here (a body that failed to
    // parse in the same read as the head): listening for 'end' or 'error' alone would wait forever.
    finished(response, (err) => {
      const whole = err === undefined || err === null ? response.complete : false;
      if (whole && framing === 'chunked') client.write('0\r\n\r\n');
      finish(whole);
    });
  });
}
