// Canned error answers, the same bytes whether written through a ServerResponse (plain HTTP path) or onto a
// raw socket (the upgrade path, where node:http has already let go of the connection).
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERRORS, type ErrorCode } from '../errors.js';

/** What a 405 says is allowed: every method a reverse proxy passes on (CONNECT is the one it does not). */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE';

/**
 * How long an answered connection may stay open after our error response, reading and discarding what the
 * client still sends: closing with unread input makes the kernel send RST, which can destroy the response
 * before the client reads it (the lingering close of Apache and nginx).
 */
const LINGER_MS = 2_000;

function body(code: ErrorCode, status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}: ${ERRORS[code].reason} (${code})\n`;
}

function extraHeaders(code: ErrorCode, retryAfterS: number | undefined): [string, string][] {
  const headers: [string, string][] = [];
  if (code === 'WSP_UPGRADE_ONLY') headers.push(['Upgrade', 'websocket'], ['Connection', 'Upgrade']);
  if (code === 'WSP_CONNECT_METHOD') headers.push(['Allow', ALLOWED_METHODS]);
  if (retryAfterS !== undefined) headers.push(['Retry-After', String(retryAfterS)]);
  return headers;
}

/**
 * The full response bytes for `code`, for a socket that node:http no longer manages. `close` adds
 * `Connection: close`; the caller then ends the socket.
 */
export function rawErrorResponse(code: ErrorCode, opts: { close: boolean; retryAfterS?: number; status?: number }): Buffer {
  const status = opts.status ?? ERRORS[code].status;
  const text = body(code, status);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  head += 'Content-Type: text/plain; charset=utf-8\r\n';
  head += `Content-Length: ${Buffer.byteLength(text)}\r\n`;
  head += `X-Wspass-Error: ${code}\r\n`;
  for (const [k, v] of extraHeaders(code, opts.retryAfterS)) head += `${k}: ${v}\r\n`;
  head += opts.close ? 'Connection: close\r\n' : 'Connection: keep-alive\r\n';
  return Buffer.from(`${head}\r\n${text}`, 'latin1');
}

/** Writes the error (with `status` instead of the code's own, for WSP_FIXED_STATUS) and closes the socket once it is flushed. */
export function endSocketWithError(socket: Duplex, code: ErrorCode, retryAfterS?: number, status?: number): void {
  if (socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(rawErrorResponse(code, { close: true, retryAfterS, status }));
  lingerThenDestroy(socket);
}

/** Discards further input until the client closes, or for LINGER_MS at most. */
export function lingerThenDestroy(socket: Duplex): void {
  socket.on('data', discard);
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  // Our end() closes only our half; the socket is destroyed once the client's FIN is read too (autoDestroy).
  socket.once('close', () => clearTimeout(timer));
}

function discard(): void {}

/**
 * Answers through node:http; `close` asks node to close the connection after the response; `status` replaces
 * the code's own (a route's `respond`).
 */
export function sendError(res: ServerResponse, code: ErrorCode, opts: { close?: boolean; retryAfterS?: number; status?: number } = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = opts.status ?? ERRORS[code].status;
  const text = body(code, status);
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.setHeader('X-Wspass-Error', code);
  for (const [k, v] of extraHeaders(code, opts.retryAfterS)) res.setHeader(k, v);
  if (opts.close) res.setHeader('Connection', 'close');
  res.end(text);
}
