// The native front's reader of a request head: the head arrives as the latin1 string of the bytes peeked
// from the socket, and the front takes the connection only when this reader accepts it. It accepts only a
// head that node:http reads exactly the same way (method, target, version, raw fields) and that wspass's
// own head checks (request-limits.ts, request-checks.ts) pass; anything else is "not mine" and the
// connection goes to node:http untouched, which gives every malformed head today's answer. So the reader is
// strict rather than complete: a head it refuses costs a fallback, a head it misreads would be a second
// parser with its own smuggling surface. Pure; one pass with indexOf and charCodeAt, no regex per line.
import { FIELD_TEXT, TOKEN } from './field-syntax.js';
import { isHeaderName } from './header-name.js';
import { requestHeadProblem } from './request-checks.js';
import { parserHeadLimit, requestLimitProblem, type RequestLimits } from './request-limits.js';

/** A head the front may take: what node:http would report for it, and where it ends. */
export interface StrictHead {
  readonly method: string;
  /** The request target as sent (origin-form), node:http's `req.url`. */
  readonly target: string;
  readonly httpVersion: '1.1';
  /** [name, value, ...] as node:http's `rawHeaders`: names as sent, values without surrounding OWS. */
  readonly rawHeaders: string[];
  /** Offset just past the blank line: the bytes from here on are not part of the head. */
  readonly headBytes: number;
}

/** No blank line yet, and nothing so far that makes the head "not mine": more bytes may complete it. */
export const INCOMPLETE = 'incomplete';

/** A head to take, one still arriving, or undefined: not mine (node:http reads this connection). */
export type StrictHeadResult = StrictHead | typeof INCOMPLETE | undefined;

/**
 * The methods llhttp (node:http's parser) knows, which are node:http's `METHODS`: llhttp refuses any
 * other token, so accepting it here would read a head node:http does not. CONNECT is left out: node:http
 * reads its target as an authority and hands it to the 'connect' event, never to the upgrade path.
 */
const METHODS: ReadonlySet<string> = new Set([
  'ACL', 'BIND', 'CHECKOUT', 'COPY', 'DELETE', 'GET', 'HEAD', 'LINK', 'LOCK', 'M-SEARCH', 'MERGE',
  'MKACTIVITY', 'MKCALENDAR', 'MKCOL', 'MOVE', 'NOTIFY', 'OPTIONS', 'PATCH', 'POST', 'PROPFIND', 'PROPPATCH',
  'PURGE', 'PUT', 'QUERY', 'REBIND', 'REPORT', 'SEARCH', 'SOURCE', 'SUBSCRIBE', 'TRACE', 'UNBIND', 'UNLINK',
  'UNLOCK', 'UNSUBSCRIBE',
]);

/** The methods the reader accepts (for the test that keeps them within node:http's list). */
export function strictHeadMethods(): readonly string[] {
  return [...METHODS];
}

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const COLON = 0x3a;
const SLASH = 0x2f;
const HASH = 0x23;
const VERSION = 'HTTP/1.1';

/** A byte-indexed table of a character class, built once from its definition in field-syntax.ts. */
function charTable(cls: RegExp): Uint8Array {
  const table = new Uint8Array(256);
  for (let c = 0; c < 256; c++) table[c] = cls.test(String.fromCharCode(c)) ? 1 : 0;
  return table;
}

const TOKEN_CHARS = charTable(TOKEN);
const VALUE_CHARS = charTable(FIELD_TEXT);

function isToken(c: number): boolean {
  return c < 256 && TOKEN_CHARS[c] === 1;
}

/** Field text without CR or LF: HTAB, SP, visible ASCII, obs-text. */
function isValueChar(c: number): boolean {
  return c < 256 && VALUE_CHARS[c] === 1;
}

/** Origin-form target characters: visible ASCII; no fragment (a client never sends one). */
function isTargetChar(c: number): boolean {
  return c > SP && c < 0x7f && c !== HASH;
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/**
 * Reads `text` (latin1: one character per byte) as a request head. Undefined unless it holds a complete
 * head that is: `METHOD SP /target SP HTTP/1.1` CRLF, then `name: value` CRLF lines (token names, no space
 * before the colon, no obs-fold, no CTL but HTAB in values, every line ending in CRLF), then CRLF; without
 * Content-Length, Transfer-Encoding or Expect (no body); with exactly one valid Host; within `limits` as
 * requestLimitProblem counts them, and within node:http's own head size limit (parserHeadLimit).
 * INCOMPLETE when no blank line has arrived yet and nothing so far breaks those rules or a limit.
 */
export function readStrictHead(text: string, limits: RequestLimits): StrictHeadResult {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return readIncomplete(text, limits);
  const lineEnd = text.indexOf('\r\n');
  const line = readRequestLine(text, lineEnd, false);
  if (line === undefined || line === INCOMPLETE) return undefined;
  const rawHeaders: string[] = [];
  if (readFields(text, lineEnd + 2, end + 2, line.target.length, rawHeaders, limits) < 0) return undefined;
  if (requestLimitProblem(line.method, line.target, '1.1', rawHeaders, limits) !== undefined) return undefined;
  if (requestHeadProblem('1.1', rawHeaders) !== undefined) return undefined;
  return { method: line.method, target: line.target, httpVersion: '1.1', rawHeaders, headBytes: end + 4 };
}

/** A head without its blank line yet: INCOMPLETE while it is strict so far and within every limit. */
function readIncomplete(text: string, limits: RequestLimits): typeof INCOMPLETE | undefined {
  // A CR at the very end may be the first half of a CRLF: the line before it is judged as cut short.
  const cut = text.length > 0 && text.charCodeAt(text.length - 1) === CR ? text.length - 1 : text.length;
  const lineEnd = text.indexOf('\r\n');
  if (lineEnd === -1) {
    // The request line is measured as sent, so a prefix already over the limit stays over it.
    if (cut > limits.maxRequestLineBytes) return undefined;
    return readRequestLine(text, cut, true) === INCOMPLETE ? INCOMPLETE : undefined;
  }
  const line = readRequestLine(text, lineEnd, false);
  if (line === undefined || line === INCOMPLETE) return undefined;
  const last = text.lastIndexOf('\r\n');
  const rawHeaders: string[] = [];
  let counted = readFields(text, lineEnd + 2, last + 2, line.target.length, rawHeaders, limits);
  if (counted < 0) return undefined;
  if (cut > last + 2) {
    // A field line cut short: its name and value so far only grow, so they are a lower bound of the
    // field's size, of the head's size and of the field count the limits are checked against.
    const n = readField(text, last + 2, cut, true, rawHeaders);
    if (n < 0) return undefined;
    counted += n;
    if (counted >= parserHeadLimit(limits)) return undefined;
  }
  return requestLimitProblem(line.method, line.target, '1.1', rawHeaders, limits) === undefined ? INCOMPLETE : undefined;
}

/**
 * The request line in [0, end) (end: its CR). With `partial`, the line is cut short at `end`, and
 * INCOMPLETE says it is strict so far.
 */
function readRequestLine(
  text: string,
  end: number,
  partial: boolean,
): { readonly method: string; readonly target: string } | typeof INCOMPLETE | undefined {
  let i = 0;
  while (i < end && isToken(text.charCodeAt(i))) i++;
  if (i === end) return partial ? INCOMPLETE : undefined;
  if (i === 0 || text.charCodeAt(i) !== SP) return undefined;
  const method = text.slice(0, i);
  if (!METHODS.has(method)) return undefined;
  const targetStart = ++i;
  if (i === end) return partial ? INCOMPLETE : undefined;
  if (text.charCodeAt(i) !== SLASH) return undefined;
  while (i < end && isTargetChar(text.charCodeAt(i))) i++;
  if (i === end) return partial ? INCOMPLETE : undefined;
  if (text.charCodeAt(i) !== SP) return undefined;
  const versionStart = i + 1;
  if (partial) {
    return end - versionStart <= VERSION.length && VERSION.startsWith(text.slice(versionStart, end)) ? INCOMPLETE : undefined;
  }
  if (end - versionStart !== VERSION.length || !text.startsWith(VERSION, versionStart)) return undefined;
  return { method, target: text.slice(targetStart, i) };
}

/**
 * The field lines from `start` up to `stop` (just past the last CRLF to read), appended to `out`. Returns
 * what node:http's parser counts against its limit (the target, every name, every value from its first
 * non-blank character to the end of the line: trailing blanks are trimmed only after counting), or -1
 * when a line is not strict, declares a body, or the count reaches that limit (node:http answers 431).
 */
function readFields(text: string, start: number, stop: number, targetLength: number, out: string[], limits: RequestLimits): number {
  const room = parserHeadLimit(limits);
  let counted = targetLength;
  for (let s = start; s < stop; ) {
    const e = text.indexOf('\r\n', s);
    const n = readField(text, s, e, false, out);
    if (n < 0) return -1;
    counted += n;
    if (counted >= room) return -1;
    // Only a body-less request is taken: its end is the head's end, with nothing to delimit.
    const name = out[out.length - 2]!;
    if (isHeaderName(name, 'content-length') || isHeaderName(name, 'transfer-encoding') || isHeaderName(name, 'expect')) return -1;
    s = e + 2;
  }
  return counted;
}

/**
 * One field line in [s, e) (e: its CR), appended to `out` as name and trimmed value; returns the bytes
 * node:http's parser counts for it, or -1. With `partial`, the line is cut short at `e`.
 */
function readField(text: string, s: number, e: number, partial: boolean, out: string[]): number {
  let i = s;
  while (i < e && isToken(text.charCodeAt(i))) i++;
  if (i === e && partial && i > s) {
    out.push(text.slice(s, i), '');
    return i - s;
  }
  // An empty name is also what obs-fold (a line starting with SP or HTAB) looks like here.
  if (i === s || i === e || text.charCodeAt(i) !== COLON) return -1;
  let v = i + 1;
  while (v < e && isOws(text.charCodeAt(v))) v++;
  let valueEnd = v;
  for (let j = v; j < e; j++) {
    const c = text.charCodeAt(j);
    if (!isValueChar(c)) return -1;
    if (!isOws(c)) valueEnd = j + 1;
  }
  out.push(text.slice(s, i), text.slice(v, valueEnd));
  return i - s + (e - v);
}
