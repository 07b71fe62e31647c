// Sends the upgrade request head on an already connected backend socket and waits for the backend's
// final answer: a 101 (the socket becomes a raw tunnel) or any other final response (relayed to the
// client as a normal HTTP response).
//
// The response head is parsed by node:http's client (llhttp) rather than a parser of our own: it is
// strict by default (bad status lines, bare LF, obs-fold and oversized heads are errors), skips 1xx
// interim responses, reports a 101 as an upgrade and hands back the untouched socket plus the bytes read
// past the head, and streams a non-101 body (content-length, chunked or close-delimited) without us
// re-implementing framing. Two of its habits are handled here: a 101 lacking `Connection: upgrade`
// reaches 'response' instead of 'upgrade' (rejected: RFC 9110 §7.8 requires the option, and browsers
// fail such a WebSocket handshake anyway), and `agent` must stay unset or `createConnection` is ignored.
import http from 'node:http';
import type net from 'node:net';
import { WspassError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

export interface HandshakeRequest {
  readonly method: string;
  /** Origin-form target, e.g. "/chat?room=1". */
  readonly path: string;
  /**
   * Flat [name, value, name, value, ...] list, sent in this order and letter case. Include the
   * `Connection` header (an upgrade always has one; without it node:http adds `Connection: close`).
   * Framing headers are sent as given, but no body is written here: whatever the client sends after its
   * head travels through the tunnel as it was framed.
   */
  readonly rawHeaders: string[];
}

export interface HandshakeOptions {
  /** Give up when no complete final response head arrived within this long; 0 means no timer. */
  readonly handshakeTimeoutMs: number;
  /** Largest response head accepted (status line and headers), in bytes. */
  readonly maxHeaderBytes: number;
}

export type HandshakeResult =
  | {
      readonly kind: 'switched';
      readonly statusMessage: string;
      /** Response headers as received (flat list, original case and order). */
      readonly rawHeaders: string[];
      /**
       * The backend socket, detached from node:http. It has no 'error' listener: hand it to the tunnel in
       * the same synchronous continuation that receives this result.
       */
      readonly socket: net.Socket;
      /** Bytes the backend sent right after its 101 head (first tunnel bytes toward the client). */
      readonly head: Buffer;
    }
  | {
      readonly kind: 'response';
      /** A final non-101 response; the caller streams its body and then drops the connection. */
      readonly response: http.IncomingMessage;
    };

/**
 * Writes `request` on `socket` and resolves with the backend's final answer. Rejects with a WspassError
 * (the original error as `cause`) and destroys the socket: WSP_BACKEND_BAD_RESPONSE (invalid or oversized
 * head, or the backend closed before a complete head), WSP_HANDSHAKE_TIMEOUT, or WSP_BAD_REQUEST when
 * node:http refuses the request head itself (invalid header characters).
 */
export function backendHandshake(
  socket: net.Socket,
  request: HandshakeRequest,
  opts: HandshakeOptions,
): Promise<HandshakeResult> {
  return new Promise<HandshakeResult>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;

    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      return true;
    };
    const fail = (code: ErrorCode, message: string, cause: unknown): void => {
      if (!settle()) return;
      socket.destroy();
      reject(new WspassError(code, message, { cause }));
    };

    let req: http.ClientRequest;
    try {
      req = http.request({
        createConnection: () => socket,
        method: request.method,
        path: request.path,
        headers: headersToSend(request.method, request.rawHeaders),
        setHost: false,
        maxHeaderSize: opts.maxHeaderBytes,
      });
      // With `Transfer-Encoding: chunked` in the head, end() would write a last-chunk ("0\r\n\r\n") the
      // client never sent; its own chunks follow through the tunnel.
      req.chunkedEncoding = false;
    } catch (err) {
      fail('WSP_BAD_REQUEST', `request head refused: ${messageOf(err)}`, err);
      return;
    }

    req.on('upgrade', (res: http.IncomingMessage, upgraded: net.Socket, head: Buffer) => {
      if (!settle()) return;
      resolve({
        kind: 'switched',
        statusMessage: res.statusMessage ?? '',
        rawHeaders: res.rawHeaders,
        socket: upgraded,
        head,
      });
    });
    req.on('response', (res: http.IncomingMessage) => {
      if (res.statusCode === 101) {
        fail('WSP_BACKEND_BAD_RESPONSE', 'backend sent 101 without "Connection: upgrade"', undefined);
        return;
      }
      if (!settle()) return;
      resolve({ kind: 'response', response: res });
    });
    // Stays attached for the life of the request: after a 'response' result, node:http still routes
    // socket errors here (the response itself reports them as 'aborted'), and an 'error' without a
    // listener would crash the process.
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      // HPE_* are llhttp's parse errors (invalid status line, header overflow, bad framing); anything
      // else before a head (reset, "socket hang up") means the backend went away mid-handshake.
      const message = code.startsWith('HPE_')
        ? `invalid response head from backend: ${err.message}`
        : `backend closed before a complete response head: ${err.message}`;
      fail('WSP_BACKEND_BAD_RESPONSE', message, err);
    });

    if (opts.handshakeTimeoutMs > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        fail(
          'WSP_HANDSHAKE_TIMEOUT',
          `no response head within ${opts.handshakeTimeoutMs} ms`,
          new Error('handshake timeout'),
        );
      }, opts.handshakeTimeoutMs);
    }
    req.end();
  });
}

// Methods node:http sends without body framing; for any other method, a head given as an array with
// neither Content-Length nor Transfer-Encoding gets `Transfer-Encoding: chunked` added (and a last-chunk
// on end()). A request without either has an empty body (RFC 9112 §6.3), which `Content-Length: 0` says
// explicitly without changing the meaning.
const NO_DEFAULT_BODY: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

function headersToSend(method: string, rawHeaders: string[]): string[] {
  if (NO_DEFAULT_BODY.has(method.toUpperCase())) return rawHeaders;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (name === 'content-length' || name === 'transfer-encoding') return rawHeaders;
  }
  return [...rawHeaders, 'Content-Length', '0'];
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
