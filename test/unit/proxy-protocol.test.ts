// PROXY protocol header parsing and v2 encoding (src/proxy-protocol/): fed raw wire bytes, whole and split
// byte by byte, as a socket may deliver them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader, V2_SIGNATURE, type ParseResult } from '../../src/proxy-protocol/parse-header.js';
import { encodeProxyV2, encodeProxyV2Local } from '../../src/proxy-protocol/encode-v2.js';
import { formatIpv6, ipv6Bytes } from '../../src/proxy-protocol/ip-bytes.js';

/** Feeds `bytes` one byte at a time, as the listener would, asking the parser again only once `need` bytes are in. */
function parseByteByByte(bytes: Uint8Array): ParseResult {
  let need = 1;
  for (let n = 1; n <= bytes.length; n++) {
    if (n < need) continue;
    const r = parseProxyHeader(bytes.subarray(0, n));
    if (r.state !== 'more') return r;
    assert.ok(r.need > n, 'asks for more than it has');
    need = r.need;
  }
  return { state: 'more', need };
}

function v2(command: number, famTransport: number, body: number[]): Buffer {
  const head = Buffer.alloc(16);
  head.set(V2_SIGNATURE);
  head[12] = command;
  head[13] = famTransport;
  head.writeUInt16BE(body.length, 14);
  return Buffer.concat([head, Buffer.from(body)]);
}

const after = Buffer.from('GET / HTTP/1.1\r\n\r\n');

test('v1 TCP4: addresses, ports and the length, whole and byte by byte', () => {
  const line = Buffer.from('PROXY TCP4 192.0.2.9 198.51.100.1 56324 443\r\n');
  for (const r of [parseProxyHeader(Buffer.concat([line, after])), parseByteByByte(line)]) {
    assert.deepEqual(r, {
      state: 'done',
      length: line.length,
      header: { kind: 'proxy', version: 1, family: 'ipv4', source: '192.0.2.9', sourcePort: 56324, destination: '198.51.100.1', destinationPort: 443 },
    });
  }
});

test('v1 TCP6 addresses are written as node:net writes them', () => {
  const line = Buffer.from('PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 1 65535\r\n');
  const r = parseByteByByte(line);
  assert.equal(r.state, 'done');
  if (r.state === 'done' && r.header.kind === 'proxy') {
    assert.equal(r.header.source, '2001:db8::1');
    assert.equal(r.header.destination, '::1');
    assert.equal(r.header.destinationPort, 65535);
  }
});

test('v1 UNKNOWN is accepted and carries no address', () => {
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN whatever\r\nGET')), { state: 'done', length: 24, header: { kind: 'local', version: 1 } });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { state: 'done', length: 15, header: { kind: 'local', version: 1 } });
});

test('v1 malformed lines are invalid', () => {
  const bad = [
    'PROXY TCP4 192.0.2.9 198.51.100.1 56324\r\n',
    'PROXY TCP4 ::1 ::1 1 2\r\n',
    'PROXY TCP6 10.0.0.1 10.0.0.2 1 2\r\n',
    'PROXY TCP4 192.0.2.9 198.51.100.1 65536 443\r\n',
    'PROXY TCP4 192.0.2.9 198.51.100.1 0443 443\r\n',
    'PROXY TCP4  192.0.2.9 198.51.100.1 1 443\r\n',
    'PROXY UDP4 192.0.2.9 198.51.100.1 1 443\r\n',
    'PROXY TCP4 192.0.2.9 198.51.100.1 1 443\rX',
    'PROXY TCP4 192.0.2.9\n',
    `PROXY UNKNOWN ${'x'.repeat(100)}\r\n`,
    'GET / HTTP/1.1\r\n',
    'PROXYTCP4\r\n',
  ];
  for (const text of bad) {
    const r = parseByteByByte(Buffer.from(text));
    assert.equal(r.state, 'invalid', `${JSON.stringify(text)} gave ${JSON.stringify(r)}`);
  }
  // No CRLF within 107 bytes is invalid as soon as 107 bytes have come, not later.
  const long = Buffer.from(`PROXY UNKNOWN ${'x'.repeat(200)}`);
  assert.equal(parseProxyHeader(long.subarray(0, 106)).state, 'more');
  assert.equal(parseProxyHeader(long.subarray(0, 107)).state, 'invalid');
});

test('a wrong first byte is invalid at once; a partial signature waits', () => {
  assert.equal(parseProxyHeader(Buffer.from('G')).state, 'invalid');
  assert.equal(parseProxyHeader(Buffer.from([0x16, 0x03, 0x01])).state, 'invalid'); // a TLS ClientHello
  assert.deepEqual(parseProxyHeader(Buffer.from('PRO')), { state: 'more', need: 6 });
  assert.deepEqual(parseProxyHeader(V2_SIGNATURE.subarray(0, 5)), { state: 'more', need: 16 });
  assert.equal(parseProxyHeader(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0b])).state, 'invalid');
});

test('v2 TCP over IPv4 with TLVs skipped, byte by byte', () => {
  const body = [192, 0, 2, 9, 198, 51, 100, 1, 0xdc, 0x04, 0x01, 0xbb, /* TLV ALPN */ 0x01, 0x00, 0x02, 0x68, 0x32, /* NOOP */ 0x04, 0x00, 0x00];
  const header = v2(0x21, 0x11, body);
  for (const r of [parseProxyHeader(Buffer.concat([header, after])), parseByteByByte(header)]) {
    assert.deepEqual(r, {
      state: 'done',
      length: header.length,
      header: { kind: 'proxy', version: 2, family: 'ipv4', source: '192.0.2.9', sourcePort: 56324, destination: '198.51.100.1', destinationPort: 443 },
    });
  }
});

test('v2 TCP over IPv6', () => {
  const src = [...ipv6Bytes('2001:db8::7')!];
  const dst = [...ipv6Bytes('::ffff:10.1.2.3')!];
  const r = parseByteByByte(v2(0x21, 0x21, [...src, ...dst, 0, 80, 1, 0]));
  assert.equal(r.state, 'done');
  if (r.state === 'done' && r.header.kind === 'proxy') {
    assert.equal(r.header.family, 'ipv6');
    assert.equal(r.header.source, '2001:db8::7');
    assert.equal(r.header.destination, '::ffff:10.1.2.3');
    assert.equal(r.header.sourcePort, 80);
    assert.equal(r.header.destinationPort, 256);
  }
});

test('v2 LOCAL (a health check) and PROXY over UNSPEC or UNIX carry no address', () => {
  assert.deepEqual(parseByteByByte(v2(0x20, 0x00, [])), { state: 'done', length: 16, header: { kind: 'local', version: 2 } });
  // LOCAL ignores whatever the family byte and the block say.
  assert.deepEqual(parseByteByByte(v2(0x20, 0xff, [1, 2, 3])), { state: 'done', length: 19, header: { kind: 'local', version: 2 } });
  assert.deepEqual(parseByteByByte(v2(0x21, 0x00, [])), { state: 'done', length: 16, header: { kind: 'local', version: 2 } });
  assert.deepEqual(parseByteByByte(v2(0x21, 0x31, new Array<number>(216).fill(0))), { state: 'done', length: 232, header: { kind: 'local', version: 2 } });
});

test('v2 malformed headers are invalid', () => {
  const cases: [string, Buffer][] = [
    ['version 1', v2(0x11, 0x11, new Array<number>(12).fill(0))],
    ['command 2', v2(0x22, 0x11, new Array<number>(12).fill(0))],
    ['family 4', v2(0x21, 0x41, [])],
    ['transport 3', v2(0x21, 0x13, new Array<number>(12).fill(0))],
    ['UDP', v2(0x21, 0x12, new Array<number>(12).fill(0))],
    ['IPv4 block too short', v2(0x21, 0x11, new Array<number>(11).fill(0))],
    ['IPv6 block too short', v2(0x21, 0x21, new Array<number>(12).fill(0))],
    ['TLV past the end', v2(0x21, 0x11, [...new Array<number>(12).fill(0), 0x01, 0x00, 0x05, 0x68])],
    ['truncated TLV', v2(0x21, 0x11, [...new Array<number>(12).fill(0), 0x01, 0x00])],
  ];
  for (const [what, bytes] of cases) assert.equal(parseByteByByte(bytes).state, 'invalid', what);
});

test('v2 waits for the whole announced length', () => {
  const header = v2(0x21, 0x11, new Array<number>(12).fill(1));
  assert.deepEqual(parseProxyHeader(header.subarray(0, 20)), { state: 'more', need: 28 });
});

test('encodeProxyV2 writes what parseProxyHeader reads, for both families', () => {
  const four = encodeProxyV2({ source: '192.0.2.9', sourcePort: 5000, destination: '127.0.0.1', destinationPort: 8080 });
  assert.deepEqual([...four.subarray(12, 16)], [0x21, 0x11, 0, 12]);
  assert.deepEqual(parseProxyHeader(four), {
    state: 'done',
    length: 28,
    header: { kind: 'proxy', version: 2, family: 'ipv4', source: '192.0.2.9', sourcePort: 5000, destination: '127.0.0.1', destinationPort: 8080 },
  });
  const mixed = encodeProxyV2({ source: '2001:db8::1', sourcePort: 1, destination: '127.0.0.1', destinationPort: 2 });
  assert.deepEqual([...mixed.subarray(12, 16)], [0x21, 0x21, 0, 36]);
  const r = parseProxyHeader(mixed);
  assert.ok(r.state === 'done' && r.header.kind === 'proxy' && r.header.destination === '::ffff:127.0.0.1' && r.header.source === '2001:db8::1');
  assert.deepEqual([...encodeProxyV2({ source: 'unknown', sourcePort: 0, destination: '127.0.0.1', destinationPort: 1 }).subarray(12)], [0x21, 0x00, 0, 0]);
  assert.deepEqual([...encodeProxyV2Local().subarray(12)], [0x20, 0x00, 0, 0]);
});

test('IPv6 text round-trips to the RFC 5952 form', () => {
  for (const [input, out] of [
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
  ] as const) {
    assert.equal(formatIpv6(ipv6Bytes(input)!, 0), out, input);
  }
});
