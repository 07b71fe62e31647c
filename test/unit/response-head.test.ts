// The strict response-head parser of the handshake fast path, fed raw wire bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResponseHead } from '../../src/tunnel/response-head.js';

const parse = (text: string, max = 16 * 1024) => parseResponseHead(Buffer.from(text, 'latin1'), max);

test('a complete 101 head: status, message, headers in order and case, and its length', () => {
  const head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection:Upgrade\r\nX-A:  spaced  \r\n\r\n';
  const r = parse(`${head}\x81\x02hi`);
  assert.equal(r.kind, 'head');
  if (r.kind !== 'head') return;
  assert.equal(r.length, head.length);
  assert.equal(r.head.statusCode, 101);
  assert.equal(r.head.statusMessage, 'Switching Protocols');
  assert.deepEqual(r.head.rawHeaders, ['Upgrade', 'websocket', 'Connection', 'Upgrade', 'X-A', 'spaced']);
});

test('a head still arriving is incomplete until its blank line, and invalid once it passes the limit', () => {
  assert.equal(parse('HTTP/1.1 101 Switching').kind, 'incomplete');
  assert.equal(parse('HTTP/1.1 101 OK\r\nUpgrade: x\r\n').kind, 'incomplete');
  const big = `HTTP/1.1 101 OK\r\nX: ${'a'.repeat(2000)}`;
  assert.equal(parse(big, 1024).kind, 'invalid');
  assert.equal(parse(`${big}\r\n\r\n`, 1024).kind, 'invalid');
});

test('an empty status message and HTTP/1.0 are accepted', () => {
  const r = parse('HTTP/1.0 403\r\n\r\n');
  assert.ok(r.kind === 'head' && r.head.statusCode === 403 && r.head.statusMessage === '');
});

test('anything off the grammar is invalid', () => {
  for (const bad of [
    'SSH-2.0-OpenSSH_9.0\r\n\r\n',
    'HTTP/2 101 OK\r\n\r\n',
    'HTTP/1.1 99 Low\r\n\r\n',
    'HTTP/1.1 1010 Long\r\n\r\n',
    'HTTP/1.1 101 OK\r\nNo colon here\r\n\r\n',
    'HTTP/1.1 101 OK\r\n: empty name\r\n\r\n',
    'HTTP/1.1 101 OK\r\nBad Name: x\r\n\r\n',
    'HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n folded: continuation\r\n\r\n',
    'HTTP/1.1 101 OK\r\nX: bare\nLF\r\n\r\n',
    'HTTP/1.1 101 OK\r\nX: nul\x00\r\n\r\n',
  ]) {
    assert.equal(parse(bad).kind, 'invalid', JSON.stringify(bad));
  }
});

test('bare LF line endings are invalid at once, even before the head is complete', () => {
  assert.equal(parse('HTTP/1.1 101 OK\nUpgrade: websocket\n\n').kind, 'invalid');
  assert.equal(parse('HTTP/1.1 101 OK\n').kind, 'invalid', 'no blank line yet: refused, not waited on');
  assert.equal(parse('HTTP/1.1 101 OK\r\nUpgrade: websocket\n').kind, 'invalid');
  // A CRLF split across reads is not a bare LF; an LF in the bytes after a complete head is not either.
  assert.equal(parse('HTTP/1.1 101 OK\r').kind, 'incomplete');
  const r = parse('HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n\r\n\n\x81\x01\n');
  assert.equal(r.kind, 'head');
});

test('a reason phrase with control characters is invalid; tabs and obs-text are not', () => {
  for (const reason of ['Switching\x01', 'a\x7fb', 'nul\x00', 'esc\x1b[0m']) {
    assert.equal(parse(`HTTP/1.1 101 ${reason}\r\n\r\n`).kind, 'invalid', JSON.stringify(reason));
  }
  const ok = parse('HTTP/1.1 200 O\tK \xe9\r\n\r\n');
  assert.ok(ok.kind === 'head' && ok.head.statusMessage === 'O\tK \xe9');
});
