// Which engine each worker runs, and what it relays, as an operator sees it from outside: `wspass run
// --workers 2` in a child process, on the native engine and on the JavaScript one. The engine is in the
// `worker ready` and `listening` lines, in /status and in `wspass_worker_info`; the bytes of an open tunnel
// reach the shared counters (and so /metrics) while it runs, each way, and are not counted again at close;
// `?flush=1` has every worker add them first, so a scrape right after the echo has them, writes included
// (the backend leg's send of the request head too, on the native engine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { adminStatus, spawnProxy, waitForStatus } from '../helpers/cli.js';
import { echoThrough, rawTunnel } from '../helpers/peers.js';
import { switchEchoBackend } from '../helpers/scripted-backend.js';
import { loadNative } from '../../src/tunnel/native-addon.js';

const native = loadNative();

async function metrics(admin: string, query = ''): Promise<string> {
  return (await fetch(`${admin}/metrics${query}`)).text();
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

for (const engine of ['native', 'js'] as const) {
  const skip = engine === 'native' && native.addon === undefined && process.env.CI !== 'true' ? `native addon not available: ${native.error}` : false;

  test(`${engine}: each worker's engine is in its start-up lines, /status and metrics; tunnel bytes reach the metrics while the tunnel runs`, { skip }, async (t) => {
    const backend = await switchEchoBackend(t, 'hi');
    const { port, admin, startup } = await spawnProxy(
      t,
      {
        listen: '127.0.0.1:0',
        admin: { listen: '127.0.0.1:0' },
        log: { level: 'info' },
        tunnel: { engine },
        routes: [{ name: 'echo', path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
      },
      { args: ['--workers', '2'] },
    );
    const lines = startup.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; worker?: number; engine?: string });
    const ready = lines.filter((l) => l.msg === 'worker ready');
    assert.deepEqual(ready.map((l) => [l.worker, l.engine]).sort(), [[0, engine], [1, engine]]);
    assert.equal(lines.find((l) => l.msg === 'listening')?.engine, engine);
    const status = (await waitForStatus(admin!, (s) => s.workers.every((w) => w.state === 'ready'), 'workers ready')) as unknown as { workers: { engine: string }[] };
    assert.deepEqual(status.workers.map((w) => w.engine), [engine, engine]);
    const info = await metrics(admin!);
    assert.equal(sample(info, `wspass_worker_info{worker="0",engine="${engine}"}`), 1);
    assert.equal(sample(info, `wspass_worker_info{worker="1",engine="${engine}"}`), 1);

    const s = await rawTunnel(t, port, 'hi');
    assert.equal(await echoThrough(s, 'z'.repeat(3000)), 'z'.repeat(3000));
    // The tunnel stays open: its counts reach shared memory about once a second, or at once when the
    // scrape asks for a flush.
    const toBackend = 'wspass_tunnel_bytes_total{route="echo",direction="to_backend"}';
    const toClient = 'wspass_tunnel_bytes_total{route="echo",direction="to_client"}';
    const text = await metrics(admin!, '?flush=1');
    assert.equal(sample(text, toBackend), 3000, text);
    assert.equal(sample(text, toClient), 3002);
    // 3000 bytes each way, in one write or a few (however the reads came), plus the greeting maybe.
    const writes = sample(text, `wspass_tunnel_writes_total{engine="${engine}"}`) ?? 0;
    assert.ok(writes >= 2 && writes <= 12, `writes: ${writes}`);
    assert.equal(sample(text, `wspass_tunnel_writes_total{engine="${engine === 'native' ? 'js' : 'native'}"}`), 0);
    // The request head the native engine's backend leg sent (an IP-address backend), counted apart.
    assert.equal(sample(text, 'wspass_backend_leg_writes_total'), engine === 'native' ? 1 : 0);
    assert.equal(sample(text, 'wspass_tunnels_active{route="echo"}'), 1, 'counted while the tunnel is open');
    // At close only what was not flushed yet is added: the totals stay exact.
    s.end();
    await once(s, 'close');
    await waitForStatus(admin!, (st) => st.counters.routes.echo?.activeTunnels === 0, 'tunnel closed');
    const after = await metrics(admin!, '?flush=1');
    assert.equal(sample(after, toBackend), 3000);
    assert.equal(sample(after, toClient), 3002);
    assert.equal(sample(after, `wspass_tunnel_writes_total{engine="${engine}"}`), writes, 'the close report holds the writes already counted');
    assert.equal((await adminStatus(admin!)).counters.routes.echo?.activeTunnels, 0);
    // Histograms and close reasons are read from the workers' shared rows too, whichever worker took it.
    assert.equal(sample(after, 'wspass_handshake_duration_seconds_count{outcome="success"}'), 1);
    assert.equal(sample(after, 'wspass_tunnel_duration_seconds_count'), 1);
    assert.equal(sample(after, 'wspass_tunnel_closes_total{route="echo",reason="client-closed"}'), 1);
  });
}
