// Bench: one load-generator session driving the same echo load against two servers at once, as the
// perf gate does with a base and a head proxy: counts per target readable at any instant (snapshots
// only grow, and they agree with the totals at the end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadSession } from '../../bench/loadgen/run-shards.js';
import { startWsBackend } from '../helpers/peers.js';

test('a session runs the same echo load against two targets and counts each one apart', async (t) => {
  const a = await startWsBackend(t);
  const b = await startWsBackend(t);
  const session = await LoadSession.open({ kind: 'echo', urls: [`ws://127.0.0.1:${a.port}/`, `ws://127.0.0.1:${b.port}/`], connections: 3, shards: 1, sizeBytes: 64 });
  try {
    assert.equal(a.requests.length, 3, 'each target gets the full connection count');
    assert.equal(b.requests.length, 3);
    session.start();
    session.measure();
    // Snapshots until both targets have echoed a few hundred messages (bounded: no event says "enough").
    let snap = await session.snapshot();
    for (let i = 0; i < 2000 && (snap[0]!.units < 200 || snap[1]!.units < 200); i++) snap = await session.snapshot();
    assert.ok(snap[0]!.units >= 200 && snap[1]!.units >= 200, `both targets echo: ${JSON.stringify(snap)}`);
    assert.equal(snap[0]!.bytes, snap[0]!.units * 128, 'an echoed 64 B message is 128 B carried');
    const later = await session.snapshot();
    assert.ok(later[0]!.units >= snap[0]!.units && later[1]!.units >= snap[1]!.units, 'counts only grow');
    session.stop();
    const r = await session.results(0);
    assert.equal(r.errors, 0);
    assert.equal(r.perTarget.length, 2);
    assert.equal(r.units, r.perTarget[0]!.units + r.perTarget[1]!.units);
    assert.ok(r.perTarget[0]!.units >= later[0]!.units && r.perTarget[1]!.units >= later[1]!.units);
  } finally {
    await session.close();
  }
});
