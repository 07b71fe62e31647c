// Field-name comparison without lower-casing (src/http/header-name.ts), and the header rules that now use
// it: each must answer as the lower-casing version did for names of latin1 characters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHeaderName } from '../../src/http/header-name.js';
import { forwardRequestHeaders, forwardResponseHeaders, HOP_BY_HOP, tokenList } from '../../src/http/headers.js';

test('isHeaderName agrees with toLowerCase() === name for every latin1 character in every position', () => {
  const names = ['host', 'connection', 'content-length', 'x'];
  for (const lower of names) {
    for (let pos = 0; pos < lower.length; pos++) {
      for (let c = 0; c <= 0xff; c++) {
        const name = lower.slice(0, pos) + String.fromCharCode(c) + lower.slice(pos + 1);
        assert.equal(isHeaderName(name, lower), name.toLowerCase() === lower, `${JSON.stringify(name)} vs ${lower}`);
      }
    }
  }
  assert.equal(isHeaderName('HOST', 'host'), true);
  assert.equal(isHeaderName('Hosts', 'host'), false);
  assert.equal(isHeaderName('', 'host'), false);
});

/** The Connection rule as it was: every listed token lower-cased and trimmed, hop-by-hop or not. */
function nominatedBefore(raw: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'connection') for (const t of tokenList(raw[i + 1])) names.add(t);
  return names;
}

function expectedResponse(raw: readonly string[]): string[] {
  const nominated = nominatedBefore(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!.toLowerCase();
    if (key !== 'content-length' && (HOP_BY_HOP.has(key) || nominated.has(key))) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

test('headers named by Connection are dropped however the list is spaced, cased or padded', () => {
  const values = [
    'keep-alive',
    'Upgrade',
    'close',
    ' X-Drop ,\tkeep-alive,, ',
    'KEEP-ALIVE, x-drop',
    '\u00a0x-drop\u00a0',
    'x-drop\v',
    ',',
    '',
    'te, Trailer, x-other',
  ];
  for (const value of values) {
    const raw = ['Host', 'a', 'Connection', value, 'X-Drop', '1', 'X-Other', '2', 'Close', '3', 'Keep-Alive', 'timeout=5', 'Content-Length', '0'];
    assert.deepEqual(forwardResponseHeaders(raw), expectedResponse(raw), JSON.stringify(value));
    const sent = forwardRequestHeaders(raw, {
      host: 'a',
      backendHostHeader: 'b',
      preserveHost: true,
      forwardedHeaders: false,
      clientIp: '192.0.2.1',
      serverName: 's',
      clientProto: 'http',
    });
    assert.deepEqual(sent, expectedResponse(raw), JSON.stringify(value));
  }
});
