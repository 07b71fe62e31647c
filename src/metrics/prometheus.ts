// Prometheus metrics of the whole process, read from the shared counters and the supervisor's view of
// its workers at scrape time (prom-client collect callbacks): the primary never asks the workers anything
// (unless the admin request says `?flush=1`: then it has them flush first, see admin-server.ts).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ErrorCode } from '../errors.js';
import type { MemberStatus } from '../balancer/registry.js';
import { CLOSE_REASONS, closeField, type CounterSnapshot } from '../workers/shared-counters.js';
import { HISTOGRAMS } from '../workers/shared-histograms.js';
import type { WorkerStatus } from '../workers/supervisor.js';
import { registerSnapshotHistogram } from './snapshot-histogram.js';

/** What a scrape reads: the supervisor's status (workers as they reported themselves, shared counters). */
export interface MetricsSource {
  readonly workers: readonly Pick<WorkerStatus, 'id' | 'engine'>[];
  readonly counters: CounterSnapshot;
  /** Balancer members as the shared member table has them (health, open tunnels). */
  readonly members?: readonly MemberStatus[];
}

export function createMetrics(status: () => MetricsSource): Registry {
  const snapshot = () => status().counters;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wspass_process_' });

  // The tunnel engine of each worker as an info metric (value 1, the facts in labels), so a dashboard or
  // an alert can see a worker that fell back to the JavaScript engine. A worker that has not reported
  // ready yet has no engine and no series.
  new Gauge({
    name: 'wspass_worker_info',
    help: 'Tunnel engine of each worker thread (always 1)',
    labelNames: ['worker', 'engine'],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of status().workers) if (w.engine !== undefined) this.set({ worker: String(w.id), engine: w.engine }, 1);
    },
  });

  new Gauge({
    name: 'wspass_tunnels_active',
    help: 'Open tunnels',
    labelNames: ['route'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [route, c] of Object.entries(snapshot().routes)) this.set({ route }, c.activeTunnels);
    },
  });
  new Gauge({
    name: 'wspass_worker_tunnels_active',
    help: 'Open tunnels per worker thread',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      snapshot().workers.forEach((c, i) => this.set({ worker: String(i) }, c.activeTunnels));
    },
  });

  // Totals are kept in shared memory; each scrape republishes them.
  const total = (name: string, help: string, field: keyof CounterSnapshot['routes'][string]) => ({ name, help, field });
  const totals = [
    total('wspass_tunnels_opened_total', 'Tunnels opened', 'tunnelsOpened'),
    total('wspass_tunnels_closed_total', 'Tunnels closed', 'tunnelsClosed'),
    total('wspass_tunnel_idle_timeouts_total', 'Tunnels closed by idleTimeoutMs', 'idleTimeouts'),
    total('wspass_tunnel_frames_dropped_total', 'Client WebSocket frames dropped because they came after a drain sent the backend its close frame', 'framesDropped'),
    total('wspass_http_requests_total', 'Plain HTTP requests proxied', 'httpRequests'),
    total('wspass_route_errors_total', 'Errors answered on a route', 'errors'),
  ];
  for (const t of totals) {
    new Counter({
      name: t.name,
      help: t.help,
      labelNames: ['route'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [route, c] of Object.entries(snapshot().routes)) this.inc({ route }, c[t.field]);
      },
    });
  }
  new Counter({
    name: 'wspass_tunnel_bytes_total',
    help: 'Bytes relayed through tunnels',
    labelNames: ['route', 'direction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [route, c] of Object.entries(snapshot().routes)) {
        this.inc({ route, direction: 'to_backend' }, c.bytesToBackend);
        this.inc({ route, direction: 'to_client' }, c.bytesToClient);
      }
    },
  });
  // Counted per worker thread, not per route: a per-route count would need one more field per tunnel.
  new Counter({
    name: 'wspass_tunnel_writes_total',
    help: 'Writes tunnels made, all workers, by engine: js, chunks handed to a socket (one write or writev each); native, send(2) and splice(2)-out calls',
    labelNames: ['engine'],
    registers: [registry],
    collect() {
      this.reset();
      const sum = { js: 0, native: 0 };
      for (const w of snapshot().tunnelWrites) {
        sum.js += w.js;
        sum.native += w.native;
      }
      this.inc({ engine: 'js' }, sum.js);
      this.inc({ engine: 'native' }, sum.native);
    },
  });
  // Apart from the tunnels' writes: a handshake's request is not relayed traffic, and per message relayed
  // the tunnel count stays the relay's own syscall cost. The JavaScript engine writes its requests with a
  // net.Socket (a write(2), which /proc/<pid>/io's syscw sees) and has nothing to add here.
  new Counter({
    name: 'wspass_backend_leg_writes_total',
    help: 'send(2) calls the native engine made writing handshake requests to backends (the request head, after any PROXY header), all workers',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(snapshot().backendLegWrites.reduce((sum, n) => sum + n, 0));
    },
  });
  new Counter({
    name: 'wspass_route_member_bytes_total',
    help: 'Bytes relayed through tunnels by route and balancer member',
    labelNames: ['route', 'member', 'direction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { route, member, counters: c } of snapshot().routeMembers) {
        this.inc({ route, member, direction: 'to_backend' }, c.bytesToBackend);
        this.inc({ route, member, direction: 'to_client' }, c.bytesToClient);
      }
    },
  });
  new Counter({
    name: 'wspass_tunnel_closes_total',
    help: 'Tunnels closed, by route and by what ended them (client-closed, backend-closed, idle-timeout, drain, ...)',
    labelNames: ['route', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [route, c] of Object.entries(snapshot().routes)) {
        for (const reason of CLOSE_REASONS) {
          const n = c[closeField(reason)!];
          if (n > 0) this.inc({ route, reason }, n);
        }
      }
    },
  });
  registerSnapshotHistogram(registry, {
    name: 'wspass_handshake_duration_seconds',
    help: 'From an upgrade request to the backend\'s answer (or the failure), by outcome',
    label: 'outcome',
    buckets: HISTOGRAMS.handshake.buckets,
    read: () => snapshot().histograms.handshake,
  });
  registerSnapshotHistogram(registry, {
    name: 'wspass_tunnel_duration_seconds',
    help: 'Lifetime of closed tunnels',
    label: undefined,
    buckets: HISTOGRAMS.tunnelDuration.buckets,
    read: () => snapshot().histograms.tunnelDuration,
  });
  new Counter({
    name: 'wspass_worker_tunnels_opened_total',
    help: 'Tunnels opened per worker thread (its share of the load)',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      snapshot().workers.forEach((c, i) => this.inc({ worker: String(i) }, c.tunnelsOpened));
    },
  });
  new Gauge({
    name: 'wspass_worker_draining',
    help: 'Whether a worker thread is draining (1) or serving (0)',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      snapshot().drains.forEach((d, i) => this.set({ worker: String(i) }, d.draining ? 1 : 0));
    },
  });
  new Gauge({
    name: 'wspass_worker_drain_tunnels_start',
    help: 'Tunnels a draining worker had when its drain began (progress: wspass_worker_tunnels_active over this)',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      snapshot().drains.forEach((d, i) => {
        if (d.draining) this.set({ worker: String(i) }, d.tunnelsAtStart);
      });
    },
  });
  new Gauge({
    name: 'wspass_member_up',
    help: 'Whether a balancer member may take new tunnels and requests now (1) or not (0)',
    labelNames: ['balancer', 'member', 'state', 'health'],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of status().members ?? []) this.set({ balancer: m.balancer, member: m.url, state: m.state, health: m.health }, m.usable ? 1 : 0);
    },
  });
  new Gauge({
    name: 'wspass_member_tunnels_active',
    help: 'Open tunnels through each balancer member, all workers',
    labelNames: ['balancer', 'member'],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of status().members ?? []) this.set({ balancer: m.balancer, member: m.url }, m.activeTunnels);
    },
  });
  new Counter({
    name: 'wspass_errors_total',
    help: 'Errors by catalogue code',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, n] of Object.entries(snapshot().errors)) this.inc({ code }, n);
    },
  });
  // Limit refusals are errors of their own codes; this names them by limit for dashboards.
  new Counter({
    name: 'wspass_limit_rejections_total',
    help: 'Upgrade handshakes refused by a limit',
    labelNames: ['limit'],
    registers: [registry],
    collect() {
      this.reset();
      const errors = snapshot().errors;
      for (const [code, limit] of Object.entries(LIMIT_LABELS)) this.inc({ limit }, errors[code as keyof typeof LIMIT_LABELS] ?? 0);
    },
  });
  return registry;
}

/** The `limit` label of each limit's error code. */
const LIMIT_LABELS = {
  WSP_LIMIT_TUNNELS: 'tunnels',
  WSP_LIMIT_ROUTE: 'route',
  WSP_LIMIT_MEMBER: 'member',
  WSP_LIMIT_CLIENT_TUNNELS: 'client_tunnels',
  WSP_LIMIT_CLIENT_RATE: 'client_rate',
  WSP_ORIGIN_FORBIDDEN: 'origin',
} as const satisfies Partial<Record<ErrorCode, string>>;
