// Header rules (src/http/headers.ts): token lists, hop-by-hop removal, X-Forwarded-*, head serialisation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  rawHeaderValue,
  HOP_BY_HOP,
  forwardRequestHeaders,
  forwardResponseHeaders,
  forwardedForValue,
  hasToken,
  serializeRequestHead,
  serializeResponseHead,
  tokenList,
  upgradeProtocols,
  type ForwardRequestOptions,
} from '../../src/http/headers.js';

const base: ForwardRequestOptions = {
  host: 'proxy.example.com',
  backendHostHeader: 'backend:9080',
  preserveHost: false,
  forwardedHeaders: false,
  clientIp: '203.0.113.7',
  serverName: 'wspass-1',
  clientProto: 'https',
};

/** [name, value] pairs, easier to read in assertions than the flat list. */
function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

// A browser's WebSocket handshake as node:http's rawHeaders gives it.
const browserHandshake = [
  'Host', 'proxy.example.com',
  'Connection', 'keep-alive, Upgrade',
  'Pragma', 'no-cache',
  'Upgrade', 'websocket',
  'Origin', 'https://app.example.com',
  'Sec-WebSocket-Version', '13',
  'Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits',
  'Keep-Alive', 'timeout=5',
  'cookie', 'a=1',
  'Cookie', 'b=2',
];

test('tokenList trims, lower-cases and drops empty elements', () => {
  assert.deepEqual(tokenList('keep-alive, Upgrade'), ['keep-alive', 'upgrade']);
  assert.deepEqual(tokenList(' ,Upgrade ,, X-Foo,'), ['upgrade', 'x-foo']);
  assert.deepEqual(tokenList(''), []);
  assert.deepEqual(tokenList(undefined), []);
});

test('hasToken finds a whole token case-insensitively, in a string or a list of lines', () => {
  assert.ok(hasToken('keep-alive, Upgrade', 'upgrade'));
  assert.ok(hasToken('UPGRADE', 'Upgrade'));
  assert.ok(hasToken(' upgrade\t', 'upgrade'));
  assert.ok(hasToken(['keep-alive', 'x, upgrade'], 'upgrade'));
  assert.ok(!hasToken('keep-alive, upgrades', 'upgrade'), 'not a substring match');
  assert.ok(!hasToken('keep-alive, x-upgrade', 'upgrade'));
  assert.ok(!hasToken('up grade', 'upgrade'));
  assert.ok(!hasToken('', 'upgrade'));
  assert.ok(!hasToken(undefined, 'upgrade'));
  assert.ok(!hasToken([], 'upgrade'));
});

test('upgradeProtocols returns the lower-cased protocol names of an Upgrade list', () => {
  assert.deepEqual(upgradeProtocols('WebSocket'), ['websocket']);
  assert.deepEqual(upgradeProtocols('HTTP/2.0, SHTTP/1.3, IRC/6.9, RTA/x11'), ['http', 'shttp', 'irc', 'rta']);
  assert.deepEqual(upgradeProtocols('h2c , websocket'), ['h2c', 'websocket']);
  assert.deepEqual(upgradeProtocols('/1.0, ,x'), ['x']);
  assert.deepEqual(upgradeProtocols(undefined), []);
});

test('HOP_BY_HOP is the RFC 9110 set plus Trailer; proxy auth headers are end-to-end', () => {
  assert.deepEqual(
    [...HOP_BY_HOP].sort(),
    ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'],
  );
  assert.ok(!HOP_BY_HOP.has('proxy-authorization'));
  assert.ok(!HOP_BY_HOP.has('proxy-authenticate'));
});

test('forwardedForValue unmaps IPv4-mapped IPv6 and names an unknown peer', () => {
  assert.equal(forwardedForValue('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(forwardedForValue('::FFFF:10.1.2.3'), '10.1.2.3');
  assert.equal(forwardedForValue('2001:db8::1'), '2001:db8::1');
  assert.equal(forwardedForValue('::ffff:abcd'), '::ffff:abcd', 'not a mapped IPv4');
  assert.equal(forwardedForValue('192.0.2.1'), '192.0.2.1');
  assert.equal(forwardedForValue(undefined), 'unknown');
});

test('request: hop-by-hop dropped, order and case kept, Host set to the backend, Upgrade rebuilt', () => {
  const out = forwardRequestHeaders(browserHandshake, { ...base, upgrade: 'websocket' });
  assert.deepEqual(pairs(out), [
    ['Host', 'backend:9080'],
    ['Pragma', 'no-cache'],
    ['Origin', 'https://app.example.com'],
    ['Sec-WebSocket-Version', '13'],
    ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
    ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
    ['cookie', 'a=1'],
    ['Cookie', 'b=2'],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
  ]);
});

test('request: headers named in Connection are dropped, whatever their case and however many lines', () => {
  const raw = [
    'Host', 'h',
    'Connection', 'keep-alive, X-Foo',
    'connection', 'x-bar',
    'x-foo', '1',
    'X-BAR', '2',
    'X-Baz', '3',
    'TE', 'trailers',
    'Trailer', 'X-Checksum',
    'Proxy-Connection', 'keep-alive',
    'Proxy-Authorization', 'Basic eDp5',
  ];
  assert.deepEqual(pairs(forwardRequestHeaders(raw, base)), [
    ['Host', 'backend:9080'],
    ['X-Baz', '3'],
    ['Proxy-Authorization', 'Basic eDp5'],
  ]);
});

test('request: Connection cannot remove Host or Content-Length', () => {
  const raw = ['Host', 'h', 'Connection', 'host, content-length, x-a', 'Content-Length', '5', 'X-A', '1'];
  assert.deepEqual(pairs(forwardRequestHeaders(raw, base)), [
    ['Host', 'backend:9080'],
    ['Content-Length', '5'],
  ]);
});

test('request: preserveHost sends the client Host; without one it falls back to the backend host', () => {
  const raw = ['host', 'Proxy.Example.com:8443', 'Accept', '*/*'];
  assert.deepEqual(pairs(forwardRequestHeaders(raw, { ...base, host: 'Proxy.Example.com:8443', preserveHost: true })), [
    ['host', 'Proxy.Example.com:8443'],
    ['Accept', '*/*'],
  ]);
  const noHost = ['Accept', '*/*'];
  assert.deepEqual(pairs(forwardRequestHeaders(noHost, { ...base, host: undefined, preserveHost: true })), [
    ['Host', 'backend:9080'],
    ['Accept', '*/*'],
  ]);
});

test('request: a second Host line is dropped', () => {
  const raw = ['Host', 'a', 'X', '1', 'Host', 'evil'];
  assert.deepEqual(pairs(forwardRequestHeaders(raw, { ...base, host: 'a', preserveHost: true })), [
    ['Host', 'a'],
    ['X', '1'],
  ]);
});

test('request: X-Forwarded-* appended to the client values, X-Forwarded-Proto replaced', () => {
  const raw = [
    'Host', 'proxy.example.com',
    'X-Forwarded-For', '198.51.100.1',
    'x-forwarded-for', '198.51.100.2',
    'X-Forwarded-Host', 'edge.example.com',
    'X-Forwarded-Proto', 'http',
    'Accept', '*/*',
  ];
  assert.deepEqual(pairs(forwardRequestHeaders(raw, { ...base, forwardedHeaders: true })), [
    ['Host', 'backend:9080'],
    ['X-Forwarded-For', '198.51.100.1'],
    ['x-forwarded-for', '198.51.100.2, 203.0.113.7'],
    ['X-Forwarded-Host', 'edge.example.com, proxy.example.com'],
    ['Accept', '*/*'],
    ['X-Forwarded-Server', 'wspass-1'],
    ['X-Forwarded-Proto', 'https'],
  ]);
});

test('request: X-Forwarded-* added when absent; X-Forwarded-Host only with a client Host', () => {
  assert.deepEqual(pairs(forwardRequestHeaders(['Host', 'p'], { ...base, host: 'p', forwardedHeaders: true, clientProto: 'http' })), [
    ['Host', 'backend:9080'],
    ['X-Forwarded-For', '203.0.113.7'],
    ['X-Forwarded-Host', 'p'],
    ['X-Forwarded-Server', 'wspass-1'],
    ['X-Forwarded-Proto', 'http'],
  ]);
  assert.deepEqual(pairs(forwardRequestHeaders([], { ...base, host: undefined, forwardedHeaders: true })), [
    ['Host', 'backend:9080'],
    ['X-Forwarded-For', '203.0.113.7'],
    ['X-Forwarded-Server', 'wspass-1'],
    ['X-Forwarded-Proto', 'https'],
  ]);
});

test('request: appending still finds the right line when Host had to be inserted in front', () => {
  const raw = ['X-Forwarded-For', '198.51.100.1', 'X-Forwarded-Server', 'edge'];
  assert.deepEqual(pairs(forwardRequestHeaders(raw, { ...base, host: undefined, forwardedHeaders: true })), [
    ['Host', 'backend:9080'],
    ['X-Forwarded-For', '198.51.100.1, 203.0.113.7'],
    ['X-Forwarded-Server', 'edge, wspass-1'],
    ['X-Forwarded-Proto', 'https'],
  ]);
});

test('request: an empty or Connection-named X-Forwarded-For is replaced, not appended to', () => {
  const empty = ['Host', 'h', 'X-Forwarded-For', ''];
  assert.deepEqual(pairs(forwardRequestHeaders(empty, { ...base, forwardedHeaders: true })).slice(0, 2), [
    ['Host', 'backend:9080'],
    ['X-Forwarded-For', '203.0.113.7'],
  ]);
  const named = ['Host', 'h', 'Connection', 'X-Forwarded-For', 'X-Forwarded-For', '10.0.0.1'];
  assert.deepEqual(pairs(forwardRequestHeaders(named, { ...base, forwardedHeaders: true })).slice(0, 2), [
    ['Host', 'backend:9080'],
    ['X-Forwarded-For', '203.0.113.7'],
  ]);
});

test('request framing: the HTTP proxy drops Transfer-Encoding (and a conflicting Content-Length)', () => {
  const chunked = ['Host', 'h', 'Transfer-Encoding', 'chunked', 'Trailer', 'X-Sum', 'Content-Type', 'text/plain'];
  assert.deepEqual(pairs(forwardRequestHeaders(chunked, base)), [
    ['Host', 'backend:9080'],
    ['Content-Type', 'text/plain'],
  ]);
  const both = ['Host', 'h', 'Content-Length', '10', 'Transfer-Encoding', 'chunked'];
  assert.deepEqual(pairs(forwardRequestHeaders(both, base)), [['Host', 'backend:9080']]);
  const sized = ['Host', 'h', 'Content-Length', '10'];
  assert.deepEqual(pairs(forwardRequestHeaders(sized, base)), [
    ['Host', 'backend:9080'],
    ['Content-Length', '10'],
  ]);
});

test('request framing: the tunnel keeps Transfer-Encoding, Trailer and Content-Length', () => {
  const raw = ['Host', 'h', 'Connection', 'Upgrade, Transfer-Encoding', 'Upgrade', 'websocket', 'Transfer-Encoding', 'chunked', 'Trailer', 'X-Sum'];
  assert.deepEqual(pairs(forwardRequestHeaders(raw, { ...base, keepTransferFraming: true, upgrade: 'websocket' })), [
    ['Host', 'backend:9080'],
    ['Transfer-Encoding', 'chunked'],
    ['Trailer', 'X-Sum'],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
  ]);
  const sized = ['Host', 'h', 'Content-Length', '3'];
  assert.deepEqual(pairs(forwardRequestHeaders(sized, { ...base, keepTransferFraming: true })), [
    ['Host', 'backend:9080'],
    ['Content-Length', '3'],
  ]);
});

test('request: the input array is not modified', () => {
  const raw = [...browserHandshake];
  forwardRequestHeaders(raw, { ...base, forwardedHeaders: true, upgrade: 'websocket' });
  assert.deepEqual(raw, browserHandshake);
});

test('response: hop-by-hop and Connection-named headers dropped, Content-Length kept', () => {
  const raw = [
    'Content-Type', 'text/html',
    'Connection', 'keep-alive, X-Internal',
    'Keep-Alive', 'timeout=5, max=100',
    'X-Internal', 'secret',
    'Set-Cookie', 'a=1',
    'Set-Cookie', 'b=2',
    'Content-Length', '42',
    'Proxy-Authenticate', 'Basic realm="x"',
  ];
  assert.deepEqual(pairs(forwardResponseHeaders(raw)), [
    ['Content-Type', 'text/html'],
    ['Set-Cookie', 'a=1'],
    ['Set-Cookie', 'b=2'],
    ['Content-Length', '42'],
    ['Proxy-Authenticate', 'Basic realm="x"'],
  ]);
});

test('response: Transfer-Encoding dropped (the caller re-frames), with any conflicting Content-Length', () => {
  assert.deepEqual(pairs(forwardResponseHeaders(['Transfer-Encoding', 'chunked', 'Trailer', 'X', 'Vary', 'Origin'])), [['Vary', 'Origin']]);
  assert.deepEqual(pairs(forwardResponseHeaders(['Content-Length', '3', 'transfer-encoding', 'gzip, chunked'])), []);
  assert.deepEqual(pairs(forwardResponseHeaders(['Connection', 'content-length', 'Content-Length', '3'])), [['Content-Length', '3']]);
});

test('response: relaying a 101 rebuilds Upgrade and Connection', () => {
  const raw = ['Upgrade', 'WebSocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='];
  assert.deepEqual(pairs(forwardResponseHeaders(raw, { upgrade: 'WebSocket' })), [
    ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
    ['Connection', 'Upgrade'],
    ['Upgrade', 'WebSocket'],
  ]);
});

test('serializeRequestHead writes an HTTP/1.1 head with CRLF and a blank line', () => {
  const head = serializeRequestHead('GET', '/chat?x=1', ['Host', 'backend:9080', 'Upgrade', 'websocket', 'Connection', 'Upgrade']);
  assert.equal(
    head.toString('latin1'),
    'GET /chat?x=1 HTTP/1.1\r\nHost: backend:9080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  );
  assert.equal(serializeRequestHead('OPTIONS', '/', []).toString('latin1'), 'OPTIONS / HTTP/1.1\r\n\r\n');
});

test('heads keep latin1 (obs-text) header bytes as node:http read them', () => {
  const head = serializeRequestHead('GET', '/', ['X-Name', 'caf\u00e9']);
  assert.deepEqual([...head.subarray(head.length - 7, head.length - 4)], [0x61, 0x66, 0xe9]);
});

test('serializeResponseHead writes the status line, headers and blank line', () => {
  const head = serializeResponseHead(101, 'Switching Protocols', ['Upgrade', 'websocket', 'Connection', 'Upgrade']);
  assert.equal(head.toString('latin1'), 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  assert.equal(serializeResponseHead(204, '', []).toString('latin1'), 'HTTP/1.1 204 \r\n\r\n');
});

test('header injection is impossible: CR, LF, NUL and bad names throw', () => {
  const injections: [string, () => unknown][] = [
    ['CRLF in a value', () => serializeRequestHead('GET', '/', ['X', 'a\r\nEvil: 1'])],
    ['LF in a value', () => serializeRequestHead('GET', '/', ['X', 'a\nEvil: 1'])],
    ['CR in a value', () => serializeResponseHead(200, 'OK', ['X', 'a\r'])],
    ['NUL in a value', () => serializeResponseHead(200, 'OK', ['X', 'a\u0000'])],
    ['char above latin1', () => serializeResponseHead(200, 'OK', ['X', '\u20ac'])],
    ['CRLF in a name', () => serializeRequestHead('GET', '/', ['X\r\nEvil', 'a'])],
    ['colon in a name', () => serializeRequestHead('GET', '/', ['X:Y', 'a'])],
    ['empty name', () => serializeRequestHead('GET', '/', ['', 'a'])],
    ['odd header list', () => serializeRequestHead('GET', '/', ['X'])],
    ['CRLF in the target', () => serializeRequestHead('GET', '/a\r\nEvil: 1', [])],
    ['space in the target', () => serializeRequestHead('GET', '/a HTTP/1.0', [])],
    ['space in the method', () => serializeRequestHead('GET /x', '/', [])],
    ['CRLF in the status message', () => serializeResponseHead(200, 'OK\r\nEvil: 1', [])],
    ['status code out of range', () => serializeResponseHead(1000, 'x', [])],
    ['status code not an integer', () => serializeResponseHead(200.5, 'x', [])],
    ['CRLF smuggled through the upgrade option', () => serializeRequestHead('GET', '/', forwardRequestHeaders([], { ...base, upgrade: 'websocket\r\nX: 1' }))],
  ];
  for (const [what, fn] of injections) assert.throws(fn, TypeError, what);
});

test('rawHeaderValue joins repeated headers in order, matching names case-insensitively', () => {
  const raw = ['Upgrade', 'websocket', 'connection', 'keep-alive', 'X', '1', 'Connection', 'Upgrade'];
  assert.equal(rawHeaderValue(raw, 'connection'), 'keep-alive, Upgrade');
  assert.equal(rawHeaderValue(raw, 'upgrade'), 'websocket');
  assert.equal(rawHeaderValue(raw, 'absent'), undefined);
});
