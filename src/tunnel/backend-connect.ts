// Opens the connection to a backend for a tunnel: plain TCP for ws:// and http://, TLS for wss:// and
// https://. It settles once the connection is usable (TCP connected, or TLS handshake done) and maps
// every failure to one catalogue code, so the caller can answer 503/504/502 without looking at errno.
import net from 'node:net';
import tls from 'node:tls';
import { WspassError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { BackendOrigin, BackendTls } from '../routing/types.js';

export interface ConnectOptions {
  /** Give up after this long (TCP connect plus TLS handshake); 0 means no timer. */
  readonly connectTimeoutMs: number;
  /** TLS settings for wss:// and https:// origins; ignored for plain ones. */
  readonly tls?: BackendTls | undefined;
  /** A PROXY protocol header sent first on the TCP connection, before any TLS byte (`proxyProtocol: v2`). */
  readonly proxyHeader?: Buffer | undefined;
}

/** TCP keep-alive probe delay for backend sockets (DESIGN D4: keep-alive on for both tunnel sockets). */
const KEEP_ALIVE_DELAY_MS = 30_000;

// The system CAs are read once; a per-backend `ca` extends them rather than replacing them, so a private
// CA can be added without losing public ones.
let defaultCas: readonly string[] | undefined;

function trustedCas(extra: string): string[] {
  defaultCas ??= tls.rootCertificates;
  return [...defaultCas, extra];
}

// tls.connect passes allowHalfOpen on to the TLSSocket; @types/node does not list it.
type TlsConnectOptions = tls.ConnectionOptions & { allowHalfOpen: boolean };

function tlsOptions(origin: BackendOrigin, settings: BackendTls | undefined): TlsConnectOptions {
  const options: TlsConnectOptions = {
    host: origin.hostname,
    port: origin.port,
    allowHalfOpen: true,
    rejectUnauthorized: settings?.rejectUnauthorized ?? true,
  };
  // SNI must not carry an IP literal (RFC 6066 §3); certificate checks still use the host we dialled.
  const servername = settings?.servername ?? (net.isIP(origin.hostname) === 0 ? origin.hostname : undefined);
  if (servername !== undefined) options.servername = servername;
  if (settings?.ca !== undefined) options.ca = trustedCas(settings.ca);
  return options;
}

/**
 * Connects to `origin` and resolves with a socket ready for the request head: `allowHalfOpen` (so a FIN
 * can be passed on), no Nagle delay, TCP keep-alive on. Rejects with a WspassError whose `cause` is the
 * original error: WSP_CONNECT_TIMEOUT, WSP_BACKEND_REFUSED or WSP_BACKEND_TLS. On rejection the socket
 * is destroyed and nothing (listener, timer) is left behind.
 */
export function connectBackend(origin: BackendOrigin, opts: ConnectOptions): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const secure = origin.secure;
    const header = opts.proxyHeader;
    // With a PROXY header the TCP connection comes first: the header is written once it is up, and TLS
    // starts over it after that, so the receiver reads the header before the ClientHello.
    const tcp: net.Socket | undefined = header !== undefined ? net.connect({ host: origin.hostname, port: origin.port, allowHalfOpen: true }) : undefined;
    let socket: net.Socket =
      tcp ?? (secure ? tls.connect(tlsOptions(origin, opts.tls)) : net.connect({ host: origin.hostname, port: origin.port, allowHalfOpen: true }));
    const readyEvent = secure ? 'secureConnect' : 'connect';
    // For TLS, 'connect' marks the end of the TCP phase: a failure after it belongs to the TLS handshake.
    let tcpConnected = false;
    let timer: NodeJS.Timeout | undefined;

    const cleanup = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      socket.removeListener(readyEvent, onReady);
      socket.removeListener('connect', onTcpConnect);
      socket.removeListener('error', onError);
      tcp?.removeListener('connect', onTcpConnect);
      tcp?.removeListener('error', onError);
    };
    const fail = (code: ErrorCode, cause: unknown): void => {
      cleanup();
      // Swallow whatever the socket still reports while it dies; the caller only sees the rejection.
      socket.on('error', ignore);
      tcp?.on('error', ignore);
      socket.destroy();
      tcp?.destroy();
      reject(new WspassError(code, `${describeOrigin(origin)}: ${messageOf(cause)}`, { cause }));
    };
    const onTcpConnect = (): void => {
      tcpConnected = true;
      if (tcp === undefined || header === undefined) return;
      tcp.write(header);
      if (!secure) return;
      socket = tls.connect({ ...tlsOptions(origin, opts.tls), socket: tcp });
      socket.once(readyEvent, onReady);
      socket.once('error', onError);
    };
    const onReady = (): void => {
      cleanup();
      // Under TLS the wrapper reports the connection's errors; the raw socket only needs a listener.
      if (tcp !== undefined && tcp !== socket) tcp.on('error', ignore);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
      resolve(socket);
    };
    const onError = (err: Error): void => {
      fail(classify(secure && tcpConnected), err);
    };

    if (tcp !== undefined) {
      tcp.once('connect', onTcpConnect);
      tcp.once('error', onError);
      if (!secure) tcp.once('connect', onReady);
    } else {
      socket.once(readyEvent, onReady);
      if (secure) socket.once('connect', onTcpConnect);
      socket.once('error', onError);
    }
    if (opts.connectTimeoutMs > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        fail('WSP_CONNECT_TIMEOUT', new Error(`no connection within ${opts.connectTimeoutMs} ms`));
      }, opts.connectTimeoutMs);
    }
  });
}

function classify(inTlsHandshake: boolean): ErrorCode {
  // Once TCP is up, any failure (certificate, protocol alert, peer hanging up mid-handshake) is a TLS
  // failure: the backend is listening, so "refused" would send operators looking in the wrong place.
  // Before that, every failure (ECONNREFUSED, ENOTFOUND, EAI_AGAIN, EHOSTUNREACH, ENETUNREACH, a reset,
  // EADDRNOTAVAIL...) means the backend cannot be reached at all: 503.
  return inTlsHandshake ? 'WSP_BACKEND_TLS' : 'WSP_BACKEND_REFUSED';
}

/** `ws://host:port` as error messages name a backend (the C backend leg's too). */
export function describeOrigin(origin: BackendOrigin): string {
  const host = origin.hostname.includes(':') ? `[${origin.hostname}]` : origin.hostname;
  return `${origin.scheme}://${host}:${origin.port}`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function ignore(): void {}
