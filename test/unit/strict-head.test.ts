import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { INCOMPLETE, readStrictHead, strictHeadMethods, type StrictHead } from '../../src/http/strict-head.js';
import { parserHeadLimit } from '../../src/http/request-limits.js';

const L = { maxRequestLineBytes: 256, maxHeaderFieldBytes: 512, maxHeaderFields: 10, maxHeaderBytes: 2048 };

function head(requestLine: string, fields: readonly string[]): string {
  return `${requestLine}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`;
}
const get = (fields: readonly string[], target = '/'): string => head(`GET ${target} HTTP/1.1`, ['Host: p.test', ...fields]);
const mine = (text: string): StrictHead => {
  const got = readStrictHead(text, L);
  assert.ok(got !== undefined && got !== INCOMPLETE, `not taken: ${JSON.stringify(text.slice(0, 200))}`);
  return got;
};
const notMine = (text: string, why: string): void => assert.equal(readStrictHead(text, L), undefined, why);

test('a plain upgrade head is read as node:http reports it, and where it ends is known', () => {
  const text = head('GET /chat?x=1 HTTP/1.1', ['Host: p.test:80', 'upgrade:websocket', 'Connection:  Upgrade \t', 'X-Empty:']);
  const got = mine(`${text}\x81\x80early`);
  assert.deepEqual(got, {
    method: 'GET',
    target: '/chat?x=1',
    httpVersion: '1.1',
    rawHeaders: ['Host', 'p.test:80', 'upgrade', 'websocket', 'Connection', 'Upgrade', 'X-Empty', ''],
    headBytes: text.length,
  });
});

test("the request line: a method node:http knows, an origin-form target, HTTP/1.1, single spaces", () => {
  assert.equal(mine(get([], '/a;b?c=%20&d=[]')).target, '/a;b?c=%20&d=[]');
  assert.equal(mine(head('M-SEARCH / HTTP/1.1', ['Host: p'])).method, 'M-SEARCH');
  notMine(head('get / HTTP/1.1', ['Host: p']), 'methods are case-sensitive');
  notMine(head('FOO / HTTP/1.1', ['Host: p']), 'a token llhttp does not know');
  notMine(head('CONNECT / HTTP/1.1', ['Host: p']), 'CONNECT goes to its own event');
  notMine(head('G(T / HTTP/1.1', ['Host: p']), 'not a token');
  notMine(get([], 'http://p.test/'), 'absolute-form');
  notMine(head('OPTIONS * HTTP/1.1', ['Host: p']), 'asterisk-form');
  notMine(get([], '/a#b'), 'a fragment');
  notMine(get([], '/a\x01b'), 'a control character in the target');
  notMine(get([], '/caf\xe9'), 'non-ASCII in the target');
  notMine(head('GET /a b HTTP/1.1', ['Host: p']), 'a space in the target');
  notMine(head('GET  / HTTP/1.1', ['Host: p']), 'two spaces');
  notMine(head('GET / HTTP/1.0', ['Host: p']), 'HTTP/1.0');
  notMine(head('GET / HTTP/1.2', ['Host: p']), 'HTTP/1.2');
  notMine(head('GET / http/1.1', ['Host: p']), 'lower-case version');
  notMine(head('GET / HTTP/1.1 ', ['Host: p']), 'a space after the version');
  notMine(`\r\n${get([])}`, 'an empty line first');
});

test('the methods are node:http\'s, but CONNECT', () => {
  assert.deepEqual([...strictHeadMethods()].sort(), http.METHODS.filter((m) => m !== 'CONNECT').sort());
});

test('field lines: token names, a colon right after, no obs-fold, no control but HTAB, CRLF only', () => {
  assert.deepEqual(mine(get(["X-!#$%&'*+-.^_`|~: v"])).rawHeaders.slice(2), ["X-!#$%&'*+-.^_`|~", 'v']);
  assert.deepEqual(mine(get(['X: a\t b\xe9 '])).rawHeaders.slice(2), ['X', 'a\t b\xe9']);
  notMine(get(['X : v']), 'a space before the colon');
  notMine(get(['X\t: v']), 'a tab before the colon');
  notMine(get(['X-A: a', ' b']), 'obs-fold');
  notMine(get(['X-A: a', '\tb']), 'obs-fold with a tab');
  notMine(get([': v']), 'an empty name');
  notMine(get(['X(: v']), 'a name that is not a token');
  notMine(get(['X']), 'no colon');
  notMine(get(['X: a\0b']), 'NUL');
  notMine(get(['X: a\x7fb']), 'DEL');
  notMine(get(['X: a\rb']), 'a bare CR in a value');
  notMine(get(['X: a\nb']), 'a bare LF in a value');
  notMine(get(['X: a']).replace('X: a\r\n', 'X: a\n'), 'a line ending in a bare LF');
  notMine(get([]).replaceAll('\r\n', '\n'), 'LF line endings');
});

test('no body: Content-Length, Transfer-Encoding and Expect are left to node:http', () => {
  notMine(get(['Content-Length: 0']), 'Content-Length: 0');
  notMine(get(['content-length: 5']), 'Content-Length');
  notMine(get(['Transfer-Encoding: chunked']), 'Transfer-Encoding');
  notMine(get(['Expect: 100-continue']), 'Expect');
});

test('exactly one valid Host', () => {
  mine(head('GET / HTTP/1.1', ['Host: [::1]:8080']));
  mine(head('GET / HTTP/1.1', ['Host:']));
  notMine(head('GET / HTTP/1.1', ['X: y']), 'no Host');
  notMine(head('GET / HTTP/1.1', ['Host: a', 'host: a']), 'two Host fields');
  notMine(head('GET / HTTP/1.1', ['Host: a b']), 'an invalid Host');
});

test('the request line limit, at it and one over', () => {
  const at = `/${'a'.repeat(256 - 'GET / HTTP/1.1'.length)}`;
  mine(get([], at));
  notMine(get([], `${at}a`), 'one over');
});

test('the field size limit ("Name: value", and a repeated field\'s merged value), at it and one over', () => {
  const value = 'v'.repeat(512 - 'X-Long: '.length);
  mine(get([`X-Long: ${value}`]));
  notMine(get([`X-Long: ${value}v`]), 'one over');
  mine(get([`X-M: ${'a'.repeat(250)}`, `X-M: ${'b'.repeat(260)}`]));
  notMine(get([`X-M: ${'a'.repeat(250)}`, `X-M: ${'b'.repeat(261)}`]), 'merged, one over');
});

test('the field count limit, at it and one over; 0 is no limit', () => {
  const nine = Array.from({ length: 9 }, (_, i) => `X-${i}: v`);
  mine(get(nine));
  notMine(get([...nine, 'X-9: v']), 'eleven fields');
  const many = Array.from({ length: 50 }, (_, i) => `X-${i}: v`);
  assert.notEqual(readStrictHead(get(many), { ...L, maxHeaderFields: 0 }), undefined);
});

test('the whole-head limit (target, names and values), at it and one over', () => {
  // '/' + 'Hostp.test' is 11; four fields of 'Fn' and 500 bytes bring it to 2019; the last one fills.
  const four = [0, 1, 2, 3].map((i) => `F${i}: ${'f'.repeat(500)}`);
  mine(get([...four, `F4: ${'f'.repeat(2048 - 2019 - 2)}`]));
  notMine(get([...four, `F4: ${'f'.repeat(2049 - 2019 - 2)}`]), 'one over');
});

test("node:http's own limit counts trailing blanks, which the other limits do not see", () => {
  const room = parserHeadLimit(L); // '/' + 'Hostp.test' + 'X' + 'v' and the blanks after it
  mine(get([`X: v${' '.repeat(room - 14)}`]));
  notMine(get([`X: v${' '.repeat(room - 13)}`]), 'at the parser limit');
});

test('a head without its blank line is incomplete, unless it is already not mine', () => {
  for (const text of ['', 'GE', 'GET /chat HTTP/1.', 'GET / HTTP/1.1\r', 'GET / HTTP/1.1\r\n', 'GET / HTTP/1.1\r\nHo', 'GET / HTTP/1.1\r\nHost: p\r\n\r']) {
    assert.equal(readStrictHead(text, L), INCOMPLETE, JSON.stringify(text));
  }
  notMine('get ', 'a bad method');
  notMine('GET / HTTP/1.0\r\n', 'a bad version');
  notMine('GET / HTTP/1.1\r\nHost: p\nX', 'a bare LF');
  notMine('GET / HTTP/1.1\r\nHost: p\rX', 'a bare CR');
  notMine('GET / HTTP/1.1\r\nContent-Length: 1\r\n', 'a body');
  notMine(`GET /${'a'.repeat(256)}`, 'a request line already over its limit');
  notMine(`GET / HTTP/1.1\r\nX-Long: ${'v'.repeat(512)}`, 'a field already over its limit');
  notMine(`GET / HTTP/1.1\r\n${'X: v\r\n'.repeat(10)}Y`, 'already more fields than the limit');
  notMine(`GET / HTTP/1.1\r\n${`X: ${'v'.repeat(500)}\r\n`.repeat(5)}`, 'already over maxHeaderBytes');
});
