// The error catalogue: every failure wspass answers or logs has one stable code here, with the HTTP
// status it maps to and the reason written to the log. The README lists each code; a test fails when a
// code is missing there.

export interface ErrorSpec {
  /** HTTP status sent to the client, or 0 when the failure is not answered with a status. */
  readonly status: number;
  /** One line for the log and the response body. */
  readonly reason: string;
}

export const ERRORS = {
  WSP_BAD_REQUEST: { status: 400, reason: 'malformed request' },
  WSP_HEADERS_TOO_LARGE: { status: 431, reason: 'request head larger than maxHeaderBytes' },
  WSP_URI_TOO_LONG: { status: 414, reason: 'request line longer than maxRequestLineBytes' },
  WSP_HEADER_LIMIT: { status: 400, reason: 'a header field longer than maxHeaderFieldBytes, or more than maxHeaderFields fields' },
  WSP_HEAD_TIMEOUT: { status: 408, reason: 'request head not complete within headTimeoutMs' },
  WSP_CONNECT_METHOD: { status: 405, reason: 'CONNECT is not served: wspass is a reverse proxy, not a forward proxy' },
  WSP_NO_ROUTE: { status: 404, reason: 'no route matches the request' },
  // The status here is the usual one (httpd's for an unusable backend); the route's `respond.status` is sent.
  WSP_FIXED_STATUS: { status: 500, reason: 'the route answers a fixed status (respond) instead of proxying' },
  WSP_MISDIRECTED_REQUEST: { status: 421, reason: 'Host names a TLS virtual host with another certificate than the one SNI chose' },
  WSP_UPGRADE_ONLY: { status: 426, reason: 'route accepts only upgrade requests' },
  WSP_UPGRADE_REFUSED: { status: 400, reason: 'upgrade protocol not allowed on this route' },
  WSP_BACKEND_REFUSED: { status: 503, reason: 'backend refused or unreachable' },
  WSP_NO_MEMBER: { status: 503, reason: 'no usable balancer member' },
  WSP_BACKEND_BAD_RESPONSE: { status: 502, reason: 'backend closed or sent an invalid response' },
  WSP_BACKEND_UPGRADE_MISMATCH: { status: 502, reason: 'backend switched to a protocol the client did not ask for' },
  WSP_CONNECT_TIMEOUT: { status: 504, reason: 'backend did not accept the connection within connectTimeoutMs' },
  WSP_HANDSHAKE_TIMEOUT: { status: 504, reason: 'backend sent no status line within handshakeTimeoutMs' },
  WSP_BACKEND_TLS: { status: 502, reason: 'TLS handshake with the backend failed' },
  WSP_SHUTTING_DOWN: { status: 503, reason: 'server is shutting down' },
  WSP_IDLE_TIMEOUT: { status: 0, reason: 'tunnel idle longer than idleTimeoutMs' },
  WSP_CLIENT_ERROR: { status: 0, reason: 'client connection failed' },
  WSP_BACKEND_ERROR: { status: 0, reason: 'backend connection failed after the upgrade' },
  WSP_CONFIG_INVALID: { status: 0, reason: 'configuration is invalid' },
  WSP_NATIVE_UNAVAILABLE: { status: 0, reason: 'tunnel.engine is native but the native engine could not be loaded' },
  WSP_LIMIT_TUNNELS: { status: 503, reason: 'limits.maxTunnels open tunnels reached' },
  WSP_LIMIT_ROUTE: { status: 503, reason: "the route's maxTunnels open tunnels reached" },
  WSP_LIMIT_MEMBER: { status: 503, reason: 'every usable balancer member has its maxTunnels open tunnels' },
  WSP_LIMIT_CLIENT_TUNNELS: { status: 429, reason: 'limits.perClient.maxTunnels open tunnels reached for this client address' },
  WSP_LIMIT_CLIENT_RATE: { status: 429, reason: 'limits.perClient.handshakesPerSecond exceeded for this client address' },
  WSP_ORIGIN_FORBIDDEN: { status: 403, reason: "Origin not in the route's allowedOrigins" },
  WSP_UNKNOWN_MEMBER: { status: 404, reason: 'no such balancer or balancer member' },
  // The PROXY protocol comes before any HTTP, so these connections are closed without an answer.
  WSP_PROXY_UNTRUSTED_SOURCE: { status: 0, reason: 'connection to a PROXY protocol listener from outside proxyProtocol.trustedSources' },
  WSP_PROXY_HEADER_INVALID: { status: 0, reason: 'missing, malformed or truncated PROXY protocol header' },
  WSP_PROXY_HEADER_TIMEOUT: { status: 0, reason: 'PROXY protocol header not complete within proxyProtocol.headerTimeoutMs' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** An error that carries a catalogue code; crosses threads as `{ code, message }`. */
export class WspassError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].reason, options);
    this.name = 'WspassError';
    this.code = code;
  }
  get status(): number {
    return ERRORS[this.code].status;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}
