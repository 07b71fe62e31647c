// A strict parser of one HTTP/1.1 response head, for the backend handshake's fast path: the 101 is by
// far the common answer, and reading it here instead of through node:http's ClientRequest saves 100-200
// µs of CPU per handshake (measured). Anything it does not accept is an error; bodies are never parsed
// here (a non-101 answer goes to llhttp).
//
// Lines must end in CRLF: a bare LF is refused at once, not waited on. Parsers that disagree about where a
// head ends are how responses get split or smuggled, and a backend that writes bare LF is broken anyway.

import { FIELD_TEXT, TOKEN } from '../http/field-syntax.js';

// The reason phrase allows the characters of FIELD_TEXT (RFC 9112 §4), no other controls.
const STATUS_LINE = /^HTTP\/1\.[01] ([1-9][0-9]{2})(?: ([\t\x20-\x7e\x80-\xff]*))?$/;

export interface ResponseHead {
  readonly statusCode: number;
  readonly statusMessage: string;
  /** Flat [name, value, ...] list in received order and case, values trimmed. */
  readonly rawHeaders: string[];
}

export type HeadParse =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'head'; readonly head: ResponseHead; readonly length: number };

/** Parses the head at the start of `buf`; `length` is its size including the blank line. */
export function parseResponseHead(buf: Buffer, maxHeaderBytes: number): HeadParse {
  const end = buf.indexOf('\r\n\r\n');
  const lf = bareLf(buf, end < 0 ? buf.length : end);
  if (lf >= 0) return { kind: 'invalid', reason: `bare LF in the response head at byte ${lf}` };
  if (end < 0) {
    return buf.length > maxHeaderBytes
      ? { kind: 'invalid', reason: `response head larger than ${maxHeaderBytes} bytes` }
      : { kind: 'incomplete' };
  }
  const length = end + 4;
  if (length > maxHeaderBytes) return { kind: 'invalid', reason: `response head larger than ${maxHeaderBytes} bytes` };
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const status = STATUS_LINE.exec(lines[0] ?? '');
  if (!status) return { kind: 'invalid', reason: `invalid status line ${JSON.stringify((lines[0] ?? '').slice(0, 60))}` };
  const rawHeaders: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    // No colon, a bare CR/LF inside the line, or a leading space (obs-fold) are all refused.
    if (colon <= 0) return { kind: 'invalid', reason: `invalid header line ${JSON.stringify(line.slice(0, 60))}` };
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name) || !FIELD_TEXT.test(value)) {
      return { kind: 'invalid', reason: `invalid header line ${JSON.stringify(line.slice(0, 60))}` };
    }
    rawHeaders.push(name, value);
  }
  return { kind: 'head', length, head: { statusCode: Number(status[1]), statusMessage: status[2] ?? '', rawHeaders } };
}

/** Offset of the first LF not preceded by CR in buf[0, end), or -1. */
function bareLf(buf: Buffer, end: number): number {
  let i = buf.indexOf(0x0a);
  while (i >= 0 && i < end) {
    if (i === 0 || buf[i - 1] !== 0x0d) return i;
    i = buf.indexOf(0x0a, i + 1);
  }
  return -1;
}
