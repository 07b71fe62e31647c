// What happens to an accepted connection before HTTP sees it:
//
//   accept ──▶ [PROXY header, from trusted sources only] ──▶ [TLS] ──▶ HTTP (node:http)
//
// The server's own 'connection' handling (node:http's parser, or node:tls's handshake on a TLS listener) is
// taken off the event and called here once the connection is ready for it, so the PROXY step sits before TLS
// and the same server keeps listening, closing and counting its connections. Every socket is recorded with
// where it comes from (client-address.ts) before that hand-over.
//
// A PROXY listener closes, without a byte of answer (no protocol is agreed yet), a connection from outside
// its trusted sources, one whose header is malformed or cut short, and one whose header has not arrived
// within headerTimeoutMs. Bytes after the header (a TLS ClientHello, a request) are put back on the socket.
import type { Server, Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { AddressMatcher } from '../config/cidr.js';
import type { ErrorCode } from '../errors.js';
import { recordConnection, type ConnectionOrigin, type ForwardingPolicy } from '../http/client-address.js';
import { parseProxyHeader, type ProxyHeader } from '../proxy-protocol/parse-header.js';

export interface ProxyProtocolSettings {
  readonly trustedSources: AddressMatcher;
  readonly headerTimeoutMs: number;
}

export interface ListenerPipelineOptions {
  /** The PROXY step of this listener, read per connection (a reload applies to new ones); undefined: none. */
  readonly proxyProtocol: () => ProxyProtocolSettings | undefined;
  /** Which X-Forwarded-For hops are believed (read per request). */
  readonly policy: () => ForwardingPolicy;
  /** A connection was closed before HTTP: counted and logged by the caller. */
  readonly onRefused: (code: ErrorCode, details: Readonly<Record<string, unknown>>) => void;
}

type ConnectionHandler = (socket: Socket) => void;

export class ListenerPipeline {
  readonly #server: Server;
  /** A TLS listener: the handshake follows the PROXY step. */
  readonly #tls: boolean;
  readonly #handlers: ConnectionHandler[];
  readonly #opts: ListenerPipelineOptions;
  /** Connections still waiting for their PROXY header (closed by a drain: they owe nothing). */
  readonly #pending = new Set<Socket>();

  constructor(server: Server, opts: ListenerPipelineOptions) {
    this.#server = server;
    this.#tls = server instanceof TlsServer;
    this.#opts = opts;
    this.#handlers = server.listeners('connection') as ConnectionHandler[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => this.#accept(socket));
  }

  /** Hands a connection to the server's own handling again, past the PROXY step (a socket given back after an upgrade). */
  deliver(socket: Socket): void {
    for (const handler of this.#handlers) handler.call(this.#server, socket);
  }

  /** Closes every connection still waiting for its PROXY header. */
  destroyPending(): void {
    for (const socket of this.#pending) socket.destroy();
    this.#pending.clear();
  }

  #accept(socket: Socket): void {
    const pp = this.#opts.proxyProtocol();
    if (pp === undefined) {
      recordConnection(socket, undefined, this.#opts.policy);
      this.deliver(socket);
      return;
    }
    socket.on('error', ignore);
    const peer = socket.remoteAddress;
    if (peer === undefined) {
      socket.destroy(); // already gone
      return;
    }
    if (!pp.trustedSources(peer)) {
      this.#opts.onRefused('WSP_PROXY_UNTRUSTED_SOURCE', { peer });
      socket.destroy();
      return;
    }
    this.#readHeader(socket, peer, pp.headerTimeoutMs);
  }

  #readHeader(socket: Socket, peer: string, headerTimeoutMs: number): void {
    this.#pending.add(socket);
    const chunks: Buffer[] = [];
    let received = 0;
    let need = 1;
    const cleanup = (): void => {
      clearTimeout(timer);
      this.#pending.delete(socket);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onClose);
    };
    const refuse = (code: ErrorCode, reason: string): void => {
      cleanup();
      this.#opts.onRefused(code, { peer, reason });
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < need) return;
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      chunks.length = 0;
      chunks.push(buf);
      const r = parseProxyHeader(buf);
      if (r.state === 'more') {
        need = r.need;
        return;
      }
      if (r.state === 'invalid') {
        refuse('WSP_PROXY_HEADER_INVALID', r.reason);
        return;
      }
      cleanup();
      recordConnection(socket, originOf(r.header), this.#opts.policy);
      const rest = buf.subarray(r.length);
      if (rest.length === 0) {
        this.deliver(socket);
      } else if (this.#tls) {
        // node:tls feeds what is buffered on the socket it wraps into the handshake.
        socket.pause();
        socket.unshift(rest);
        this.deliver(socket);
      } else {
        // node:http reads the socket's handle directly from now on, past the stream's buffer: the bytes that
        // came with the header are handed to its 'data' handling instead, before any later byte can arrive.
        this.deliver(socket);
        if (!socket.destroyed) socket.emit('data', rest);
      }
    };
    const onEnd = (): void => {
      if (received === 0) {
        // A port probe that connects and leaves: nothing was refused.
        cleanup();
        socket.destroy();
      } else refuse('WSP_PROXY_HEADER_INVALID', `connection ended after ${received} bytes of an incomplete header`);
    };
    const onClose = (): void => {
      cleanup();
    };
    const timer = setTimeout(() => refuse('WSP_PROXY_HEADER_TIMEOUT', `${received} bytes in ${headerTimeoutMs} ms`), headerTimeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onClose);
  }
}

/** The connection's origin from its header; LOCAL / UNKNOWN headers leave the socket's own endpoints. */
function originOf(header: ProxyHeader): ConnectionOrigin | undefined {
  if (header.kind === 'local') return undefined;
  return { address: header.source, port: header.sourcePort, localAddress: header.destination, localPort: header.destinationPort };
}

function ignore(): void {}
