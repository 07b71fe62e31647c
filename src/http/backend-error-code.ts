// Maps an error from an HTTP request to a backend (undici, net, tls, llhttp) to the catalogue code the proxy
// answers and logs with. Pure: looks only at error codes, never at sockets.
import { type ErrorCode, isErrorCode } from '../errors.js';

/** Refused or no route to the backend: the backend is down or unreachable (Apache: 503). */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
]);

/** Certificate verification results (OpenSSL X509_V_ERR names as Node reports them) and TLS protocol failures. */
const TLS_FAILURES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'OUT_OF_MEM',
  'EPROTO',
]);
const TLS_PREFIX = /^(?:ERR_TLS_|ERR_SSL_|CERT_|CRL_|UNABLE_TO_|ERROR_IN_C)/;

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Some wrappers (AggregateError from happy-eyeballs connects, fetch-style errors) keep the code on the cause.
  const cause = (err as { cause?: unknown }).cause;
  return cause !== err ? codeOf(cause) : undefined;
}

/**
 * The catalogue code for a failed backend request. Codes with status 0 (client gone, idle) are not answered;
 * everything unknown counts as a bad backend response (502), the safe default for a proxy.
 */
export function backendErrorCode(err: unknown): ErrorCode {
  const code = codeOf(err);
  if (code === undefined) return 'WSP_BACKEND_BAD_RESPONSE';
  if (isErrorCode(code)) return code; // a WspassError raised inside the proxy
  if (UNREACHABLE.has(code)) return 'WSP_BACKEND_REFUSED';
  if (TLS_FAILURES.has(code) || TLS_PREFIX.test(code)) return 'WSP_BACKEND_TLS';
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT': // the kernel gave up on SYN retries before our own timer did
      return 'WSP_CONNECT_TIMEOUT';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'WSP_HANDSHAKE_TIMEOUT';
    case 'UND_ERR_BODY_TIMEOUT': // the proxy sets bodyTimeout to the route's idleTimeoutMs
      return 'WSP_IDLE_TIMEOUT';
    case 'UND_ERR_ABORTED': // the request body (the client's stream) closed early
    case 'UND_ERR_ABORT':
    case 'ABORT_ERR':
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH': // the client sent less than its Content-Length
      return 'WSP_CLIENT_ERROR';
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return 'WSP_SHUTTING_DOWN';
    case 'UND_ERR_INVALID_ARG': // a request header undici will not send (already past llhttp, so rare)
    case 'UND_ERR_NOT_SUPPORTED':
      return 'WSP_BAD_REQUEST';
    default:
      // UND_ERR_SOCKET (backend closed), ECONNRESET, EPIPE, HPE_* (llhttp parse errors),
      // UND_ERR_RES_CONTENT_LENGTH_MISMATCH, UND_ERR_HEADERS_OVERFLOW, ...
      return 'WSP_BACKEND_BAD_RESPONSE';
  }
}
