import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLive, isReady } from '../../src/admin/probes.js';

test('readiness: only when serving with a worker ready; 503 while starting and stopping', () => {
  assert.equal(isReady('starting', ['starting', 'starting']), false);
  assert.equal(isReady('starting', ['ready', 'starting']), false);
  assert.equal(isReady('serving', ['ready', 'ready']), true);
  assert.equal(isReady('serving', ['ready', 'exited']), true, 'a respawn elsewhere does not take it out');
  assert.equal(isReady('serving', ['exited', 'starting']), false, 'no worker accepts: not ready');
  assert.equal(isReady('stopping', ['ready', 'ready']), false);
});

test('liveness: a respawn or a start keeps it 200; only every worker given up fails it', () => {
  assert.equal(isLive(['starting']), true);
  assert.equal(isLive(['exited', 'ready']), true);
  assert.equal(isLive(['exited']), true, 'a lone worker being respawned');
  assert.equal(isLive(['draining', 'draining']), true);
  assert.equal(isLive(['failed', 'ready']), true);
  assert.equal(isLive(['failed', 'failed']), false);
});
