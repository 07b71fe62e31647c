// The rules for a backend's answer to an upgrade request: which 101 is accepted, the bytes the client
// gets for it, and what a declined (non-101) answer carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSwitch, declinedResponse, invalidHeadReason, switchResponseHead, type BackendHead } from '../../src/http/switch-response.js';
import type { UpgradePolicy } from '../../src/routing/types.js';

const NOW = new Date('2026-12-01T04:00:00Z');
const WEBSOCKET: UpgradePolicy = { kind: 'list', protocols: ['websocket'] };

function head(statusCode: number, rawHeaders: string[], statusMessage = 'Whatever'): BackendHead {
  return { statusCode, statusMessage, rawHeaders };
}

const SWITCH = head(101, ['Upgrade', 'WebSocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Accept', 'abc='], 'Switching Protocols');

test('checkSwitch accepts a 101 naming the asked protocol, by name and case-insensitively', () => {
  assert.deepEqual(checkSwitch(SWITCH, 'websocket'), { ok: true, upgrade: 'WebSocket' });
  const versioned = head(101, ['Upgrade', 'h2c/1.0', 'Connection', 'keep-alive, upgrade']);
  assert.deepEqual(checkSwitch(versioned, 'H2C'), { ok: true, upgrade: 'h2c/1.0' });
});

test('checkSwitch refuses what must not become a tunnel, each with its code', () => {
  const cases: [BackendHead, string | undefined, string][] = [
    [head(200, ['Upgrade', 'websocket', 'Connection', 'Upgrade']), 'websocket', 'WSP_BACKEND_BAD_RESPONSE'],
    [head(101, ['Upgrade', 'websocket']), 'websocket', 'WSP_BACKEND_BAD_RESPONSE'],
    [head(101, ['Upgrade', 'websocket', 'Connection', 'keep-alive']), 'websocket', 'WSP_BACKEND_BAD_RESPONSE'],
    [head(101, ['Upgrade', 'websocket', 'Connection', 'Upgrade'], 'Switching\x01'), 'websocket', 'WSP_BACKEND_BAD_RESPONSE'],
    [head(101, ['Upgrade', 'websocket', 'Connection', 'Upgrade', 'X', 'a\rb']), 'websocket', 'WSP_BACKEND_BAD_RESPONSE'],
    [head(101, ['Upgrade', 'websocket', 'Connection', 'Upgrade', 'Bad Name', 'x']), 'websocket', 'WSP_BACKEND_BAD_RESPONSE'],
    [head(101, ['Connection', 'Upgrade']), 'websocket', 'WSP_BACKEND_UPGRADE_MISMATCH'],
    [head(101, ['Upgrade', 'foo', 'Connection', 'Upgrade']), 'websocket', 'WSP_BACKEND_UPGRADE_MISMATCH'],
    [head(101, ['Upgrade', 'websocket, foo', 'Connection', 'Upgrade']), 'websocket', 'WSP_BACKEND_UPGRADE_MISMATCH'],
    [head(101, ['Upgrade', 'websocket', 'Connection', 'Upgrade']), undefined, 'WSP_BACKEND_UPGRADE_MISMATCH'],
  ];
  for (const [h, requested, code] of cases) {
    const v = checkSwitch(h, requested);
    assert.equal(v.ok, false, JSON.stringify(h));
    if (!v.ok) assert.equal(v.code, code, JSON.stringify(h));
  }
});

test('invalidHeadReason names the first defect', () => {
  assert.equal(invalidHeadReason(SWITCH), undefined);
  assert.match(invalidHeadReason(head(101, [], 'a\x00b')) ?? '', /reason phrase/);
  assert.match(invalidHeadReason(head(101, ['X-Ok', 'fine', 'X-Bad', 'nul\x00'])) ?? '', /X-Bad/);
});

test('the relayed 101: hop-by-hop and Connection-named headers dropped, Connection and Upgrade rebuilt last, no Date', () => {
  const backend = head(
    101,
    [
      'Upgrade', 'websocket',
      'Connection', 'Upgrade, X-Hop',
      'X-Hop', 'secret',
      'Keep-Alive', 'timeout=5',
      'Sec-WebSocket-Accept', 'abc=',
      'Content-Length', '0',
      'Transfer-Encoding', 'chunked',
      'Trailer', 'X-T',
      'Sec-WebSocket-Protocol', 'chat',
    ],
    'Switching Protocols',
  );
  assert.equal(
    switchResponseHead(backend, 'websocket').toString('latin1'),
    'HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: abc=\r\nSec-WebSocket-Protocol: chat\r\n' +
      'Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
  );
});

test('the relayed 101 puts extra headers before the rebuilt pair, and keeps the backend reason phrase', () => {
  const bytes = switchResponseHead({ statusMessage: 'OK then', rawHeaders: ['Upgrade', 'WebSocket', 'Connection', 'upgrade'] }, 'WebSocket', [
    'Set-Cookie',
    'ROUTEID=.m1; path=/',
  ]);
  assert.equal(
    bytes.toString('latin1'),
    'HTTP/1.1 101 OK then\r\nSet-Cookie: ROUTEID=.m1; path=/\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n\r\n',
  );
});

const DECLINE = { method: 'GET', keepAlive: true, policy: WEBSOCKET, now: NOW };

function lines(bytes: Buffer): string[] {
  return bytes.toString('latin1').split('\r\n');
}

test('a declined answer gets a Date when it has none, and keeps the backend one otherwise', () => {
  const r = declinedResponse(head(403, ['Content-Length', '6'], 'Forbidden'), DECLINE);
  assert.deepEqual(lines(r.head), [
    'HTTP/1.1 403 Forbidden', 'Content-Length: 6', 'Date: Tue, 01 Dec 2026 04:00:00 GMT', 'Connection: keep-alive', '', '',
  ]);
  assert.equal(r.framing, 'length');
  const dated = declinedResponse(head(403, ['date', 'Mon, 30 Nov 2026 00:00:00 GMT', 'Content-Length', '0']), DECLINE);
  assert.deepEqual(lines(dated.head).filter((l) => /^date:/i.test(l)), ['date: Mon, 30 Nov 2026 00:00:00 GMT']);
});

test('a declined 426 keeps the backend Upgrade with Connection: Upgrade when the route tunnels every protocol named', () => {
  const h426 = (upgrade: string) => head(426, ['Upgrade', upgrade, 'Connection', 'Upgrade', 'Content-Length', '0'], 'Upgrade Required');
  const kept = lines(declinedResponse(h426('WebSocket'), DECLINE).head);
  assert.ok(kept.includes('Upgrade: WebSocket'));
  assert.ok(kept.includes('Connection: Upgrade'));
  const closing = lines(declinedResponse(h426('websocket'), { ...DECLINE, keepAlive: false }).head);
  assert.ok(closing.includes('Connection: Upgrade, close'));

  for (const other of ['h2c', 'websocket, h2c']) {
    const stripped = lines(declinedResponse(h426(other), DECLINE).head);
    assert.ok(!stripped.some((l) => /^upgrade:/i.test(l)), other);
    assert.ok(stripped.includes('Connection: keep-alive'), other);
  }
  const mqtt: UpgradePolicy = { kind: 'list', protocols: ['mqtt', 'websocket'] };
  assert.ok(lines(declinedResponse(h426('websocket, MQTT/5'), { ...DECLINE, policy: mqtt }).head).includes('Upgrade: websocket, MQTT/5'));
  for (const kind of ['any', 'none'] as const) {
    assert.ok(lines(declinedResponse(h426('h2c'), { ...DECLINE, policy: { kind } }).head).includes('Upgrade: h2c'), kind);
  }
});

test('a declined answer drops Trailer and hop-by-hop headers, and is re-framed', () => {
  const chunked = declinedResponse(
    head(401, ['Transfer-Encoding', 'chunked', 'Trailer', 'X-Sum', 'Connection', 'X-Hop', 'X-Hop', 'h', 'WWW-Authenticate', 'Basic'], 'Unauthorized'),
    DECLINE,
  );
  assert.equal(chunked.framing, 'chunked');
  assert.deepEqual(lines(chunked.head), [
    'HTTP/1.1 401 Unauthorized',
    'WWW-Authenticate: Basic',
    'Date: Tue, 01 Dec 2026 04:00:00 GMT',
    'Transfer-Encoding: chunked',
    'Connection: keep-alive',
    '',
    '',
  ]);
  assert.equal(declinedResponse(head(200, ['Content-Length', '5']), { ...DECLINE, method: 'HEAD' }).framing, 'none');
  assert.equal(declinedResponse(head(304, []), DECLINE).framing, 'none');
  assert.equal(declinedResponse(head(204, []), DECLINE).framing, 'none');
});

test('a declined answer with a sticky cookie and Connection: close', () => {
  const r = declinedResponse(head(503, ['Content-Length', '0'], 'Busy'), {
    ...DECLINE,
    keepAlive: false,
    extra: ['Set-Cookie', 'ROUTEID=.m2'],
  });
  assert.deepEqual(lines(r.head).slice(1, -2), ['Content-Length: 0', 'Date: Tue, 01 Dec 2026 04:00:00 GMT', 'Set-Cookie: ROUTEID=.m2', 'Connection: close']);
});
