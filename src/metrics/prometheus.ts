// Prometheus metrics of the whole process, read from the shared counters at scrape time (prom-client
// collect callbacks): the primary never asks the workers anything.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { CounterSnapshot } from '../workers/shared-counters.js';

export function createMetrics(snapshot: () => CounterSnapshot): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wspass_process_' });

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
