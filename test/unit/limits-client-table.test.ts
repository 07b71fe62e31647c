// The per-client table and the tunnel counts, without sockets: limits at their edge, several threads'
// views over one buffer, collisions in one bucket, capacity, reuse of idle entries, the rate bucket on a
// hand-moved clock, and what the primary gives back for a dead worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey, BUCKET, ClientTable, type ClientReservation } from '../../src/limits/client-table.js';
import { GLOBAL_CELL, routeCell, TunnelCounts } from '../../src/limits/tunnel-counts.js';

function entryOf(r: ClientReservation): number {
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  return (r as { entry: number }).entry;
}

test('open tunnels per address: N allowed, N+1 refused, one released lets one more in', () => {
  const table = new ClientTable(64, 1, undefined, () => 0);
  const held = [0, 1, 2].map(() => entryOf(table.reserve(0, '10.0.0.1', { maxTunnels: 3 })));
  assert.deepEqual(table.reserve(0, '10.0.0.1', { maxTunnels: 3 }), { kind: 'tunnels' });
  assert.equal(table.count('10.0.0.1'), 3);
  // Another address is counted apart.
  entryOf(table.reserve(0, '10.0.0.2', { maxTunnels: 3 }));
  table.release(0, held[0]!);
  entryOf(table.reserve(0, '10.0.0.1', { maxTunnels: 3 }));
  assert.equal(table.count('10.0.0.1'), 3);
});

test('two workers over one buffer share each address count; each keeps its own share for reclaim', () => {
  const a = new ClientTable(64, 2, undefined, () => 0);
  const b = new ClientTable(64, 2, a.buffer, () => 0);
  entryOf(a.reserve(0, '192.0.2.7', { maxTunnels: 3 }));
  entryOf(b.reserve(1, '192.0.2.7', { maxTunnels: 3 }));
  entryOf(b.reserve(1, '192.0.2.7', { maxTunnels: 3 }));
  assert.deepEqual(a.reserve(0, '192.0.2.7', { maxTunnels: 3 }), { kind: 'tunnels' });
  // Worker 1 dies: the primary gives back its two, worker 0's one stays.
  assert.equal(a.reclaim(1), 2);
  assert.equal(a.count('192.0.2.7'), 1);
  entryOf(a.reserve(0, '192.0.2.7', { maxTunnels: 3 }));
  entryOf(a.reserve(0, '192.0.2.7', { maxTunnels: 3 }));
  assert.deepEqual(b.reserve(1, '192.0.2.7', { maxTunnels: 3 }), { kind: 'tunnels' });
});

test('one bucket: colliding addresses are exact up to its size, then untracked until an entry is idle', () => {
  // A single bucket: every address collides.
  const table = new ClientTable(BUCKET, 1, undefined, () => 0);
  const addresses = Array.from({ length: BUCKET }, (_, i) => `2001:db8::${i + 1}`);
  const entries = addresses.map((a) => entryOf(table.reserve(0, a, { maxTunnels: 1 })));
  assert.equal(new Set(entries).size, BUCKET, 'each address has its own entry');
  for (const a of addresses) assert.deepEqual(table.reserve(0, a, { maxTunnels: 1 }), { kind: 'tunnels' }, a);
  assert.deepEqual(table.reserve(0, '2001:db8::99', { maxTunnels: 1 }), { kind: 'untracked' });
  // An address with nothing open and a full bucket holds no information: its entry can be taken.
  table.release(0, entries[3]!);
  const reused = entryOf(table.reserve(0, '2001:db8::99', { maxTunnels: 1 }));
  assert.equal(reused, entries[3]);
  assert.equal(table.count(addresses[3]!), 0);
  assert.equal(table.count('2001:db8::99'), 1);
});

test('handshake rate: burst at once, then one per 1/rate s, on an injected clock', () => {
  let now = 1_000_000;
  const table = new ClientTable(64, 1, undefined, () => now);
  const rate = { rate: { perSecond: 2, burst: 3 } };
  const take = () => {
    const r = table.reserve(0, '198.51.100.1', rate);
    if (r.kind === 'ok') table.release(0, r.entry);
    return r.kind === 'ok' ? 'ok' : r.kind === 'rate' ? `rate ${r.retryAfterS}` : r.kind;
  };
  assert.deepEqual([take(), take(), take()], ['ok', 'ok', 'ok']);
  assert.equal(take(), 'rate 1');
  now += 499;
  assert.equal(take(), 'rate 1', 'one token takes 500 ms');
  now += 1;
  assert.equal(take(), 'ok');
  assert.equal(take(), 'rate 1');
  // After burst/rate seconds idle, the whole burst is back (and no more).
  now += 10_000;
  assert.deepEqual([take(), take(), take(), take()], ['ok', 'ok', 'ok', 'rate 1']);
});

test('an address whose bucket is still refilling keeps its entry in a full bucket', () => {
  let now = 0;
  const table = new ClientTable(BUCKET, 1, undefined, () => now);
  const rate = { rate: { perSecond: 1, burst: 1 } };
  for (let i = 0; i < BUCKET; i++) table.release(0, entryOf(table.reserve(0, `203.0.113.${i}`, rate)));
  // Nothing open, but each entry still remembers a recent handshake: none is given away.
  assert.deepEqual(table.reserve(0, '203.0.113.200', rate), { kind: 'untracked' });
  assert.equal(table.reserve(0, '203.0.113.0', rate).kind, 'rate');
  now += 1_000;
  entryOf(table.reserve(0, '203.0.113.200', rate));
});

test('addresses: an IPv4-mapped IPv6 address is its IPv4 address; long ones stay distinct', () => {
  assert.deepEqual(addressKey('::ffff:10.1.2.3'), addressKey('10.1.2.3'));
  const long = 'fe80:0000:0000:0000:0000:0000:0000:0001%interface-with-a-long-name';
  assert.notDeepEqual(addressKey(long), addressKey(`${long}x`));
  const table = new ClientTable(64, 1, undefined, () => 0);
  entryOf(table.reserve(0, long, { maxTunnels: 1 }));
  assert.deepEqual(table.reserve(0, long, { maxTunnels: 1 }), { kind: 'tunnels' });
  entryOf(table.reserve(0, `${long}x`, { maxTunnels: 1 }));
});

test('capacity must be a multiple of the bucket size', () => {
  assert.throws(() => new ClientTable(12, 1), /multiple of 8/);
});

test('tunnel counts: N allowed, N+1 refused, across worker rows; a dead worker is reclaimed', () => {
  const w0 = new TunnelCounts(2);
  const w1 = new TunnelCounts(2, w0.buffer);
  assert.ok(w0.reserve(0, GLOBAL_CELL, 3));
  assert.ok(w1.reserve(1, GLOBAL_CELL, 3));
  assert.ok(w1.reserve(1, GLOBAL_CELL, 3));
  assert.equal(w0.reserve(0, GLOBAL_CELL, 3), false);
  assert.ok(w0.reserve(0, routeCell(5), undefined), 'no limit: always counted');
  assert.equal(w0.count(routeCell(5)), 1);
  assert.equal(w0.reclaim(1), 2);
  assert.equal(w0.count(GLOBAL_CELL), 1);
  w0.release(0, GLOBAL_CELL);
  assert.equal(w1.count(GLOBAL_CELL), 0);
});
