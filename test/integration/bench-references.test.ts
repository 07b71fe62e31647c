// Bench --compare: each reference proxy it can start here relays a WebSocket echo and a plain HTTP
// request to a real backend, so a comparison never measures a proxy that refused the load. nginx and
// HAProxy run when their packages are installed (skipped with the reason otherwise; under CI=true, where
// .ci/run installs them, a missing one fails instead).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { REFERENCE_NAMES, referenceMissing, startReference } from '../../bench/reference/start.js';
import { startWsBackend } from '../helpers/peers.js';

for (const name of REFERENCE_NAMES) {
  const missing = referenceMissing(name);
  const skip = process.env.CI === 'true' ? false : (missing ?? false);
  test(`${name} relays a WebSocket echo and plain HTTP`, { skip }, async (t) => {
    assert.equal(missing, null, missing ?? '');
    const backend = await startWsBackend(t);
    const ref = await startReference(name, { backendPort: backend.port });
    t.after(() => ref.stop());
    assert.ok(ref.pids.length >= 1 && ref.version !== '');
    const ws = new WebSocket(`ws://127.0.0.1:${ref.port}/echo`);
    ws.on('error', () => undefined);
    t.after(() => ws.terminate());
    await once(ws, 'open');
    ws.send('through the reference');
    const [data] = (await once(ws, 'message')) as [Buffer];
    assert.equal(data.toString(), 'through the reference');
    const res = await fetch(`http://127.0.0.1:${ref.port}/http`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'plain from ws backend');
  });
}
