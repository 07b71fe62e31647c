// Relays a backend's non-101 answer to an upgrade request onto the raw client socket (node:http no longer
// manages it), with framing of our own: the backend's Content-Length when it gave one, chunked otherwise.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { forwardResponseHeaders, serializeResponseHead } from '../http/headers.js';

function hasNoBody(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * Writes `response` to `client` and resolves once it is written (or either side failed). With
 * `keepAlive` false the answer says `Connection: close` and the client socket is ended afterwards.
 */
export function relayResponse(
  client: Socket,
  response: IncomingMessage,
  opts: { method: string; keepAlive: boolean },
): Promise<void> {
  const status = response.statusCode ?? 502;
  const headers = forwardResponseHeaders(response.rawHeaders);
  const noBody = hasNoBody(opts.method, status);
  const length = response.headers['content-length'];
  const chunked = !noBody && length === undefined;
  let keepAlive = opts.keepAlive;
  if (chunked) headers.push('Transfer-Encoding', 'chunked');
  headers.push('Connection', keepAlive ? 'keep-alive' : 'close');
  client.write(serializeResponseHead(status, response.statusMessage ?? '', headers));

  return new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      client.removeListener('drain', onDrain);
      client.removeListener('close', onClientClose);
      if (!keepAlive) client.end();
      resolve();
    };
    const onDrain = () => response.resume();
    const onClientClose = () => {
      response.destroy();
      finish();
    };
    client.on('drain', onDrain);
    client.once('close', onClientClose);
    if (noBody) {
      response.resume();
      finish();
      return;
    }
    response.on('data', (chunk: Buffer) => {
      let ok: boolean;
      if (chunked) {
        client.write(`${chunk.length.toString(16)}\r\n`);
        client.write(chunk);
        ok = client.write('\r\n');
      } else {
        ok = client.write(chunk);
      }
      if (!ok) response.pause();
    });
    response.once('end', () => {
      if (chunked) client.write('0\r\n\r\n');
      finish();
    });
    response.once('error', () => {
      // A truncated body must not look complete: drop the client connection.
      keepAlive = false;
      client.destroy();
      finish();
    });
  });
}
