// Request-target normalisation and backend path encoding (src/routing/normalize-path.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePath, normalizeTarget } from '../../src/routing/normalize-path.js';

function path(url: string): string | undefined {
  return normalizeTarget(url)?.path;
}

test('a plain origin-form target is returned as is, query split off raw', () => {
  assert.deepEqual(normalizeTarget('/ws/chat'), { path: '/ws/chat', query: '' });
  assert.deepEqual(normalizeTarget('/ws/chat?room=a%20b&x=%2F'), { path: '/ws/chat', query: 'room=a%20b&x=%2F' });
  assert.deepEqual(normalizeTarget('/'), { path: '/', query: '' });
  assert.deepEqual(normalizeTarget('/?'), { path: '/', query: '' });
  assert.deepEqual(normalizeTarget('/a?b?c'), { path: '/a', query: 'b?c' });
});

test('the query is passed through untouched, even with escapes the path would refuse', () => {
  assert.equal(normalizeTarget('/a?x=%00&y=%zz&z=..%2F')?.query, 'x=%00&y=%zz&z=..%2F');
});

test('a fragment is ignored', () => {
  assert.deepEqual(normalizeTarget('/a/b#frag'), { path: '/a/b', query: '' });
  assert.deepEqual(normalizeTarget('/a?q=1#frag?x'), { path: '/a', query: 'q=1' });
});

test('percent-encoding is decoded, including UTF-8 sequences', () => {
  assert.equal(path('/caf%C3%A9'), '/café');
  assert.equal(path('/caf%c3%a9'), '/café');
  assert.equal(path('/a%20b'), '/a b');
  assert.equal(path('/%E2%82%AC/%F0%9F%98%80'), '/€/😀');
  assert.equal(path('/a%3Fb%23c%25d'), '/a?b#c%d');
});

test('dot segments are removed (RFC 3986 §5.2.4)', () => {
  assert.equal(path('/ws/../x'), '/x');
  assert.equal(path('/a/b/c/./../../g'), '/a/g');
  assert.equal(path('/a/./b'), '/a/b');
  assert.equal(path('/a/b/..'), '/a/');
  assert.equal(path('/a/b/.'), '/a/b/');
  assert.equal(path('/a/..'), '/');
  assert.equal(path('/.'), '/');
  assert.equal(path('/..'), '/');
  assert.equal(path('/a/.../b'), '/a/.../b', '"..." is an ordinary segment');
  assert.equal(path('/a/..b/c.'), '/a/..b/c.', 'dots inside a segment are kept');
});

test('.. never climbs above the root', () => {
  assert.equal(path('/../../etc/passwd'), '/etc/passwd');
  assert.equal(path('/ws/../../../x'), '/x');
});

test('encoded dots are decoded before dot segments are removed', () => {
  assert.equal(path('/ws/%2e%2e/admin'), '/admin');
  assert.equal(path('/ws/%2E%2E/%2E/admin'), '/admin');
  assert.equal(path('/ws/.%2e/admin'), '/admin');
});

test('repeated slashes are merged (MergeSlashes)', () => {
  assert.equal(path('//ws///chat'), '/ws/chat');
  assert.equal(path('/ws//'), '/ws/');
  assert.equal(path('//'), '/');
  assert.equal(path('/a//../b'), '/b', 'merged first, so .. removes the one real segment');
});

test('absolute-form is accepted: its path is used and its authority returned', () => {
  assert.deepEqual(normalizeTarget('http://Example.com:8080/a/../b?q'), {
    path: '/b',
    query: 'q',
    authority: 'Example.com:8080',
  });
  assert.deepEqual(normalizeTarget('https://h'), { path: '/', query: '', authority: 'h' });
  assert.deepEqual(normalizeTarget('HTTP://h?x=1'), { path: '/', query: 'x=1', authority: 'h' });
  assert.deepEqual(normalizeTarget('http://[::1]:80/x'), { path: '/x', query: '', authority: '[::1]:80' });
});

test('other target forms are refused', () => {
  for (const url of ['', '*', 'example.com:443', 'ws', 'a/b', 'ftp://h/x', 'http://user@h/x', 'http:///x', 'http:/h/x']) {
    assert.equal(normalizeTarget(url), null, url);
  }
});

test('invalid percent-encoding is refused', () => {
  for (const url of ['/a%', '/a%2', '/a%zz', '/a%2g', '/%%41', '/a%-1']) assert.equal(normalizeTarget(url), null, url);
});

test('an encoded slash is refused (AllowEncodedSlashes Off)', () => {
  assert.equal(normalizeTarget('/ws%2Fchat'), null);
  assert.equal(normalizeTarget('/ws%2fchat'), null);
  assert.equal(normalizeTarget('/a/..%2F..%2Fetc'), null);
});

test('encoded NUL and control characters are refused', () => {
  for (const url of ['/a%00b', '/a%0Ab', '/a%0d%0aX-Injected:%201', '/a%1Fb', '/a%7Fb', '/a%09']) {
    assert.equal(normalizeTarget(url), null, url);
  }
});

test('raw controls, spaces and non-ASCII are refused in path and query', () => {
  for (const url of ['/a b', '/a\tb', '/a\r\nb', '/a\u0000', '/café', '/a\u007f', '/a?x y', '/a?x\r\n', '/a?é']) {
    assert.equal(normalizeTarget(url), null, JSON.stringify(url));
  }
});

test('bytes that are not UTF-8 once decoded are refused', () => {
  for (const url of ['/%C3', '/%C3%28', '/%FF', '/%E2%82', '/%ED%A0%80' /* surrogate */, '/%C0%AF' /* overlong "/" */]) {
    assert.equal(normalizeTarget(url), null, url);
  }
});

test('a long escaped path decodes (no argument-count limits)', () => {
  const long = '/' + '%41'.repeat(200_000);
  assert.equal(path(long), '/' + 'A'.repeat(200_000));
});

test('encodePath keeps / and pchar characters', () => {
  const pchars = "/az/AZ/09/-._~/!$&'()*+,;=/:@";
  assert.equal(encodePath(pchars), pchars);
  assert.equal(encodePath('/ws/chat'), '/ws/chat');
});

test('encodePath percent-encodes everything else, non-ASCII as UTF-8', () => {
  assert.equal(encodePath('/a b'), '/a%20b');
  assert.equal(encodePath('/a?b#c%d'), '/a%3Fb%23c%25d');
  assert.equal(encodePath('/café'), '/caf%C3%A9');
  assert.equal(encodePath('/😀"<>[]\\^`{|}'), '/%F0%9F%98%80%22%3C%3E%5B%5D%5C%5E%60%7B%7C%7D');
});

test('encodePath undoes normalizeTarget decoding (round trip)', () => {
  for (const url of ['/caf%C3%A9/a%20b', '/a%3Fb%23c%25d', '/x/%E2%82%AC']) {
    const decoded = path(url)!;
    assert.equal(encodePath(decoded), url);
    assert.equal(path(encodePath(decoded)), decoded);
  }
});
