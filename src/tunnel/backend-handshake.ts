// Sends the upgrade request head on an already connected backend socket and waits for the backend's
// final answer: a 101 (the socket becomes a raw tunnel) or any other final response (relayed to the
// client as a normal HTTP response).
//
//   write head ──▶ read until the blank line ──▶ 1xx (not 101): skip it, read on
//                                             ├─ 101 accepted by checkSwitch ──▶ 'switched' (fast path)
//                                             ├─ 101 refused (switch-response.ts) ──▶ reject, 502
//                                             └─ other status ──▶ llhttp (node:http client) over a replay
//                                                 of the bytes already read: it streams the body with its
//                                                 framing (content-length, chunked, close-delimited)
//
// The 101 is read by our strict parser (response-head.ts): going through node:http's ClientRequest for
// every handshake cost 100-200 µs of CPU more per handshake (measured with the same proxy). Non-101
// answers are rare and their bodies need real framing, so they keep llhttp.
import http from 'node:http';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import { WspassError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { rawHeaderValue, serializeRequestHead } from '../http/headers.js';
import { checkSwitch } from '../http/switch-response.js';
import { parseResponseHead } from './response-head.js';

export interface HandshakeRequest {
  readonly method: string;
  /** Origin-form target, e.g. "/chat?room=1". */
  readonly path: string;
  /**
   * Flat [name, value, name, value, ...] list, sent in this order and letter case. Include the
   * `Connection` header (an upgrade always has one).
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

/** The backend's answer; `B` is what carries a 101's connection on (a ReleasedLeg on the native leg). */
export type HandshakeResult<B = net.Socket> =
  | {
      readonly kind: 'switched';
      readonly statusMessage: string;
      /** Response headers as received (flat list, original case and order). */
      readonly rawHeaders: string[];
      /** The backend's Upgrade value; the 101 passed checkSwitch (switch-response.ts). */
      readonly upgrade: string;
      /**
       * The backend socket, detached from node:http. It has no 'error' listener: hand it to the tunnel in
       * the same synchronous continuation that receives this result.
       */
      readonly socket: B;
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
 * head, a 101 without `Connection: upgrade`, or the backend closed before a complete head),
 * WSP_BACKEND_UPGRADE_MISMATCH (a 101 to another protocol than the request's Upgrade), WSP_HANDSHAKE_TIMEOUT,
 * or WSP_BAD_REQUEST when the request head itself is invalid (header characters that must never be sent).
 */
export function backendHandshake(
  socket: net.Socket,
  request: HandshakeRequest,
  opts: HandshakeOptions,
): Promise<HandshakeResult> {
  return new Promise<HandshakeResult>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let buffered: Buffer | undefined;

    const detach = (): void => {
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onEnd);
      socket.removeListener('error', onError);
    };
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      return true;
    };
    const fail = (code: ErrorCode, message: string, cause: unknown): void => {
      if (!settle()) return;
      detach();
      socket.destroy();
      reject(new WspassError(code, message, { cause }));
    };

    const onData = (chunk: Buffer): void => {
      buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
      const step = readAnswer(buffered, requested, opts.maxHeaderBytes);
      if (step.kind === 'incomplete') {
        buffered = step.buffered;
        return;
      }
      if (step.kind === 'fail') {
        fail(step.code, step.message, undefined);
        return;
      }
      if (step.kind === 'switched') {
        if (!settle()) return;
        detach();
        // Back to "not flowing yet" (as node:http leaves an upgraded socket): what arrives now waits in
        // the socket's buffer and flows once the tunnel adds its 'data' listener; nothing is lost.
        notFlowing(socket);
        resolve({ kind: 'switched', statusMessage: step.statusMessage, rawHeaders: step.rawHeaders, upgrade: step.upgrade, socket, head: step.rest });
        return;
      }
      detach();
      notFlowing(socket);
      responseThroughLlhttp(socket, step.bytes, request, opts.maxHeaderBytes).then(
        (response) => {
          if (settle()) resolve({ kind: 'response', response });
        },
        (err: Error) => {
          if (settle()) reject(err);
        },
      );
    };
    const onEnd = (): void => {
      fail('WSP_BACKEND_BAD_RESPONSE', 'backend closed before a complete response head', undefined);
    };
    const onError = (err: Error): void => {
      fail('WSP_BACKEND_BAD_RESPONSE', `backend closed before a complete response head: ${err.message}`, err);
    };

    // What the 101 must switch to: the Upgrade value this request asks for (none: no 101 is acceptable).
    const requested = rawHeaderValue(request.rawHeaders, 'upgrade');
    let head: Buffer;
    try {
      head = requestHeadBytes(request);
    } catch (err) {
      fail('WSP_BAD_REQUEST', `request head refused: ${messageOf(err)}`, err);
      return;
    }
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    if (opts.handshakeTimeoutMs > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        fail('WSP_HANDSHAKE_TIMEOUT', `no response head within ${opts.handshakeTimeoutMs} ms`, new Error('handshake timeout'));
      }, opts.handshakeTimeoutMs);
    }
    socket.write(head);
  });
}

/** The request head as it goes to the backend; throws when a field holds characters never to be sent. */
export function requestHeadBytes(request: HandshakeRequest): Buffer {
  return serializeRequestHead(request.method, request.path, headersToSend(request.method, request.rawHeaders));
}

/** One look at what the backend sent so far, for an upgrade request asking for `requested`. */
export type AnswerStep =
  | { readonly kind: 'incomplete'; readonly buffered: Buffer }
  | { readonly kind: 'fail'; readonly code: ErrorCode; readonly message: string }
  | {
      readonly kind: 'switched';
      readonly statusMessage: string;
      readonly rawHeaders: string[];
      readonly upgrade: string;
      /** Bytes after the 101 head: the first tunnel bytes toward the client. */
      readonly rest: Buffer;
    }
  /** A final non-101 answer, from its first byte (interim 1xx answers skipped). */
  | { readonly kind: 'final'; readonly bytes: Buffer };

/**
 * Reads the backend's answer from `buffered` (everything it sent so far): interim 1xx answers are
 * skipped, a 101 is checked (checkSwitch), anything else is a final answer for llhttp.
 */
export function readAnswer(buffered: Buffer, requested: string | undefined, maxHeaderBytes: number): AnswerStep {
  for (;;) {
    const parsed = parseResponseHead(buffered, maxHeaderBytes);
    if (parsed.kind === 'incomplete') return { kind: 'incomplete', buffered };
    if (parsed.kind === 'invalid') return { kind: 'fail', code: 'WSP_BACKEND_BAD_RESPONSE', message: `invalid response head from backend: ${parsed.reason}` };
    const { head, length } = parsed;
    if (head.statusCode >= 100 && head.statusCode < 200 && head.statusCode !== 101) {
      buffered = buffered.subarray(length); // interim response (100 Continue, 103 Early Hints): skip
      continue;
    }
    if (head.statusCode !== 101) return { kind: 'final', bytes: buffered };
    const verdict = checkSwitch(head, requested);
    if (!verdict.ok) return { kind: 'fail', code: verdict.code, message: verdict.reason };
    return { kind: 'switched', statusMessage: head.statusMessage, rawHeaders: head.rawHeaders, upgrade: verdict.upgrade, rest: buffered.subarray(length) };
  }
}

/**
 * A final non-101 answer: node:http parses it again from its first byte (`bytes`, already taken off
 * `socket`) and streams its body. Rejects with WSP_BACKEND_BAD_RESPONSE (and destroys the socket) when it
 * does not parse; a body that fails later also frees the socket.
 */
export function responseThroughLlhttp(socket: net.Socket, bytes: Buffer, request: HandshakeRequest, maxHeaderBytes: number): Promise<http.IncomingMessage> {
  return new Promise<http.IncomingMessage>((resolve, reject) => {
    let answered = false;
    const replay = new ReplaySocket(socket, bytes);
    const req = http.request({
      createConnection: () => replay,
      method: request.method,
      path: request.path,
      headers: headersToSend(request.method, request.rawHeaders),
      setHost: false,
      maxHeaderSize: maxHeaderBytes,
    });
    req.chunkedEncoding = false;
    req.on('response', (res: http.IncomingMessage) => {
      answered = true;
      resolve(res);
    });
    // Stays attached for the life of the response: later socket errors are reported here (the response
    // itself is destroyed and its reader sees it end early), and an 'error' without a listener would
    // crash the process.
    req.on('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      if (!answered) reject(new WspassError('WSP_BACKEND_BAD_RESPONSE', `invalid response from backend: ${err.message}`, { cause: err }));
    });
    req.end();
  });
}

/**
 * The backend socket as node:http's client sees it for a non-101 answer: reads start with the bytes
 * already taken off the socket, then continue from it; what the client writes (its own copy of the
 * request head, already sent) is dropped.
 */
class ReplaySocket extends Duplex {
  readonly #real: net.Socket;
  #first: Buffer | undefined;

  constructor(real: net.Socket, first: Buffer) {
    super();
    this.#real = real;
    this.#first = first;
    real.on('data', (d: Buffer) => {
      if (!this.push(d)) real.pause();
    });
    real.on('end', () => this.push(null));
    real.on('error', (err) => this.destroy(err));
    real.on('close', () => this.destroy());
  }

  override _read(): void {
    if (this.#first !== undefined) {
      const first = this.#first;
      this.#first = undefined;
      this.push(first);
    }
    this.#real.resume();
  }

  override _write(_chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#real.destroy();
    cb(err);
  }

  setTimeout(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }
}

/**
 * Puts a readable back into its initial "no consumer yet" state (readableFlowing null, as node:http does
 * with an upgraded socket): it keeps its buffered data, emits nothing, and starts flowing again when a
 * 'data' listener is added. The typings mark the property read-only; Node documents it as settable state.
 */
function notFlowing(socket: net.Socket): void {
  (socket as { readableFlowing: boolean | null }).readableFlowing = null;
}

// A request without Content-Length or Transfer-Encoding has an empty body (RFC 9112 §6.3); for methods
// that usually carry one, `Content-Length: 0` says so explicitly without changing the meaning. The llhttp
// path needs it too: node:http would otherwise add `Transfer-Encoding: chunked` to such a head.
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
