// Parses a route's `backend` URL once, at config compile time, into the origin the tunnel and HTTP proxy
// connect to and the raw path and query that the route table maps request paths onto. Pure: no sockets.
// The path and query are kept as written (they are already URL-encoded text) rather than re-serialised by
// WHATWG URL, so `$n` placeholders and the author's encoding survive untouched.
import type { BackendOrigin } from './types.js';

export const BACKEND_SCHEMES = ['ws', 'wss', 'http', 'https'] as const;
type Scheme = (typeof BACKEND_SCHEMES)[number];

export interface ParsedBackend {
  readonly origin: BackendOrigin;
  /** Path as written after the authority ('' when the URL has none, e.g. `ws://b:9080`). */
  readonly path: string;
  /** Query as written, without `?`; undefined when the URL has no `?`. */
  readonly query: string | undefined;
}

// scheme "://" authority rest; `s` so a stray newline lands in `rest` and is refused below.
const URL_PARTS = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;

function isScheme(s: string): s is Scheme {
  return (BACKEND_SCHEMES as readonly string[]).includes(s);
}

/** Visible ASCII only: the path and query go verbatim into a request line. */
function isRequestLineSafe(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** Parses `raw`; returns the parsed backend or a message saying what is wrong with it. */
export function parseBackendUrl(raw: string): ParsedBackend | string {
  const m = URL_PARTS.exec(raw);
  if (m === null) return `"${raw}" is not an absolute URL (expected ws://, wss://, http:// or https://host[:port][/path])`;
  const scheme = m[1]!.toLowerCase();
  const authority = m[2]!;
  const rest = m[3]!;
  if (!isScheme(scheme)) {
    return `scheme "${scheme}:" is not allowed; use one of ${BACKEND_SCHEMES.map((s) => `${s}://`).join(', ')}`;
  }
  if (authority.includes('$')) {
    return '$n placeholders may appear only in the path or query, not in the host or port';
  }
  if (/%[0-9](?![0-9A-Fa-f])/.test(authority)) {
    return '%n placeholders may appear only in the path or query, not in the host or port';
  }
  if (authority.includes('@')) return 'credentials (user@) in the backend URL are not supported';
  let url: URL;
  try {
    url = new URL(`${scheme}://${authority}/`);
  } catch {
    return `"${authority}" is not a valid host[:port]`;
  }
  if (url.hostname === '') return 'the backend URL has no host';
  if (url.port === '0') return 'port 0 cannot be connected to';
  if (rest.includes('#')) return 'the backend URL must not have a #fragment';
  if (!isRequestLineSafe(rest)) return 'the backend path and query must be percent-encoded (no spaces, controls or non-ASCII)';

  const secure = scheme === 'wss' || scheme === 'https';
  const defaultPort = secure ? 443 : 80;
  const port = url.port === '' ? defaultPort : Number(url.port);
  // WHATWG keeps IPv6 literals bracketed in `hostname`; the origin stores them bare.
  const bracketed = url.hostname.startsWith('[');
  const hostname = bracketed ? url.hostname.slice(1, -1) : url.hostname;
  const hostForUrl = bracketed ? url.hostname : hostname;
  const origin: BackendOrigin = Object.freeze({
    scheme,
    secure,
    hostname,
    port,
    hostHeader: port === defaultPort ? hostForUrl : `${hostForUrl}:${port}`,
    httpOrigin: `${secure ? 'https' : 'http'}://${hostForUrl}:${port}`,
  });
  const q = rest.indexOf('?');
  return q === -1 ? { origin, path: rest, query: undefined } : { origin, path: rest.slice(0, q), query: rest.slice(q + 1) };
}

export interface ParsedBalancerUrl {
  /** The balancer's name in `balancers`. */
  readonly name: string;
  /** Path as written after the name ('' when none). */
  readonly path: string;
  /** Query as written, without `?`; undefined when there is no `?`. */
  readonly query: string | undefined;
}

const BALANCER_URL = /^balancer:\/\/([^/?#]*)(.*)$/is;

/** True when `raw` names a balancer (`balancer://name/path`, Apache's spelling). */
export function isBalancerUrl(raw: string): boolean {
  return /^balancer:\/\//i.test(raw);
}

/** Parses `balancer://name/path?query`; returns the parts or a message saying what is wrong. */
export function parseBalancerUrl(raw: string): ParsedBalancerUrl | string {
  const m = BALANCER_URL.exec(raw);
  if (m === null) return `"${raw}" is not a balancer URL (expected balancer://name/path)`;
  const name = m[1]!;
  const rest = m[2]!;
  if (name === '') return 'the balancer URL names no balancer (expected balancer://name/path)';
  if (name.includes('$')) return '$n placeholders may appear only in the path or query, not in the balancer name';
  if (rest.includes('#')) return 'the backend URL must not have a #fragment';
  if (!isRequestLineSafe(rest)) return 'the backend path and query must be percent-encoded (no spaces, controls or non-ASCII)';
  const q = rest.indexOf('?');
  return q === -1 ? { name, path: rest, query: undefined } : { name, path: rest.slice(0, q), query: rest.slice(q + 1) };
}
