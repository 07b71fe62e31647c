// Test and measurement only: a child process (node flags: PROBE_EXEC_ARGV in the test) holding one ProxyServer as a worker holds
// it (native engine, WorkerStats over shared counters), nothing else, so that its JS heap after a full GC
// changes only with the tunnels it relays. The parent opens tunnels through it and asks, over the IPC
// channel: `heap` (what the tunnels' data takes after a full GC) or `snapshot` (a heap snapshot file, to
// diff two of them by object kind).
import v8 from 'node:v8';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { ProxyServer } from '../../src/server/proxy-server.js';
import { SharedCounters } from '../../src/workers/shared-counters.js';
import { WorkerStats } from '../../src/workers/worker-stats.js';

export type ProbeRequest = { readonly type: 'heap' } | { readonly type: 'snapshot'; readonly file: string };
export type ProbeAnswer =
  | { readonly type: 'ready'; readonly port: number; readonly engine: string }
  | { readonly type: 'heap'; readonly heapBytes: number; readonly arrayBufferBytes: number; readonly tunnels: number }
  | { readonly type: 'snapshot'; readonly file: string };

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined || process.send === undefined) throw new Error('run as a forked child with --expose-gc');
const send = (msg: ProbeAnswer) => process.send!(msg);

/**
 * The old generation's data: a full GC moves every surviving young object there, so what the young
 * generation holds afterwards is only what was allocated since (garbage of the moment, not tunnels);
 * the code and bytecode spaces are the engine's work, not data the tunnels hold.
 */
const DATA_SPACES = new Set(['old_space', 'large_object_space']);

function dataHeap(): number {
  let used = 0;
  for (const s of v8.getHeapSpaceStatistics()) if (DATA_SPACES.has(s.space_name)) used += s.space_used_size;
  return used;
}

/** Full collections until the heap stops shrinking (weak maps and finalizers may need a second pass). */
async function settledHeap(): Promise<number> {
  let last = Infinity;
  for (let i = 0; i < 6; i++) {
    gc!();
    await new Promise((r) => setImmediate(r));
    const used = dataHeap();
    if (used >= last) return used;
    last = used;
  }
  return last;
}

const backendPort = Number(process.argv[2]);
const config = configSchema.parse({
  listen: '127.0.0.1:0',
  log: { level: 'warn', access: false },
  tunnel: { engine: 'native' },
  routes: [{ name: 'echo', path: '/', backend: `ws://127.0.0.1:${backendPort}/` }],
});
const stats = new WorkerStats(new SharedCounters(1).writer(0), new Map([['echo', 0]]));
const proxy = new ProxyServer(config, { log: silentLogger(), stats });
const [addr] = await proxy.listen();
stats.start();
process.on('message', (msg: ProbeRequest) => {
  void (async () => {
    if (msg.type === 'heap') {
      const heapBytes = await settledHeap();
      // Typed arrays' data is outside the heap (the native registry's counts live there): counted too.
      send({ type: 'heap', heapBytes, arrayBufferBytes: process.memoryUsage().arrayBuffers, tunnels: proxy.tunnelCount });
    }
    else {
      await settledHeap();
      send({ type: 'snapshot', file: v8.writeHeapSnapshot(msg.file) });
    }
  })();
});
process.on('disconnect', () => void proxy.destroy().then(() => process.exit(0)));
send({ type: 'ready', port: addr!.port, engine: proxy.tunnelEngine });
