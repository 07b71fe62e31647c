// The native engine's backend legs send each handshake's request head with send(2), which /proc/<pid>/io's
// syscw does not see: `wspass_backend_leg_writes_total` counts those calls (C keeps the thread's total,
// read at each flush). Through a proxy on each engine: N tunnels to an IP-address backend (the native
// engine takes a leg for each) grow it by exactly N on the native engine and not at all on the JavaScript
// one, and the tunnels' own write counter is not where they go.
//
// Exactly N, though the count is of calls, not of requests: a head of a few hundred bytes on a fresh
// loopback connection fits its empty send buffer whole, so each request is one call (a partial send,
// which would count twice, needs a head larger than the socket's send buffer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, skipFor } from '../helpers/engines.js';
import { observedProxy } from '../helpers/observed-proxy.js';
import { rawTunnel, readUntil, hasHead, rawClient, wsHandshake } from '../helpers/peers.js';
import { scriptedBackend, switchEchoBackend } from '../helpers/scripted-backend.js';

const TUNNELS = 5;

for (const engine of ENGINES) {
  test(`${engine}: handshakes through backend legs show in wspass_backend_leg_writes_total once flushed (native only), not in the tunnels' writes`, { skip: skipFor(engine) }, async (t) => {
    const backend = await switchEchoBackend(t, 'hi');
    const declining = await scriptedBackend(t, (s) => s.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
    const p = await observedProxy(t, {
      tunnel: { engine },
      routes: [
        { path: '/declined/', backend: `ws://127.0.0.1:${declining.port}/` },
        { path: '/', backend: `ws://127.0.0.1:${backend.port}/` },
      ],
    });
    // The C count is the thread's, and this test runs on the thread of the file's other tests: the
    // figures below are growth from here.
    p.flushStats();
    const before = await p.scrape();
    const legWrites = (s: typeof before) => s.get('wspass_backend_leg_writes_total') - before.get('wspass_backend_leg_writes_total');

    for (let i = 0; i < TUNNELS; i++) await rawTunnel(t, p.port, 'hi');
    assert.equal(backend.heads.length, TUNNELS, 'every request head reached the backend');
    p.flushStats();
    const open = await p.scrape();
    assert.equal(legWrites(open), engine === 'native' ? TUNNELS : 0, 'one send per request head');
    if (engine === 'native') {
      // The heads' sends are not tunnel writes, and the JavaScript engine wrote none of them.
      assert.equal(open.get('wspass_tunnel_writes_total', { engine: 'js' }), 0, 'the JavaScript engine\'s count does not move');
      assert.ok(open.get('wspass_tunnel_writes_total', { engine: 'native' }) - before.get('wspass_tunnel_writes_total', { engine: 'native' }) <= TUNNELS, 'at most the greetings');
    }

    // A request the backend declines was written all the same: counted too.
    const s = await rawClient(t, p.port);
    s.write(wsHandshake('/declined/x'));
    assert.match((await readUntil(s, hasHead)).toString('latin1'), /^HTTP\/1\.1 403 /);
    p.flushStats();
    assert.equal(legWrites(await p.scrape()), engine === 'native' ? TUNNELS + 1 : 0);
  });
}
