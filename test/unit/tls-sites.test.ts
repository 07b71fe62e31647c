// Which TLS virtual host a name selects, and when a Host is misdirected (httpd's AH02032 rule).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TlsSites } from '../../src/tls/tls-sites.js';

const tls = {
  names: ['a.example'],
  certFile: '/t/a.pem',
  keyFile: '/t/a.key',
  hosts: [
    { names: ['b.example', '*.b.example'], certFile: '/t/b.pem', keyFile: '/t/b.key' },
    // Same certificate and key as a, another chain: the same setup for httpd (the chain is not compared).
    { names: ['c.example'], certFile: '/t/a.pem', keyFile: '/t/a.key', chainFile: '/t/chain.pem' },
    { names: ['*.example'], certFile: '/t/w.pem', keyFile: '/t/w.key' },
  ],
  sni: { 'd.example': { certFile: '/t/d.pem', keyFile: '/t/d.key' } },
};

test('a name selects the first host whose names match, in the order default, hosts, sni; no match is the default', () => {
  const sites = new TlsSites(tls);
  assert.equal(sites.indexFor('a.example'), 0);
  assert.equal(sites.indexFor('B.Example.:443'), 1, 'case, trailing dot and port do not matter');
  assert.equal(sites.indexFor('x.y.b.example'), 1);
  assert.equal(sites.indexFor('c.example'), 2);
  assert.equal(sites.indexFor('d.example'), 3, 'the wildcard host comes before the sni short form');
  assert.equal(sites.indexFor('e.example'), 3);
  assert.equal(sites.indexFor('other.test'), 0);
  assert.equal(sites.sites.length, 5);
});

test('misdirected: Host names a host with other certificate or key files than the SNI chose; no Host with SNI; nothing without SNI', () => {
  const sites = new TlsSites(tls);
  assert.equal(sites.check('a.example', 'b.example'), 'misdirected');
  assert.equal(sites.check('b.example', 'other.test'), 'misdirected', 'an unknown Host is the default host');
  assert.equal(sites.check('a.example', 'c.example'), undefined, 'same certificate and key');
  assert.equal(sites.check('other.test', 'a.example:443'), undefined, 'an unknown SNI name is the default host');
  assert.equal(sites.check('x.b.example', 'B.example'), undefined);
  assert.equal(sites.check('a.example', undefined), 'no-host');
  assert.equal(sites.check(false, 'b.example'), undefined);
  assert.equal(sites.check(undefined, undefined), undefined);
});

test('names that are not host name patterns are reported with their key path', () => {
  const issues = TlsSites.issues(
    { certFile: 'a', keyFile: 'b', hosts: [{ names: ['ok.example', 'a.*.example'], certFile: 'c', keyFile: 'd' }], sni: { 'x:443': { certFile: 'e', keyFile: 'f' } } },
    ['listen', 0, 'tls'],
  );
  assert.deepEqual(
    issues.map((i) => i.path),
    [
      ['listen', 0, 'tls', 'hosts', 0, 'names', 1],
      ['listen', 0, 'tls', 'sni', 'x:443'],
    ],
  );
  assert.match(issues[0]!.message, /only a leading "\*\." wildcard/);
});
