// X-Forwarded-For over trusted hops (src/http/forwarded-for.ts) and the replace / append choice of what is
// sent on (src/http/headers.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCidrs, cidrProblem } from '../../src/config/cidr.js';
import { forwardedEntries, walkForwardedFor } from '../../src/http/forwarded-for.js';
import { forwardRequestHeaders } from '../../src/http/headers.js';

const trusted = compileCidrs(['10.0.0.0/8', '127.0.0.1', '2001:db8::/32']);

test('cidr ranges: addresses, prefixes and what is refused', () => {
  for (const ok of ['10.0.0.0/8', '127.0.0.1', '::1/128', '2001:db8::/32', '0.0.0.0/0']) assert.equal(cidrProblem(ok), undefined, ok);
  for (const bad of ['10.0.0.0/33', '::1/129', 'example.com', '10.0.0/8', '10.0.0.0/', '10.0.0.0/x', '']) assert.notEqual(cidrProblem(bad), undefined, bad);
  assert.equal(trusted('10.1.2.3'), true);
  assert.equal(trusted('::ffff:10.1.2.3'), true, 'IPv4-mapped');
  assert.equal(trusted('11.0.0.1'), false);
  assert.equal(trusted('2001:db8::9'), true);
  assert.equal(trusted('not an address'), false);
  assert.equal(compileCidrs([])('127.0.0.1'), false);
});

test('an untrusted peer is the client; its X-Forwarded-For is not believed', () => {
  assert.deepEqual(walkForwardedFor('192.0.2.1', '6.6.6.6', trusted), { client: '192.0.2.1', vouched: [] });
});

test('from a trusted peer the header is walked from the right, skipping trusted hops', () => {
  assert.deepEqual(walkForwardedFor('127.0.0.1', '6.6.6.6, 198.51.100.7, 10.0.0.5', trusted), {
    client: '198.51.100.7',
    vouched: ['198.51.100.7', '10.0.0.5'],
  });
  // Every hop trusted: the leftmost is the client.
  assert.deepEqual(walkForwardedFor('127.0.0.1', '10.0.0.9,10.0.0.5', trusted), { client: '10.0.0.9', vouched: ['10.0.0.9', '10.0.0.5'] });
  // No header: the peer.
  assert.deepEqual(walkForwardedFor('127.0.0.1', undefined, trusted), { client: '127.0.0.1', vouched: [] });
});

test('an entry that is not an address ends the walk at the hop that passed it on', () => {
  assert.deepEqual(walkForwardedFor('127.0.0.1', '6.6.6.6, junk, 10.0.0.5', trusted), { client: '10.0.0.5', vouched: ['10.0.0.5'] });
  assert.deepEqual(walkForwardedFor('127.0.0.1', 'unknown', trusted), { client: '127.0.0.1', vouched: [] });
  assert.deepEqual(forwardedEntries(' a ,, b,'), ['a', 'b']);
});

const opts = {
  host: 'p',
  backendHostHeader: 'b',
  preserveHost: false,
  forwardedHeaders: true,
  serverName: 's',
  clientProto: 'http' as const,
};

test('replaceForwardedFor drops every X-Forwarded-For line of the client and sends the value given', () => {
  const out = forwardRequestHeaders(['X-Forwarded-For', '6.6.6.6', 'Host', 'p', 'x-forwarded-for', '7.7.7.7'], {
    ...opts,
    clientIp: '198.51.100.7, 127.0.0.1',
    replaceForwardedFor: true,
  });
  const xff = out.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === 'x-forwarded-for' ? [out[i + 1]] : []));
  assert.deepEqual(xff, ['198.51.100.7, 127.0.0.1']);
  const appended = forwardRequestHeaders(['X-Forwarded-For', '6.6.6.6', 'Host', 'p'], { ...opts, clientIp: '127.0.0.1' });
  assert.equal(appended[appended.indexOf('X-Forwarded-For') + 1], '6.6.6.6, 127.0.0.1');
});
