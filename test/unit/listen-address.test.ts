// Listener address parsing and the normalisation of the `listen` union.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_INTERFACES, parseListenAddress, resolveListeners } from '../../src/config/listen-address.js';
import { configSchema } from '../../src/config/schema.js';

test('host:port, [ipv6]:port and :port', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListenAddress('localhost:80'), { host: 'localhost', port: 80 });
  assert.deepEqual(parseListenAddress('proxy.example.com:443'), { host: 'proxy.example.com', port: 443 });
  assert.deepEqual(parseListenAddress('[::1]:9000'), { host: '::1', port: 9000 });
  assert.deepEqual(parseListenAddress('[::]:9000'), { host: '::', port: 9000 });
  assert.deepEqual(parseListenAddress('[fe80::1%eth0]:9000'), { host: 'fe80::1%eth0', port: 9000 });
  assert.deepEqual(parseListenAddress(':8080'), { host: '0.0.0.0', port: 8080 });
  assert.equal(ALL_INTERFACES, '0.0.0.0');
});

test('port bounds: 0 (a free port) and 65535 are allowed, 65536 is not', () => {
  assert.equal(parseListenAddress('127.0.0.1:0').port, 0);
  assert.equal(parseListenAddress(':65535').port, 65535);
  assert.throws(() => parseListenAddress(':65536'), {
    message:
      'invalid listen address ":65536": port 65536 is out of range; expected "host:port", "[ipv6]:port" or ' +
      '":port" (all IPv4 interfaces) with a port from 0 to 65535 (0 picks a free port)',
  });
});

test('each malformed address names what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['8080', /^invalid listen address "8080": the port is missing \(write ":8080" for every interface\); expected /],
    ['localhost', /: the port is missing; expected "host:port"/],
    ['localhost:', /: the port is missing; expected/],
    ['localhost:http', /: port "http" is not a number; expected/],
    ['localhost:-1', /: port "-1" is not a number; expected/],
    ['::1:8080', /: an IPv6 address must be written in brackets, as "\[::1\]:8080"; expected/],
    ['[::1:8080', /: the "\[" of an IPv6 address is not closed; expected/],
    ['[::1]8080', /: a ":port" must follow the "\]"; expected/],
    ['[1.2.3.4]:80', /: "1.2.3.4" is not an IPv6 address; expected/],
    ['[gg::1]:80', /: "gg::1" is not an IPv6 address; expected/],
    ['256.1.1.1:80', /: "256.1.1.1" is not a host name or IPv4 address; expected/],
    ['bad_host:80', /: "bad_host" is not a host name or IPv4 address; expected/],
    [' :80', /: it contains white space; expected/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parseListenAddress(input), { name: 'Error', message }, input);
  }
});

test('resolveListeners flattens a string, a list of strings and { address, tls }', () => {
  const one = configSchema.parse({ listen: ':80', routes: [{ path: '/', backend: 'ws://b/' }] });
  assert.deepEqual(resolveListeners(one), [{ address: ':80', host: '0.0.0.0', port: 80 }]);

  const tls = { certFile: 'a.crt', keyFile: 'a.key', sni: { 'x.example': { certFile: 'x.crt', keyFile: 'x.key' } } };
  const many = configSchema.parse({
    listen: ['127.0.0.1:0', { address: '[::1]:8443', tls }, { address: ':8080' }],
    routes: [{ path: '/', backend: 'ws://b/' }],
  });
  assert.deepEqual(resolveListeners(many), [
    { address: '127.0.0.1:0', host: '127.0.0.1', port: 0 },
    { address: '[::1]:8443', host: '::1', port: 8443, tls },
    { address: ':8080', host: '0.0.0.0', port: 8080 },
  ]);
  assert.equal('tls' in (resolveListeners(many)[2] ?? {}), false);
});
