// What one idle native tunnel keeps in JavaScript. The core holds the tunnel's state in C; the JS side
// should hold only a small record (listing, counters, the close log line): the design budget is 400 B.
// A child ProxyServer (test/helpers/tunnel-heap-probe.ts) relays 1,000 tunnels, then 1,000 more; the
// growth of its old generation after full GCs plus its typed arrays' data, divided by 1,000, is the cost
// of one. Measuring the second thousand leaves out what the first ones compiled or allocated once, and
// both steps end just under a power of two, so doubling backing stores count at their average.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { WebSocket } from 'ws';
import { loadNative } from '../../src/tunnel/native-addon.js';
import { nextMessage, openWs, startWsBackend } from '../helpers/peers.js';
import type { ProbeAnswer, ProbeRequest } from '../helpers/tunnel-heap-probe.js';

const native = loadNative();
const skip = native.addon === undefined && process.env.CI !== 'true' ? `native addon not available: ${native.error}` : false;

/**
 * How the probe runs: gc() exposed, no optimizing compilers, no bytecode flushing. Those change the old
 * generation by tens of KiB at moments of their own (deoptimization data, feedback, flushed bytecode);
 * without them the same tunnels give the same number within a few bytes, and the objects a tunnel keeps
 * have the same layout either way.
 */
const PROBE_EXEC_ARGV = ['--expose-gc', '--no-opt', '--no-maglev', '--no-flush-bytecode'];

const PROBE = fileURLToPath(new URL('../helpers/tunnel-heap-probe.js', import.meta.url));
/** The design's budget per idle native tunnel. */
const BUDGET_BYTES = 400;
/** The test fails above this: the budget, and room for a Node whose objects are laid out a little differently (runs here agree within ~15 B). */
const FAIL_ABOVE_BYTES = 500;
const STEP = 1_000;
const WAVE = 250;

function ask(child: ChildProcess, req: ProbeRequest): Promise<ProbeAnswer> {
  const answer = once(child, 'message') as Promise<[ProbeAnswer]>;
  child.send(req);
  return answer.then(([a]) => a);
}

/** What the probe's tunnels take: its heap data and the typed arrays' data outside it. */
async function usedHeap(child: ChildProcess, tunnels: number): Promise<{ heap: number; arrayBuffers: number }> {
  const a = await ask(child, { type: 'heap' });
  assert.ok(a.type === 'heap');
  assert.equal(a.tunnels, tunnels, 'the probe holds every tunnel opened');
  return { heap: a.heapBytes, arrayBuffers: a.arrayBufferBytes };
}

/** Opens `n` tunnels, each proven to relay (an echo): the hand-off to the core is behind it. */
async function openTunnels(t: Parameters<typeof openWs>[0], port: number, n: number): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  for (let done = 0; done < n; done += WAVE) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(WAVE, n - done) }, async () => {
        const ws = await openWs(t, `ws://127.0.0.1:${port}/`);
        const reply = nextMessage(ws);
        ws.send('x');
        assert.equal((await reply).data.toString(), 'x');
        return ws;
      }),
    );
    out.push(...wave);
  }
  return out;
}

test(`an idle native tunnel keeps at most ${BUDGET_BYTES} B in the JS heap (fails above ${FAIL_ABOVE_BYTES} B)`, { skip, timeout: 60_000 }, async (t) => {
  const backend = await startWsBackend(t);
  const child = fork(PROBE, [String(backend.port)], { execArgv: PROBE_EXEC_ARGV, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('error', () => undefined);
  t.after(() => {
    child.kill();
  });
  const [ready] = (await once(child, 'message')) as [ProbeAnswer];
  assert.ok(ready.type === 'ready');
  assert.equal(ready.engine, 'native');

  await openTunnels(t, ready.port, STEP);
  const before = await usedHeap(child, STEP);
  await openTunnels(t, ready.port, STEP);
  const after = await usedHeap(child, 2 * STEP);
  const heap = (after.heap - before.heap) / STEP;
  const arrayBuffers = (after.arrayBuffers - before.arrayBuffers) / STEP;
  const perTunnel = Math.round(heap + arrayBuffers);
  const line = `JS memory per idle native tunnel: ${perTunnel} B (heap ${Math.round(heap)} B, typed arrays ${Math.round(arrayBuffers)} B; budget ${BUDGET_BYTES} B)`;
  t.diagnostic(line);
  assert.ok(perTunnel <= FAIL_ABOVE_BYTES, `${perTunnel} B per tunnel, more than ${FAIL_ABOVE_BYTES} B (budget ${BUDGET_BYTES} B)`);
});
