// Admission without sockets: what a refusal leaves behind (nothing), that a ticket gives its counts back
// exactly once however often release is called, and member reservations swapped between attempts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { ADMIT_BUSY, admitWhenFree, isRefusal, LimitState, TunnelAdmission, type TunnelTicket } from '../../src/limits/tunnel-admission.js';
import { GLOBAL_CELL, memberCell, routeCell } from '../../src/limits/tunnel-counts.js';
import { holdBucketLocks } from '../helpers/client-table-locks.js';

function setup(input: Omit<ConfigInput, 'listen'>) {
  const config = configSchema.parse({ listen: '127.0.0.1:0', ...input });
  const state = LimitState.local(config);
  return { state, admission: new TunnelAdmission(config, state) };
}

function ticketOf(x: ReturnType<TunnelAdmission['admit']>): TunnelTicket {
  assert.ok(x !== ADMIT_BUSY, 'the client table was busy');
  assert.ok(!isRefusal(x), JSON.stringify(x));
  return x;
}

test('a refusal holds nothing: the process, route and client counts are back to where they were', () => {
  const { state, admission } = setup({
    limits: { maxTunnels: 5, perClient: { maxTunnels: 5 } },
    routes: [{ name: 'r', path: '/', backend: 'ws://b/', maxTunnels: 1, allowedOrigins: ['https://ok.example'] }],
  });
  const held = ticketOf(admission.admit('r', '10.0.0.1', undefined));
  assert.deepEqual(admission.admit('r', '10.0.0.1', undefined), { code: 'WSP_LIMIT_ROUTE', retryAfterS: 1 });
  assert.deepEqual(admission.admit('r', '10.0.0.1', 'https://evil.example'), { code: 'WSP_ORIGIN_FORBIDDEN' });
  assert.equal(state.counts.count(GLOBAL_CELL), 1);
  assert.equal(state.counts.count(routeCell(state.routeSlot('r')!)), 1);
  assert.equal(state.clients.count('10.0.0.1'), 1);
  held.release();
  held.release();
  assert.equal(state.counts.count(GLOBAL_CELL), 0, 'released once, however often release is called');
  assert.equal(state.clients.count('10.0.0.1'), 0);
});

test('a refused Origin costs no handshake token', () => {
  const { admission } = setup({
    limits: { perClient: { handshakesPerSecond: 1 / 60, burst: 1 } },
    routes: [{ name: 'r', path: '/', backend: 'ws://b/', allowedOrigins: ['https://ok.example'] }],
  });
  for (let i = 0; i < 3; i++) assert.equal((admission.admit('r', '10.0.0.1', 'https://evil.example') as { code: string }).code, 'WSP_ORIGIN_FORBIDDEN');
  ticketOf(admission.admit('r', '10.0.0.1', 'https://ok.example')).release();
  assert.equal((admission.admit('r', '10.0.0.1', undefined) as { code: string }).code, 'WSP_LIMIT_CLIENT_RATE');
});

test('member reservations: the next attempt swaps the member, release gives back the last one', () => {
  const { state, admission } = setup({
    balancers: { pool: { members: [{ url: 'ws://a:1', maxTunnels: 1 }, { url: 'ws://b:1' }] } },
    routes: [{ name: 'r', path: '/', backend: 'balancer://pool/' }],
  });
  const a = memberCell(state.memberSlot('pool\nws://a:1')!);
  const b = memberCell(state.memberSlot('pool\nws://b:1')!);
  const t1 = ticketOf(admission.admit('r', '10.0.0.1', undefined));
  assert.ok(admission.reserveMember(t1, 'pool', 'ws://a:1'));
  const t2 = ticketOf(admission.admit('r', '10.0.0.2', undefined));
  assert.equal(admission.reserveMember(t2, 'pool', 'ws://a:1'), false, 'a is full');
  // t1's attempt on a failed; it moves to b: a is free again.
  assert.ok(admission.reserveMember(t1, 'pool', 'ws://b:1'));
  assert.equal(state.counts.count(a), 0);
  assert.ok(admission.reserveMember(t2, 'pool', 'ws://a:1'));
  t1.release();
  t2.release();
  assert.deepEqual([state.counts.count(a), state.counts.count(b), state.counts.count(GLOBAL_CELL)], [0, 0, 0]);
});

test('a client table held by another thread: admit says busy and counts nothing; admitWhenFree gets the ticket once it is free', async () => {
  const { state, admission } = setup({
    limits: { maxTunnels: 5, perClient: { maxTunnels: 2, tableSize: 64 } },
    routes: [{ name: 'r', path: '/', backend: 'ws://b/' }],
  });
  const lock = holdBucketLocks(state.clients);
  assert.equal(admission.admit('r', '10.0.0.1', undefined), ADMIT_BUSY);
  assert.equal(state.counts.count(GLOBAL_CELL), 0, 'nothing reserved while busy');
  const waiting = admitWhenFree(admission, 'r', '10.0.0.1', undefined);
  lock.release();
  const ticket = ticketOf(await waiting);
  assert.equal(state.clients.count('10.0.0.1'), 1, 'counted per client: not let through untracked');
  ticket.release();
  assert.equal(state.clients.count('10.0.0.1'), 0);
});

test('a client table held past the bound lets the address through untracked, and says why', async () => {
  const config = configSchema.parse({
    listen: '127.0.0.1:0',
    limits: { perClient: { maxTunnels: 2, tableSize: 64 } },
    routes: [{ name: 'r', path: '/', backend: 'ws://b/' }],
  });
  const state = LimitState.local(config);
  const untracked: string[] = [];
  const admission = new TunnelAdmission(config, state, (address, why) => untracked.push(`${address} ${why}`));
  const lock = holdBucketLocks(state.clients);
  const ticket = ticketOf(await admitWhenFree(admission, 'r', '10.0.0.1', undefined, 5));
  lock.release();
  assert.deepEqual(untracked, ['10.0.0.1 busy']);
  assert.equal(state.clients.count('10.0.0.1'), 0);
  ticket.release();
});
