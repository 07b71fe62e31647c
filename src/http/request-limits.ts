// httpd's request limits (LimitRequestLine, LimitRequestFieldSize, LimitRequestFields) and wspass's limit
// on the whole head, checked on a parsed head alike on the plain and the upgrade path. node:http's parser
// has a single limit (maxHeaderSize, the URL plus every name and value); it is set high enough that a head
// within the per-line limits always reaches these checks, so the answer is httpd's status (414 or 400),
// not the parser's 431. Pure.
import type { ErrorCode } from '../errors.js';

export interface RequestLimits {
  /** Longest request line ("GET /x HTTP/1.1", without CRLF); longer gets 414. */
  readonly maxRequestLineBytes: number;
  /** Longest header field line ("Name: value") or merged value of repeated fields; longer gets 400. */
  readonly maxHeaderFieldBytes: number;
  /** Most header fields; more get 400. 0: no limit. */
  readonly maxHeaderFields: number;
  /** Largest head in total (the request target plus every name and value); larger gets 431. */
  readonly maxHeaderBytes: number;
}

export interface LimitProblem {
  readonly code: ErrorCode;
  readonly reason: string;
}

/**
 * The largest head the per-line limits allow together; with no limit on the number of fields
 * (maxHeaderFields 0), one line and one field: the whole head is then bounded by maxHeaderBytes alone.
 */
function perLineRoom(l: RequestLimits): number {
  return l.maxRequestLineBytes + Math.max(1, l.maxHeaderFields) * l.maxHeaderFieldBytes;
}

/**
 * The parser limit (node:http maxHeaderSize) for these limits: above any head that keeps to every
 * per-line limit, so only a head that breaks one of them (or is larger than maxHeaderBytes) trips it.
 */
export function parserHeadLimit(l: RequestLimits): number {
  return Math.max(l.maxHeaderBytes, perLineRoom(l)) + 1;
}

/** node:http maxHeadersCount: one more than the limit, so that a head over it can be told apart. */
export function parserFieldCount(l: RequestLimits): number {
  return l.maxHeaderFields === 0 ? 0 : l.maxHeaderFields + 1;
}

/**
 * What the parser's "header overflow" means: the head passed parserHeadLimit(), so it breaks a per-line
 * limit (400; httpd answers 414 when it is the request line, which cannot be told from here) unless
 * maxHeaderBytes is the larger limit, or the number of fields is not limited (431).
 */
export function overflowCode(l: RequestLimits): ErrorCode {
  return l.maxHeaderFields === 0 || l.maxHeaderBytes > perLineRoom(l) ? 'WSP_HEADERS_TOO_LARGE' : 'WSP_HEADER_LIMIT';
}

/**
 * The first limit a parsed head breaks, in httpd's order (the request line, then each field as read, then
 * the merged values), then the whole-head limit; undefined when it keeps to all of them. A field line is
 * measured as "Name: value" (the parser drops the spaces around the value).
 */
export function requestLimitProblem(
  method: string,
  url: string,
  httpVersion: string,
  rawHeaders: readonly string[],
  l: RequestLimits,
): LimitProblem | undefined {
  const line = method.length + 1 + url.length + 1 + 'HTTP/'.length + httpVersion.length;
  if (line > l.maxRequestLineBytes) {
    return { code: 'WSP_URI_TOO_LONG', reason: `request line of ${line} bytes (maxRequestLineBytes ${l.maxRequestLineBytes})` };
  }
  let total = url.length;
  let values = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (l.maxHeaderFields !== 0 && i / 2 >= l.maxHeaderFields) {
      return { code: 'WSP_HEADER_LIMIT', reason: `more than ${l.maxHeaderFields} header fields (maxHeaderFields)` };
    }
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const size = name.length + 2 + value.length;
    if (size > l.maxHeaderFieldBytes) {
      return { code: 'WSP_HEADER_LIMIT', reason: `header field ${name} of ${size} bytes (maxHeaderFieldBytes ${l.maxHeaderFieldBytes})` };
    }
    total += name.length + value.length;
    values += value.length + 2;
  }
  // httpd merges repeated fields into one "a, b" value and checks that value against the same limit; only
  // a head whose values add up to more than the limit can hold such a field.
  if (values > l.maxHeaderFieldBytes) {
    const merged = mergedTooLong(rawHeaders, l.maxHeaderFieldBytes);
    if (merged !== undefined) {
      return { code: 'WSP_HEADER_LIMIT', reason: `repeated header field ${merged} longer than ${l.maxHeaderFieldBytes} bytes once merged (maxHeaderFieldBytes)` };
    }
  }
  if (total > l.maxHeaderBytes) {
    return { code: 'WSP_HEADERS_TOO_LARGE', reason: `request head of ${total} bytes (maxHeaderBytes ${l.maxHeaderBytes})` };
  }
  return undefined;
}

/** The name of a repeated field whose values joined with ", " exceed `limit`; undefined when none does. */
function mergedTooLong(rawHeaders: readonly string[], limit: number): string | undefined {
  const lengths = new Map<string, { name: string; length: number }>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const key = rawHeaders[i]!.toLowerCase();
    const seen = lengths.get(key);
    const value = rawHeaders[i + 1]!.length;
    if (seen === undefined) lengths.set(key, { name: rawHeaders[i]!, length: value });
    else {
      seen.length += 2 + value;
      if (seen.length > limit) return seen.name;
    }
  }
  return undefined;
}
