// The backend side of an upgrade on the native engine, without a JavaScript socket: the C core connects,
// writes the request head, and passes on what the backend answers (src/native/backend_leg.c); this file
// keeps the policy the JavaScript path has (backend-connect.ts, backend-handshake.ts): the timers, the
// error codes, the reading of the answer. A 101 leaves the fd for the native tunnel (ReleasedLeg); any
// other final answer is read by node:http from a net.Socket made on the fd, as on the JavaScript path.
//
//   legOpen ──CONNECTED──▶ (head already going out) ──DATA…──▶ 101: ReleasedLeg
//      │                                                   └─▶ other: net.Socket + llhttp replay
//      └─ ERROR / connect timeout: WSP_BACKEND_REFUSED / WSP_CONNECT_TIMEOUT
//
// Used only where the JavaScript path would open a plain TCP connection with a request that has no body
// (src/server/upgrade-handler.ts decides; a body needs the request reader's stream writes), to an IP
// address or to a name that resolves to one address (leg-address.ts: a name with several keeps
// net.connect's turn-taking).
import { getSystemErrorName } from 'node:util';
import { WspassError } from '../errors.js';
import { rawHeaderValue } from '../http/headers.js';
import type { ErrorCode } from '../errors.js';
import type { BackendOrigin } from '../routing/types.js';
import { describeOrigin } from './backend-connect.js';
import { readAnswer, responseThroughLlhttp, type HandshakeOptions, type HandshakeRequest, type HandshakeResult } from './backend-handshake.js';
import type { NativeAddon } from './native-addon.js';
import { ReleasedLeg } from './released-leg.js';

/** One read of a leg: a response head is far smaller (maxHeaderBytes); more simply comes in the next read. */
const LEG_READ_BYTES = 64 * 1024;
/** The event numbers of src/native/backend_leg.h. */
const CONNECTED = 1;
const DATA = 2;
const EOF = 3;

/** What one leg waits for; the handler is swapped as the leg moves from connecting to reading. */
type LegHandler = (event: number, errno: number, chunk: Buffer | undefined) => void;
type LegEvent = Parameters<LegHandler>;

/** The legs of this thread's addon, by id. */
const tables = new WeakMap<NativeAddon, Map<number, LegHandler>>();
/** The addon this thread opened legs with (each worker thread loads its own addon and its own copy of this module). */
let threadAddon: NativeAddon | undefined;

/**
 * The send(2) calls this thread's legs made so far (C counts them; one call, read at the writes counters'
 * flush); 0 on a thread that opened no leg, without loading the addon for it.
 */
export function threadLegSends(): number {
  return threadAddon?.legSends() ?? 0;
}

function tableOf(addon: NativeAddon): Map<number, LegHandler> {
  let table = tables.get(addon);
  if (table === undefined) {
    threadAddon = addon;
    const legs = new Map<number, LegHandler>();
    // Reads land in one Buffer per thread; a DATA event's bytes are copied out of it at once.
    const into = Buffer.allocUnsafeSlow(LEG_READ_BYTES);
    addon.setLegHandler((id, event, errno, length) => {
      const handler = legs.get(id);
      if (handler !== undefined) handler(event, errno, event === DATA ? Buffer.from(into.subarray(0, length)) : undefined);
    }, into);
    tables.set(addon, legs);
    table = legs;
  }
  return table;
}

/** The error net.connect would give (`connect ECONNREFUSED 127.0.0.1:9`: the address dialled). */
function connectError(errno: number, address: string, port: number): Error {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(`connect ${code} ${address}:${port}`), { errno, code });
}

/** WSP_CONNECT_TIMEOUT for `origin`, as a leg reports it (the lookup of a name included). */
export function connectTimeout(origin: BackendOrigin, connectTimeoutMs: number): WspassError {
  return new WspassError('WSP_CONNECT_TIMEOUT', `${describeOrigin(origin)}: no connection within ${connectTimeoutMs} ms`, {
    cause: new Error(`no connection within ${connectTimeoutMs} ms`),
  });
}

function readError(errno: number): Error {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(`read ${code}`), { errno, code });
}

/**
 * A promise's resolve and reject that let go of the promise (and so of its result) once either is used,
 * with `forget` clearing what else the caller's closure holds. A leg's closures are kept by the C
 * callback's table while the backend is slow, long enough under a burst for V8 to move them (or to
 * allocate their contexts from then on) into the old generation, where a dead one is only found at the
 * next full collection: every young object it still pointed to (the answer's buffer, the parsed head, the
 * handshake's whole continuation through the promise) then survives each scavenge until then and is
 * copied into the old generation too. Measured (2,000 tunnels per round, 2 workers): RSS grew about
 * 5 MiB a round with the references kept.
 */
function forgetful<T>(resolve: (value: T) => void, reject: (reason: unknown) => void, forget?: () => void) {
  let settle: { resolve: (value: T) => void; reject: (reason: unknown) => void } | undefined = { resolve, reject };
  const take = () => {
    const s = settle;
    settle = undefined;
    forget?.();
    return s;
  };
  return {
    resolve: (value: T): void => take()?.resolve(value),
    reject: (reason: unknown): void => take()?.reject(reason),
  };
}

/** A connected leg: its request is going out, the answer is read with answer(). */
export class BackendLeg {
  readonly #addon: NativeAddon;
  readonly #table: Map<number, LegHandler>;
  readonly #id: number;
  readonly #early: LegEvent[];
  /** Rejects the answer() in progress (set while one waits). */
  #abandon: (() => void) | undefined;

  constructor(addon: NativeAddon, table: Map<number, LegHandler>, id: number, early: LegEvent[]) {
    this.#addon = addon;
    this.#table = table;
    this.#id = id;
    this.#early = early;
  }

  // The request reader's sink (upgrade-request-reader.ts). A leg carries requests without a body: the
  // reader only ever passes the client's FIN on, so there is nothing to write and no drain to wait for.

  write(): boolean {
    throw new Error('a native backend leg carries no request body');
  }

  readonly writableNeedDrain = false;

  on(): this {
    return this;
  }

  removeListener(): this {
    return this;
  }

  /** Closed (released or aborted). */
  get destroyed(): boolean {
    return !this.#table.has(this.#id);
  }

  /** The client's FIN: passed on once the request is out. */
  end(): void {
    this.#addon.legShutdown(this.#id);
  }

  /** Closes the connection; an answer() still waiting rejects, as a destroyed socket's handshake does. */
  destroy(): void {
    if (!this.#table.delete(this.#id)) return;
    this.#addon.legAbort(this.#id);
    this.#abandon?.();
  }

  /**
   * The backend's final answer, as backendHandshake gives it, the same codes on failure (the leg is
   * closed then): WSP_BACKEND_BAD_RESPONSE, WSP_BACKEND_UPGRADE_MISMATCH, WSP_HANDSHAKE_TIMEOUT. A 101's
   * `socket` is a ReleasedLeg.
   */
  answer(request: HandshakeRequest, opts: HandshakeOptions): Promise<HandshakeResult<ReleasedLeg>> {
    const requested = rawHeaderValue(request.rawHeaders, 'upgrade');
    const { maxHeaderBytes, handshakeTimeoutMs } = opts;
    // Only a non-101 answer needs the request again (for llhttp's replay); dropped once settled.
    let asked: HandshakeRequest | undefined = request;
    return new Promise((resolveAnswer, rejectAnswer) => {
      let buffered: Buffer | undefined;
      let timer: NodeJS.Timeout | undefined;
      const { resolve, reject } = forgetful(resolveAnswer, rejectAnswer, () => {
        buffered = undefined;
        asked = undefined;
      });
      const fail = (code: ErrorCode, message: string, cause?: unknown): void => {
        if (timer !== undefined) clearTimeout(timer);
        this.#abandon = undefined;
        this.destroy();
        reject(new WspassError(code, message, { cause }));
      };
      this.#abandon = () => fail('WSP_BACKEND_BAD_RESPONSE', 'backend connection closed before a complete response head');
      const take = (): number => {
        this.#abandon = undefined;
        if (timer !== undefined) clearTimeout(timer);
        this.#table.delete(this.#id);
        return this.#addon.legRelease(this.#id);
      };
      const onEvent: LegHandler = (event, errno, chunk) => {
        if (event !== DATA || chunk === undefined) {
          const why = event === EOF ? '' : `: ${readError(errno).message}`;
          fail('WSP_BACKEND_BAD_RESPONSE', `backend closed before a complete response head${why}`, event === EOF ? undefined : readError(errno));
          return;
        }
        buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
        const step = readAnswer(buffered, requested, maxHeaderBytes);
        if (step.kind === 'incomplete') {
          buffered = step.buffered;
          return;
        }
        if (step.kind === 'fail') {
          fail(step.code, step.message);
          return;
        }
        const fd = take();
        if (fd < 0) {
          // The backend answered before the whole request was out: not a clean switch.
          reject(new WspassError('WSP_BACKEND_BAD_RESPONSE', 'backend answered before the request was sent'));
          this.#addon.legAbort(this.#id);
          return;
        }
        if (step.kind === 'switched') {
          const { statusMessage, rawHeaders, upgrade, rest } = step;
          resolve({ kind: 'switched', statusMessage, rawHeaders, upgrade, socket: new ReleasedLeg(this.#addon, fd), head: rest });
          return;
        }
        const socket = new ReleasedLeg(this.#addon, fd).toSocket();
        socket.on('error', () => socket.destroy());
        const replayed = asked;
        asked = undefined;
        if (replayed === undefined) {
          socket.destroy(); // settled already (cannot happen: nothing settles between the answer and here)
          return;
        }
        responseThroughLlhttp(socket, step.bytes, replayed, maxHeaderBytes).then((response) => resolve({ kind: 'response', response }), reject);
      };
      this.#table.set(this.#id, onEvent);
      for (const e of this.#early.splice(0)) if (this.#table.get(this.#id) === onEvent) onEvent(...e);
      if (handshakeTimeoutMs > 0) {
        timer = setTimeout(() => {
          timer = undefined;
          fail('WSP_HANDSHAKE_TIMEOUT', `no response head within ${handshakeTimeoutMs} ms`, new Error('handshake timeout'));
        }, handshakeTimeoutMs);
      }
    });
  }
}

/**
 * Connects to `address` (an IP address: `origin`'s own, or what its name resolves to; plain TCP) at
 * `origin`'s port and sends `request` (the serialized head, after a PROXY header if any) as soon as the
 * connection is up. Resolves once connected; rejects as connectBackend does: WSP_BACKEND_REFUSED,
 * WSP_CONNECT_TIMEOUT.
 */
export function connectLeg(
  addon: NativeAddon,
  origin: BackendOrigin,
  request: Buffer,
  connectTimeoutMs: number,
  address: string = origin.hostname,
): Promise<BackendLeg> {
  return new Promise<BackendLeg>((resolveLeg, rejectLeg) => {
    const { resolve, reject } = forgetful(resolveLeg, rejectLeg);
    const table = tableOf(addon);
    const id = addon.legOpen(address, origin.port, request);
    if (id < 0) {
      const cause = connectError(id, address, origin.port);
      reject(new WspassError('WSP_BACKEND_REFUSED', `${describeOrigin(origin)}: ${cause.message}`, { cause }));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    table.set(id, (event, errno) => {
      if (timer !== undefined) clearTimeout(timer);
      if (event === CONNECTED) {
        // Until answer() takes over, what the backend sends (or how it fails) is kept for it.
        const early: LegEvent[] = [];
        table.set(id, (...e) => early.push(e));
        resolve(new BackendLeg(addon, table, id, early));
        return;
      }
      table.delete(id);
      addon.legAbort(id);
      const cause = connectError(errno, address, origin.port);
      reject(new WspassError('WSP_BACKEND_REFUSED', `${describeOrigin(origin)}: ${cause.message}`, { cause }));
    });
    if (connectTimeoutMs > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        table.delete(id);
        addon.legAbort(id);
        reject(connectTimeout(origin, connectTimeoutMs));
      }, connectTimeoutMs);
    }
  });
}
