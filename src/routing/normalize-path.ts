// Turns a request target into the decoded, normalised path that routes are matched on, and re-encodes a
// decoded path for the backend. Pure: no sockets. Rules (Apache's, made strict where Apache is lenient):
//   - origin-form `/p?q` is the normal case; absolute-form `http://host/p?q` (RFC 9112 §3.2.2, which a
//     server must accept) is accepted: its path is used and its authority returned, so the route table
//     matches hosts on it instead of the Host header. Any other form (`*`, `host:port`) is refused.
//   - the path is percent-decoded, then `//` runs are merged (Apache MergeSlashes), then `.`/`..` segments
//     are removed (RFC 3986 §5.2.4; `..` never climbs above `/`). Decoding comes first so `%2e%2e` cannot
//     smuggle a `..` past the prefix check.
//   - refused (the caller answers 400): bad `%` escapes, an encoded slash `%2F` (with Apache's
//     AllowEncodedSlashes Off it never reaches a backend either; refusing keeps "a `/` in the decoded path is
//     a separator" true), an encoded or raw control character (NUL included), raw space or non-ASCII
//     (node:http refuses those too), and bytes that are not valid UTF-8 once decoded.
//   - the query is passed through byte for byte; a `#fragment` (never sent by real clients) is ignored.

export interface NormalizedTarget {
  /** Decoded, normalised path; always starts with `/`. */
  readonly path: string;
  /** Raw query without `?`, '' when there is none. */
  readonly query: string;
  /** `host[:port]` of an absolute-form target; undefined for origin-form. */
  readonly authority?: string | undefined;
}

const SLASH = 0x2f;
const PERCENT = 0x25;
const DOT = 0x2e;
const QUESTION = 0x3f;
const HASH = 0x23;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Absolute-form: scheme "://" authority, then the path-abempty (may be empty).
const ABSOLUTE_FORM = /^https?:\/\/((?:(?![/?#@])[\x21-\x7e])+)(?=[/?#]|$)/i;

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** True for characters allowed raw in a request target: visible ASCII (node:http allows no others). */
function isVisibleAscii(code: number): boolean {
  return code > 0x20 && code < 0x7f;
}

/**
 * Percent-decodes `raw` (the path part of a target, already checked to hold only visible ASCII). Returns
 * null when the path must be refused.
 */
function decodePath(raw: string): string | null {
  const bytes = new Uint8Array(raw.length); // decoding only shrinks
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== PERCENT) {
      bytes[n++] = c;
      continue;
    }
    if (i + 2 >= raw.length) return null;
    const hi = hexValue(raw.charCodeAt(i + 1));
    const lo = hexValue(raw.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return null;
    const b = (hi << 4) | lo;
    if (b < 0x20 || b === 0x7f || b === SLASH) return null;
    bytes[n++] = b;
    i += 2;
  }
  try {
    return utf8.decode(bytes.subarray(0, n));
  } catch {
    return null;
  }
}

/** True when `path` has a `//` or a `.`/`..` segment, i.e. needs the slow path of removeDotSegments. */
function needsNormalizing(path: string): boolean {
  const n = path.length;
  for (let i = 0; i < n - 1; i++) {
    if (path.charCodeAt(i) !== SLASH) continue;
    const next = path.charCodeAt(i + 1);
    if (next === SLASH) return true;
    if (next !== DOT) continue;
    // "/." followed by the end, "/" or "./" / ".<end>"
    if (i + 2 === n) return true;
    const after = path.charCodeAt(i + 2);
    if (after === SLASH) return true;
    if (after === DOT && (i + 3 === n || path.charCodeAt(i + 3) === SLASH)) return true;
  }
  return false;
}

/** Merges repeated slashes and removes dot segments; `path` starts with `/`. */
function removeDotSegments(path: string): string {
  const segments = path.split('/'); // segments[0] is '' (before the leading slash)
  const out: string[] = [];
  let trailingSlash = false;
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg === '' || seg === '.') {
      // An empty segment is a merged slash; at the end it (like `.`) leaves a trailing slash.
      if (last) trailingSlash = true;
    } else if (seg === '..') {
      out.pop();
      if (last) trailingSlash = true;
    } else {
      out.push(seg);
    }
  }
  if (out.length === 0) return '/';
  return '/' + out.join('/') + (trailingSlash ? '/' : '');
}

/**
 * Decodes and normalises a request target (as node:http gives it in `req.url`).
 * Returns null when the target must be answered with 400.
 */
export function normalizeTarget(url: string): NormalizedTarget | null {
  let start = 0;
  let authority: string | undefined;
  if (url.charCodeAt(0) !== SLASH) {
    const m = ABSOLUTE_FORM.exec(url);
    if (m === null) return null;
    authority = m[1]!;
    start = m[0].length;
  }
  // One pass over the path: check characters, find its end, and note whether it needs decoding or may
  // need normalising ("//" or "/." seen; the latter also flags "/.well-known", which the slow path keeps).
  const n = url.length;
  let hasPercent = false;
  let mayNeedNormalizing = false;
  let i = start;
  for (; i < n; i++) {
    const c = url.charCodeAt(i);
    if (c === QUESTION || c === HASH) break;
    if (!isVisibleAscii(c)) return null;
    if (c === PERCENT) hasPercent = true;
    else if ((c === SLASH || c === DOT) && i > start && url.charCodeAt(i - 1) === SLASH) mayNeedNormalizing = true;
  }
  const pathEnd = i;
  let query = '';
  if (i < n && url.charCodeAt(i) === QUESTION) {
    for (i++; i < n; i++) {
      const c = url.charCodeAt(i);
      if (c === HASH) break;
      if (!isVisibleAscii(c)) return null;
    }
    query = url.slice(pathEnd + 1, i);
  }
  // An absolute-form target with an empty path means `/` (RFC 9112 §3.2.1).
  let path = pathEnd === start ? '/' : start === 0 && pathEnd === n ? url : url.slice(start, pathEnd);
  if (path.charCodeAt(0) !== SLASH) return null;
  if (hasPercent) {
    const decoded = decodePath(path);
    if (decoded === null) return null;
    path = needsNormalizing(decoded) ? removeDotSegments(decoded) : decoded;
  } else if (mayNeedNormalizing) {
    path = removeDotSegments(path);
  }
  return authority === undefined ? { path, query } : { path, query, authority };
}

/**
 * The host a request names: the authority of an absolute-form target, which RFC 9112 §3.2.2 says wins over
 * the Host header, else the Host header. What routes match on, and what X-Forwarded-Host and preserveHost
 * send on (Apache: `GET http://a.example/x` with `Host: b.example` forwards `X-Forwarded-Host: a.example`).
 */
export function requestHost(url: string | undefined, hostHeader: string | undefined): string | undefined {
  if (url === undefined || url.charCodeAt(0) === SLASH) return hostHeader;
  return ABSOLUTE_FORM.exec(url)?.[1] ?? hostHeader;
}

// pchar (RFC 3986 §3.3) plus `/`: unreserved, sub-delims, ':' and '@'.
const KEEP = new Uint8Array(128);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/") {
  KEEP[ch.charCodeAt(0)] = 1;
}
const HEX = '0123456789ABCDEF';

/**
 * Re-encodes a decoded path for the request line toward a backend: `/` and RFC 3986 pchar characters stay,
 * everything else (including `%`, `?`, `#`, space and non-ASCII as UTF-8) is percent-encoded.
 */
export function encodePath(decodedPath: string): string {
  let i = 0;
  for (; i < decodedPath.length; i++) {
    const c = decodedPath.charCodeAt(i);
    if (c >= 128 || KEEP[c] === 0) break;
  }
  if (i === decodedPath.length) return decodedPath;
  let out = decodedPath.slice(0, i);
  for (const byte of Buffer.from(decodedPath.slice(i), 'utf8')) {
    if (byte < 128 && KEEP[byte] === 1) out += String.fromCharCode(byte);
    else out += '%' + HEX[byte >> 4]! + HEX[byte & 15]!;
  }
  return out;
}
