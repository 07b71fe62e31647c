// Prometheus metrics of the whole process, read from the shared counters and the supervisor's view of
// its workers at scrape time (prom-client collect callbacks): the primary never asks the workers anything.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { CounterSnapshot } from '../workers/shared-counters.js';
import type { WorkerStatus } from '../workers/supervisor.js';

/** What a scrape reads: the supervisor's status (workers as they reported themselves, shared counters). */
export interface MetricsSource {
  readonly workers: readonly Pick<WorkerStatus, 'id' | 'engine'>[];
  readonly counters: CounterSnapshot;
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
  return registry;
}
