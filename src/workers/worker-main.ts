// Entry of a tunnel worker thread: one ProxyServer bound with SO_REUSEPORT (the kernel spreads new
// connections over the workers), its counters written into the shared buffer, and the primary's
// commands (two-phase reload, drain) applied. Talks to the primary only through protocol.ts messages.
import { parentPort, workerData } from 'node:worker_threads';
import { MemberTable } from '../balancer/member-table.js';
import type { Config } from '../config/schema.js';
import { createLogger, flushLog } from '../log.js';
import type { RouteTable } from '../routing/route-table.js';
import { composeRoutes } from '../server/compose-routes.js';
import { ProxyServer } from '../server/proxy-server.js';
import type { PrimaryMessage, WorkerInit, WorkerMessage } from './protocol.js';
import { toWireError } from './protocol.js';
import { SharedCounters } from './shared-counters.js';
import { WorkerStats } from './worker-stats.js';
import { ClientTable } from '../limits/client-table.js';
import { LimitState } from '../limits/tunnel-admission.js';
import { TunnelCounts } from '../limits/tunnel-counts.js';
import { HeapReclaimer, threadGc } from './heap-reclaim.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (msg: WorkerMessage) => port.postMessage(msg);
const log = createLogger(init.config.log.level).child({ worker: init.id });
const counters = new SharedCounters(init.workers, init.counters);
const stats = new WorkerStats(counters.writer(init.id), new Map(init.slots));
const limits = new LimitState(
  {
    counts: new TunnelCounts(init.workers, init.limits.counts),
    clients: new ClientTable(init.limits.clientCapacity, init.workers, init.limits.clients),
    worker: init.id,
  },
  { routes: new Map(init.slots), members: new Map(init.limits.memberSlots) },
);

/** The routes of `config` over the primary's member table (shared by every thread), not a private copy. */
function routesOver(config: Config, buffer: SharedArrayBuffer): RouteTable {
  return composeRoutes(config, { members: new MemberTable(config, buffer) });
}

const proxy = new ProxyServer(init.config, {
  log,
  stats,
  reusePort: init.reusePort,
  routes: routesOver(init.config, init.members),
  tls: init.tls,
  tunnelIdBase: init.tunnelIdBase,
  workerId: init.id,
  limits,
});

/** Undefined when V8 gave this thread no `gc` (the primary could not expose it): nothing is reclaimed. */
const gc = threadGc();
const reclaimer =
  gc === undefined
    ? undefined
    : new HeapReclaimer({
        gc,
        activity: () => stats.activity,
        onReclaim: (r) =>
          log.info(
            { heapBeforeMiB: mib(r.heapBeforeBytes), heapAfterMiB: mib(r.heapAfterBytes), pauseMs: Math.round(r.pauseMs * 10) / 10 },
            'heap reclaimed after a burst of handshakes',
          ),
      });
const mib = (bytes: number) => Math.round(bytes / 104_857.6) / 10;

async function start(): Promise<void> {
  try {
    const addrs = await proxy.listen(init.ports);
    stats.start();
    reclaimer?.setQuietMs(init.config.tunnel.heapReclaimMs);
    send({ type: 'ready', ports: addrs.map((a) => a.port), engine: proxy.tunnelEngine });
  } catch (err) {
    send({ type: 'startup-failed', error: toWireError(err) });
    await proxy.destroy();
    await flushLog(log);
    process.exit(1);
  }
}

/** Configs prepared and waiting for their commit (or abort), by reload sequence number. */
const prepared = new Map<
  number,
  { config: Config; routes: RouteTable; slots: readonly (readonly [string, number])[]; memberSlots: readonly (readonly [string, number])[] }
>();
let failNextPrepare = false;

port.on('message', (msg: PrimaryMessage) => {
  switch (msg.type) {
    case 'reload-prepare':
      try {
        if (failNextPrepare) {
          failNextPrepare = false;
          throw new Error('fault injection: prepare refused');
        }
        // Everything that can fail about the new config fails here, before any worker switches.
        prepared.set(msg.seq, { config: msg.config, routes: routesOver(msg.config, msg.members), slots: msg.slots, memberSlots: msg.memberSlots });
        send({ type: 'reload-done', phase: 'prepare', seq: msg.seq });
      } catch (err) {
        send({ type: 'reload-failed', phase: 'prepare', seq: msg.seq, error: toWireError(err) });
      }
      break;
    case 'reload-commit': {
      const next = prepared.get(msg.seq);
      prepared.delete(msg.seq);
      try {
        if (next === undefined) throw new Error(`no prepared config for reload ${msg.seq}`);
        // The routes were composed at prepare: the commit only swaps them in.
        limits.setSlots(new Map(next.slots), new Map(next.memberSlots));
        proxy.reload(next.config, next.routes);
        reclaimer?.setQuietMs(next.config.tunnel.heapReclaimMs);
        stats.setSlots(new Map(next.slots));
        send({ type: 'reload-done', phase: 'commit', seq: msg.seq });
      } catch (err) {
        send({ type: 'reload-failed', phase: 'commit', seq: msg.seq, error: toWireError(err) });
      }
      break;
    }
    case 'reload-abort':
      prepared.delete(msg.seq);
      break;
    case 'tls-update':
      try {
        proxy.updateTls(msg.listener, msg.material);
        send({ type: 'reload-done', phase: 'tls', seq: msg.seq });
      } catch (err) {
        send({ type: 'reload-failed', phase: 'tls', seq: msg.seq, error: toWireError(err) });
      }
      break;
    case 'tunnels-list':
      send({ type: 'tunnel-answer', seq: msg.seq, tunnels: proxy.listTunnels(msg.query), closed: 0 });
      break;
    case 'tunnels-close':
      send({ type: 'tunnel-answer', seq: msg.seq, tunnels: [], closed: proxy.closeTunnels(msg.selector) });
      break;
    case 'stats-flush':
      stats.flush();
      send({ type: 'tunnel-answer', seq: msg.seq, tunnels: [], closed: 0 });
      break;
    case 'gc':
      (globalThis as { gc?: () => void }).gc?.();
      break;
    case 'fail-next-prepare':
      if (init.faultInjection) failNextPrepare = true;
      break;
    case 'drain':
      void proxy.drain({ tunnelDrainMs: msg.tunnelDrainMs, deadlineMs: msg.deadlineMs }).then(async () => {
        stats.close();
        reclaimer?.stop();
        send({ type: 'drained' });
        await flushLog(log);
        process.exit(0);
      });
      break;
    case 'crash':
      if (!init.faultInjection) break;
      // Fault injection for tests: an uncaught exception, exactly as a bug would throw one.
      setImmediate(() => {
        throw new Error(msg.message);
      });
      break;
  }
});

void start();
