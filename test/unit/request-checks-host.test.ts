// The Host check of requestHeadProblem (src/http/request-checks.ts): its scan for the usual `name:port`
// must answer exactly as the RFC 3986 expression it stands in front of, for any value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestHeadProblem } from '../../src/http/request-checks.js';
import { forwardedForValue } from '../../src/http/headers.js';

// uri-host [ ":" port ], as the check defines it.
const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

test('the Host check agrees with the RFC 3986 expression on fixed and random values', () => {
  const fixed = ['', 'example.com', 'example.com:8080', 'a:', ':80', '127.0.0.1:1', '[::1]:443', '[v1.x]', 'a b', 'a:b', 'a:1:2', 'é', '%41', 'x]', '[::1', 'a:80x'];
  const alphabet = 'aZ09.-_~!$&\'()*+,;=%:[]v@/ \té?#';
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const values = [...fixed];
  for (let k = 0; k < 5000; k++) {
    let v = '';
    const len = rnd(12);
    for (let j = 0; j < len; j++) v += alphabet[rnd(alphabet.length)];
    values.push(v);
  }
  for (const v of values) {
    const problem = requestHeadProblem('1.1', ['Host', v]);
    assert.equal(problem === undefined, HOST_VALUE.test(v.trim()), JSON.stringify(v));
  }
});

test('an IPv4-mapped peer is written as IPv4, other peers as they are', () => {
  assert.equal(forwardedForValue('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(forwardedForValue('::FFFF:10.0.0.1'), '10.0.0.1');
  assert.equal(forwardedForValue('127.0.0.1'), '127.0.0.1');
  assert.equal(forwardedForValue('::ffff:abcd'), '::ffff:abcd');
  assert.equal(forwardedForValue('2001:db8::1'), '2001:db8::1');
  assert.equal(forwardedForValue(undefined), 'unknown');
});
