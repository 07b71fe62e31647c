import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyDelimiter, requestFraming, requestHasBody } from '../../src/http/request-framing.js';
import { requestHeadProblem } from '../../src/http/request-checks.js';

test('requestFraming reads Content-Length and Transfer-Encoding as RFC 9112 §6.3 says', () => {
  assert.deepEqual(requestFraming([]), { kind: 'none' });
  assert.deepEqual(requestFraming(['Content-Length', '0']), { kind: 'none' });
  assert.deepEqual(requestFraming(['Content-Length', '12']), { kind: 'length', length: 12 });
  assert.deepEqual(requestFraming(['Content-Length', '5', 'content-length', '5']), { kind: 'length', length: 5 });
  assert.deepEqual(requestFraming(['Transfer-Encoding', 'gzip, chunked']), { kind: 'chunked' });
  for (const bad of [
    ['Transfer-Encoding', 'identity'],
    ['Transfer-Encoding', 'chunked, gzip'],
    ['Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'],
    ['Transfer-Encoding', 'chunked', 'Content-Length', '3'],
    ['Content-Length', '5', 'Content-Length', '6'],
    ['Content-Length', '-1'],
    ['Content-Length', '1e3'],
  ]) {
    assert.equal(requestFraming(bad).kind, 'invalid', bad.join(': '));
  }
});

test('requestHasBody: Content-Length: 0 is no body, on every path', () => {
  assert.equal(requestHasBody(['Content-Length', '0']), false);
  assert.equal(requestHasBody(['Content-Length', '1']), true);
  assert.equal(requestHasBody(['Transfer-Encoding', 'chunked']), true);
  assert.equal(requestHasBody(['Host', 'a']), false);
});

function delimit(framing: Parameters<typeof requestFraming>[0], parts: string[]) {
  const f = requestFraming(framing);
  assert.ok(f.kind === 'length' || f.kind === 'chunked');
  const d = new BodyDelimiter(f);
  let body = '';
  for (const p of parts) {
    const r = d.feed(Buffer.from(p, 'latin1'));
    if (r.kind === 'invalid') return { error: r.reason };
    if (r.kind === 'more') body += p;
    else return { body: body + p.slice(0, r.bodyEnd), rest: p.slice(r.bodyEnd) };
  }
  return { incomplete: body };
}

test('BodyDelimiter finds the end of a length body across reads', () => {
  assert.deepEqual(delimit(['Content-Length', '5'], ['he', 'll']), { incomplete: 'hell' });
  assert.deepEqual(delimit(['Content-Length', '5'], ['he', 'llo', 'NEXT']), { body: 'hello', rest: '' });
  assert.deepEqual(delimit(['Content-Length', '5'], ['he', 'lloNEXT']), { body: 'hello', rest: 'NEXT' });
});

test('BodyDelimiter finds the end of a chunked body, split at every byte', () => {
  const body = '5\r\nhello\r\na;name="v"\r\n0123456789\r\n0\r\nTrailer-A: 1\r\n\r\n';
  const whole = body + 'AFTER';
  // Byte by byte up to `cut`, then the rest in one read: the end is found wherever the reads split.
  for (let cut = 0; cut < body.length; cut++) {
    const parts = [...whole.slice(0, cut)].concat(whole.slice(cut));
    assert.deepEqual(delimit(['Transfer-Encoding', 'chunked'], parts), { body, rest: 'AFTER' }, `cut ${cut}`);
  }
});

test('BodyDelimiter refuses what a lenient parser would smuggle through', () => {
  const chunked = ['Transfer-Encoding', 'chunked'];
  for (const bad of ['zz\r\n', '5\nhello\r\n', '5\r\nhelloX\r\n', '\r\n', '0\r\n\n', '0\r\nA: 1\n\r\n', '5\r\x00', 'fffffffffffffff\r\n', '3;\x01\r\n']) {
    const r = delimit(chunked, [bad]);
    assert.ok('error' in r, `${JSON.stringify(bad)} refused`);
  }
  assert.deepEqual(delimit(chunked, ['0\r\n\r\n']), { body: '0\r\n\r\n', rest: '' });
});

test('requestHeadProblem: Host rules of RFC 9112 §3.2 and framing', () => {
  assert.equal(requestHeadProblem('1.1', ['Host', 'a.example:8080']), undefined);
  assert.equal(requestHeadProblem('1.1', ['Host', '[::1]:80']), undefined);
  assert.equal(requestHeadProblem('1.1', ['Host', '']), undefined);
  assert.equal(requestHeadProblem('1.0', []), undefined);
  assert.equal(requestHeadProblem('1.1', []), 'no Host header');
  assert.equal(requestHeadProblem('1.1', ['Host', 'a', 'host', 'a']), 'more than one Host header');
  for (const bad of ['a b', 'a/b', 'a@b', 'a:b:c', '[zz]', 'a\tb']) {
    assert.equal(requestHeadProblem('1.1', ['Host', bad]), 'invalid Host header', bad);
  }
  assert.match(requestHeadProblem('1.1', ['Host', 'a', 'Transfer-Encoding', 'identity']) ?? '', /final coding/);
});
