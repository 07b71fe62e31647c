// How much of what follows a request head is the request's own content (RFC 9112 §6.3), for the upgrade
// path: llhttp stops at an upgrade head, so the body (Content-Length or chunked) is ours to delimit. The
// body is forwarded in the client's own framing; only the bytes after the end of the message are early
// tunnel data. Pure: works on raw header lists and buffers, never on sockets.
import { isHeaderName } from './header-name.js';

/** The body of a request, from its head. */
export type RequestFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'invalid'; readonly reason: string };

const NONE: RequestFraming = { kind: 'none' };
const CHUNKED: RequestFraming = { kind: 'chunked' };
const DIGITS = /^[0-9]+$/;

/**
 * The framing a request head declares. Transfer-Encoding whose final coding is not chunked cannot be
 * delimited by a server and is invalid (RFC 9112 §6.3 item 4), so is Transfer-Encoding with
 * Content-Length (a smuggling vector) and a Content-Length that is not one number. `Content-Length: 0`
 * is no body, on both the upgrade and the plain path.
 */
export function requestFraming(rawHeaders: readonly string[]): RequestFraming {
  let te: string | undefined;
  let cl: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (isHeaderName(name, 'transfer-encoding')) te = te === undefined ? rawHeaders[i + 1]! : `${te}, ${rawHeaders[i + 1]!}`;
    else if (isHeaderName(name, 'content-length')) {
      const v = rawHeaders[i + 1]!.trim();
      if (cl !== undefined && cl !== v) return { kind: 'invalid', reason: 'conflicting Content-Length headers' };
      cl = v;
    }
  }
  if (te !== undefined) {
    if (cl !== undefined) return { kind: 'invalid', reason: 'both Transfer-Encoding and Content-Length' };
    const codings = te.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '');
    if (codings.at(-1) !== 'chunked') return { kind: 'invalid', reason: 'Transfer-Encoding whose final coding is not chunked' };
    if (codings.indexOf('chunked') !== codings.length - 1) return { kind: 'invalid', reason: 'chunked applied more than once' };
    return CHUNKED;
  }
  if (cl === undefined) return NONE;
  if (!DIGITS.test(cl) || cl.length > 15) return { kind: 'invalid', reason: 'Content-Length is not a number' };
  const length = Number(cl);
  return length === 0 ? NONE : { kind: 'length', length };
}

/** True when the request carries content under HTTP/1.x framing (what both proxy paths agree on). */
export function requestHasBody(rawHeaders: readonly string[]): boolean {
  return requestFraming(rawHeaders).kind !== 'none';
}

/** What one feed() found: `bodyEnd` bytes of the chunk are body; done says the message ended there. */
export type FeedResult =
  | { readonly kind: 'more' }
  | { readonly kind: 'done'; readonly bodyEnd: number }
  | { readonly kind: 'invalid'; readonly reason: string };

const MORE: FeedResult = { kind: 'more' };

// Chunked-body scanner states (RFC 9112 §7.1). Nothing is decoded: the bytes pass on as they came.
const SIZE = 0; // hex digits of a chunk size
const EXT = 1; // chunk extensions, up to CR
const SIZE_LF = 2; // LF after the size line
const DATA = 3; // chunk data
const DATA_CR = 4; // CR after chunk data
const DATA_LF = 5; // LF after chunk data
const LINE_START = 6; // start of a trailer line, or the final CRLF
const TRAILER = 7; // a trailer field line, up to CR
const TRAILER_LF = 8; // LF after a trailer line
const FINAL_LF = 9; // LF of the final CRLF

/** Longest chunk-size line or trailer line accepted; keeps the scanner's work per line bounded. */
const MAX_LINE = 8 * 1024;
/** 13 hex digits stay below 2^53: sizes remain exact numbers. */
const MAX_SIZE_DIGITS = 13;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Finds where a request body ends, fed chunk by chunk as it arrives. Strict: bare LF, a missing size,
 * oversized lines and control characters in extensions or trailers are refused (they are what request
 * smuggling through a lenient parser looks like).
 */
export class BodyDelimiter {
  #remaining: number; // length framing: bytes still to come; chunked: bytes left in the current chunk
  readonly #chunked: boolean;
  #state = SIZE;
  #digits = 0;
  #lineBytes = 0;
  #done = false;

  constructor(framing: Extract<RequestFraming, { kind: 'length' | 'chunked' }>) {
    this.#chunked = framing.kind === 'chunked';
    this.#remaining = framing.kind === 'length' ? framing.length : 0;
  }

  get done(): boolean {
    return this.#done;
  }

  feed(buf: Buffer): FeedResult {
    if (this.#done) return { kind: 'done', bodyEnd: 0 };
    if (!this.#chunked) {
      if (buf.length < this.#remaining) {
        this.#remaining -= buf.length;
        return MORE;
      }
      const end = this.#remaining;
      this.#remaining = 0;
      this.#done = true;
      return { kind: 'done', bodyEnd: end };
    }
    return this.#scanChunked(buf);
  }

  #scanChunked(buf: Buffer): FeedResult {
    let i = 0;
    while (i < buf.length) {
      if (this.#state === DATA) {
        const take = Math.min(this.#remaining, buf.length - i);
        this.#remaining -= take;
        i += take;
        if (this.#remaining === 0) this.#state = DATA_CR;
        continue;
      }
      const c = buf[i]!;
      i++;
      switch (this.#state) {
        case SIZE: {
          const h = hexValue(c);
          if (h >= 0) {
            if (++this.#digits > MAX_SIZE_DIGITS) return invalid('chunk size too large');
            this.#remaining = this.#remaining * 16 + h;
          } else if (this.#digits === 0) return invalid('chunk size missing');
          else if (c === 0x0d) this.#state = SIZE_LF;
          else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this.#state = EXT;
            this.#lineBytes = this.#digits + 1;
          } else return invalid('invalid character in a chunk size');
          break;
        }
        case EXT:
          if (c === 0x0d) this.#state = SIZE_LF;
          else if ((c < 0x20 && c !== 0x09) || c === 0x7f) return invalid('control character in a chunk extension');
          else if (++this.#lineBytes > MAX_LINE) return invalid('chunk extension too long');
          break;
        case SIZE_LF:
          if (c !== 0x0a) return invalid('CR without LF after a chunk size');
          this.#digits = 0;
          if (this.#remaining === 0) {
            this.#state = LINE_START;
          } else this.#state = DATA;
          break;
        case DATA_CR:
          if (c !== 0x0d) return invalid('chunk data longer than its size');
          this.#state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== 0x0a) return invalid('CR without LF after chunk data');
          this.#state = SIZE;
          break;
        case LINE_START:
          if (c === 0x0d) this.#state = FINAL_LF;
          else if (c === 0x0a) return invalid('bare LF in the trailer section');
          else {
            this.#state = TRAILER;
            this.#lineBytes = 1;
          }
          break;
        case TRAILER:
          if (c === 0x0d) this.#state = TRAILER_LF;
          else if ((c < 0x20 && c !== 0x09) || c === 0x7f) return invalid('control character in a trailer field');
          else if (++this.#lineBytes > MAX_LINE) return invalid('trailer field too long');
          break;
        case TRAILER_LF:
          if (c !== 0x0a) return invalid('CR without LF in the trailer section');
          this.#state = LINE_START;
          break;
        case FINAL_LF:
          if (c !== 0x0a) return invalid('CR without LF at the end of the body');
          this.#done = true;
          return { kind: 'done', bodyEnd: i };
      }
    }
    return MORE;
  }
}

function invalid(reason: string): FeedResult {
  return { kind: 'invalid', reason };
}
