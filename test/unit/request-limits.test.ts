import { test } from 'node:test';
import assert from 'node:assert/strict';
import { overflowCode, parserFieldCount, parserHeadLimit, requestLimitProblem } from '../../src/http/request-limits.js';

const HTTPD = { maxRequestLineBytes: 8190, maxHeaderFieldBytes: 8190, maxHeaderFields: 100, maxHeaderBytes: 16384 };

test('the request line is measured as sent: method, target, version and two spaces', () => {
  const url = `/${'a'.repeat(8190 - 'GET / HTTP/1.1'.length)}`;
  assert.equal(requestLimitProblem('GET', url, '1.1', ['Host', 'p'], HTTPD), undefined);
  assert.equal(requestLimitProblem('GET', `${url}b`, '1.1', ['Host', 'p'], HTTPD)?.code, 'WSP_URI_TOO_LONG');
});

test('a field is "Name: value"; more fields than the limit, or a merged value over it, is 400', () => {
  const value = 'v'.repeat(8190 - 'X-A: '.length);
  assert.equal(requestLimitProblem('GET', '/', '1.1', ['X-A', value], HTTPD), undefined);
  assert.equal(requestLimitProblem('GET', '/', '1.1', ['X-A', `${value}v`], HTTPD)?.code, 'WSP_HEADER_LIMIT');
  const many = Array.from({ length: 101 }, (_, i) => [`X-${i}`, 'v']).flat();
  assert.equal(requestLimitProblem('GET', '/', '1.1', many.slice(0, 200), HTTPD), undefined);
  assert.match(requestLimitProblem('GET', '/', '1.1', many, HTTPD)!.reason, /more than 100 header fields/);
  assert.equal(requestLimitProblem('GET', '/', '1.1', many, { ...HTTPD, maxHeaderFields: 0 }), undefined);
  const half = 'c'.repeat(4100);
  assert.match(requestLimitProblem('GET', '/', '1.1', ['Cookie', half, 'cookie', half], { ...HTTPD, maxHeaderBytes: 65536 })!.reason, /Cookie .* merged/);
});

test('within every per-line limit, a head over maxHeaderBytes is 431', () => {
  const fields = ['A', 'a'.repeat(6000), 'B', 'b'.repeat(6000), 'C', 'c'.repeat(6000)];
  assert.equal(requestLimitProblem('GET', '/', '1.1', fields, HTTPD)?.code, 'WSP_HEADERS_TOO_LARGE');
  assert.equal(requestLimitProblem('GET', '/', '1.1', fields, { ...HTTPD, maxHeaderBytes: 32768 }), undefined);
});

test('the parser limit sits above every head the per-line limits allow', () => {
  assert.equal(parserHeadLimit(HTTPD), 8190 + 100 * 8190 + 1);
  assert.equal(parserFieldCount(HTTPD), 101);
  assert.equal(parserFieldCount({ ...HTTPD, maxHeaderFields: 0 }), 0);
  assert.equal(parserHeadLimit({ ...HTTPD, maxHeaderFields: 0 }), 16384 + 1);
  assert.equal(overflowCode({ ...HTTPD, maxHeaderFields: 0 }), 'WSP_HEADERS_TOO_LARGE');
  assert.equal(overflowCode(HTTPD), 'WSP_HEADER_LIMIT');
  assert.equal(overflowCode({ ...HTTPD, maxHeaderFields: 1, maxHeaderBytes: 1024 * 1024 }), 'WSP_HEADERS_TOO_LARGE');
});
