// The pure strategies: smooth weighted round-robin, least load (busy / bytes), weighted rendezvous hashing,
// the stable hash under it, and cookie parsing for stickiness. Fake loads, no sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashString } from '../../src/balancer/hash.js';
import { LeastLoad } from '../../src/balancer/least-load.js';
import { RendezvousHash, rendezvousPick } from '../../src/balancer/rendezvous-hash.js';
import { SmoothRoundRobin } from '../../src/balancer/round-robin.js';
import { cookieValue, StickyCookie, urlParamValue } from '../../src/balancer/sticky-cookie.js';
import type { BalanceFacts, BalancerMember, LoadView } from '../../src/balancer/types.js';
import { backendOrigin } from '../helpers/route-fixtures.js';

function members(n: number): BalancerMember[] {
  return Array.from({ length: n }, (_, i) => {
    const url = `ws://10.0.0.${i + 1}:9000`;
    return { index: i, slot: i, url, route: `m${i}`, hashSeed: hashString(url), origin: backendOrigin(url), pathPrefix: '', tls: undefined };
  });
}

function fakeLoad(weights: number[]): LoadView & { busyOf: number[]; bytesOf: number[] } {
  const busyOf = weights.map(() => 0);
  const bytesOf = weights.map(() => 0);
  return { busyOf, bytesOf, weight: (s) => weights[s]!, busy: (s) => busyOf[s]!, bytes: (s) => bytesOf[s]! };
}

const NO_FACTS: BalanceFacts = { clientIp: '127.0.0.1', target: '/', header: () => undefined, cookie: () => undefined, query: () => undefined };

function counts(picks: BalancerMember[], n: number): number[] {
  const c = Array.from({ length: n }, () => 0);
  for (const p of picks) c[p.index]!++;
  return c;
}

test('byrequests: weights 1:3 give 25% / 75% of 1000 picks (tolerance ±5 points), interleaved', () => {
  const ms = members(2);
  const rr = new SmoothRoundRobin(2, fakeLoad([1, 3]));
  const picks = Array.from({ length: 1000 }, () => rr.pick(ms));
  const [a, b] = counts(picks, 2);
  assert.ok(Math.abs(a! / 1000 - 0.25) <= 0.05, `member 0 got ${a}`);
  assert.ok(Math.abs(b! / 1000 - 0.75) <= 0.05, `member 1 got ${b}`);
  // Smooth: the light member comes once in every 4 picks, never after a burst longer than 3.
  let run = 0;
  let longest = 0;
  for (const p of picks) {
    run = p.index === 1 ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  assert.equal(longest, 3);
});

test('byrequests: a member that is not a candidate is skipped without skewing the others', () => {
  const ms = members(3);
  const rr = new SmoothRoundRobin(3, fakeLoad([1, 1, 1]));
  const picks = Array.from({ length: 300 }, () => rr.pick([ms[0]!, ms[2]!]));
  assert.deepEqual(counts(picks, 3), [150, 0, 150]);
});

test('bybusyness: with tunnels held open, weights 1:3 share 400 tunnels 100 / 300 (±1)', () => {
  const ms = members(2);
  const load = fakeLoad([1, 3]);
  const ll = new LeastLoad(load, 'busy');
  for (let i = 0; i < 400; i++) load.busyOf[ll.pick(ms).index]!++;
  assert.ok(Math.abs(load.busyOf[0]! - 100) <= 1, `member 0 holds ${load.busyOf[0]}`);
  assert.ok(Math.abs(load.busyOf[1]! - 300) <= 1, `member 1 holds ${load.busyOf[1]}`);
});

test('bybusyness: the least busy member wins; equal loads take turns', () => {
  const ms = members(3);
  const load = fakeLoad([1, 1, 1]);
  load.busyOf.splice(0, 3, 5, 2, 9);
  const ll = new LeastLoad(load, 'busy');
  assert.equal(ll.pick(ms).index, 1);
  load.busyOf.splice(0, 3, 0, 0, 0);
  const seen = new Set([ll.pick(ms).index, ll.pick(ms).index, ll.pick(ms).index]);
  assert.equal(seen.size, 3);
});

test('bytraffic: picks the member with the fewest bytes per weight; 1:1:2 share traffic 25/25/50 % (±5 points)', () => {
  const ms = members(3);
  const load = fakeLoad([1, 1, 2]);
  const ll = new LeastLoad(load, 'bytes');
  const picks: BalancerMember[] = [];
  for (let i = 0; i < 1000; i++) {
    const m = ll.pick(ms);
    picks.push(m);
    load.bytesOf[m.index]! += 1000 + ((i * 7919) % 5000); // uneven sizes, as real tunnels are
  }
  const total = load.bytesOf.reduce((a, b) => a + b, 0);
  const share = load.bytesOf.map((b) => b / total);
  assert.ok(Math.abs(share[0]! - 0.25) <= 0.05 && Math.abs(share[1]! - 0.25) <= 0.05 && Math.abs(share[2]! - 0.5) <= 0.05, `shares ${share.join(', ')}`);
});

test('hash: the string hash is fixed (no per-process seed), so every instance agrees', () => {
  // Golden values: a change here breaks stickiness across a mixed-version fleet.
  assert.equal(hashString(''), 0);
  assert.equal(hashString('ws://10.0.0.1:9000'), hashString('ws://10.0.0.1:9000'));
  assert.notEqual(hashString('a'), hashString('b'));
  assert.notEqual(hashString('key', 1), hashString('key', 2));
  assert.deepEqual([hashString('user-1'), hashString('user-2'), hashString('ws://a:1', 7), hashString('abc')], [
    2429978192, 3434473920, 2201261329, 1118836419,
  ]);
});

test('hash: 20,000 keys over weights 1:3 land 25% / 75% (tolerance ±2 points)', () => {
  const ms = members(2);
  const load = fakeLoad([1, 3]);
  const n = 20_000;
  const c = counts(Array.from({ length: n }, (_, i) => rendezvousPick(ms, `client-${i}`, load)), 2);
  assert.ok(Math.abs(c[0]! / n - 0.25) <= 0.02, `member 0 got ${c[0]}`);
});

test('hash: equal weights spread keys evenly over 4 members (each 25% ±2 points)', () => {
  const ms = members(4);
  const load = fakeLoad([1, 1, 1, 1]);
  const n = 20_000;
  const c = counts(Array.from({ length: n }, (_, i) => rendezvousPick(ms, `10.1.${i >> 8}.${i & 255}`, load)), 4);
  for (const x of c) assert.ok(Math.abs(x / n - 0.25) <= 0.02, `counts ${c.join(', ')}`);
});

test('hash: a member leaving moves only its own keys, and they come back when it returns', () => {
  const ms = members(4);
  const load = fakeLoad([1, 1, 1, 1]);
  const keys = Array.from({ length: 2000 }, (_, i) => `k${i}`);
  const before = keys.map((k) => rendezvousPick(ms, k, load).index);
  const without2 = ms.filter((m) => m.index !== 2);
  const after = keys.map((k) => rendezvousPick(without2, k, load).index);
  let moved = 0;
  keys.forEach((_, i) => {
    if (before[i] !== 2) assert.equal(after[i], before[i]);
    else moved++;
  });
  assert.ok(moved > 300 && moved < 700, `member 2 had ${moved} keys`);
  assert.deepEqual(keys.map((k) => rendezvousPick(ms, k, load).index), before);
});

test('hash: the order of candidates does not matter', () => {
  const ms = members(5);
  const load = fakeLoad([1, 2, 3, 4, 5]);
  for (let i = 0; i < 200; i++) {
    assert.equal(rendezvousPick(ms, `x${i}`, load), rendezvousPick([...ms].reverse(), `x${i}`, load));
  }
});

test('hash: the key comes from the IP, a header, a cookie or a query parameter; no key falls back', () => {
  const ms = members(3);
  const load = fakeLoad([1, 1, 1]);
  const facts = (over: Partial<BalanceFacts>): BalanceFacts => ({ ...NO_FACTS, ...over });
  const viaHeader = new RendezvousHash({ on: 'header', name: 'X-User' }, load, new SmoothRoundRobin(3, load));
  const seen: string[] = [];
  const withUser = facts({ header: (n) => (seen.push(n), n === 'x-user' ? 'alice' : undefined) });
  assert.equal(viaHeader.pick(ms, withUser), rendezvousPick(ms, 'alice', load));
  assert.deepEqual(seen, ['x-user'], 'header names are looked up in lower case');
  const viaQuery = new RendezvousHash({ on: 'query', name: 'room' }, load, new SmoothRoundRobin(3, load));
  assert.equal(viaQuery.pick(ms, facts({ query: (n) => (n === 'room' ? 'r1' : undefined) })), rendezvousPick(ms, 'r1', load));
  const viaCookie = new RendezvousHash({ on: 'cookie', name: 'uid' }, load, new SmoothRoundRobin(3, load));
  assert.equal(viaCookie.pick(ms, facts({ cookie: (n) => (n === 'uid' ? 'u9' : undefined) })), rendezvousPick(ms, 'u9', load));
  const viaIp = new RendezvousHash({ on: 'ip' }, load, new SmoothRoundRobin(3, load));
  assert.equal(viaIp.pick(ms, facts({ clientIp: '192.0.2.7' })), rendezvousPick(ms, '192.0.2.7', load));
  // Without the key: round-robin, so all three members take turns.
  assert.equal(new Set([0, 1, 2].map(() => viaHeader.pick(ms, NO_FACTS).index)).size, 3);
});

test('cookies: a value is found among several, quotes removed, names matched exactly', () => {
  assert.equal(cookieValue('a=1; ROUTE=b2; c=3', 'ROUTE'), 'b2');
  assert.equal(cookieValue('ROUTE="q"', 'ROUTE'), 'q');
  assert.equal(cookieValue('XROUTE=1;ROUTE=2', 'ROUTE'), '2');
  assert.equal(cookieValue('a=1', 'ROUTE'), undefined);
  assert.equal(cookieValue(undefined, 'ROUTE'), undefined);
  assert.equal(cookieValue('flag; ROUTE=x', 'ROUTE'), 'x');
});

test('sticky value: the part after the first dot names the route; Set-Cookie has Apache\'s ".route" form', () => {
  assert.equal(StickyCookie.routeIn('b2'), undefined);
  assert.equal(StickyCookie.routeIn('SESSION123.b2'), 'b2');
  assert.equal(StickyCookie.routeIn('.b2'), 'b2');
  assert.equal(StickyCookie.routeIn('a.b.c'), 'b.c');
  assert.equal(StickyCookie.routeIn('trailing.'), undefined);
  assert.equal(urlParamValue('/p?a=1&ROUTE=s.b2&c', 'ROUTE'), 's.b2');
  assert.equal(urlParamValue('/p;ROUTE=s.b2?x=1', 'ROUTE'), 's.b2');
  assert.equal(urlParamValue('/p?ROUTE=', 'ROUTE'), undefined);
  assert.equal(
    new StickyCookie({ cookie: 'ROUTE', path: '/app', secure: true, maxAgeS: 600 }).setCookie('b2'),
    'ROUTE=.b2; Path=/app; HttpOnly; SameSite=Lax; Secure; Max-Age=600',
  );
  assert.equal(new StickyCookie({ cookie: 'R', path: '/', secure: false }).setCookie('x'), 'R=.x; Path=/; HttpOnly; SameSite=Lax');
});
