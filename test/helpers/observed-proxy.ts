// An in-process proxy whose log lines are kept and whose metrics can be scraped as the admin endpoint
// serves them: its stats go into shared counters (one worker row) read by the Prometheus registry, as in a
// worker thread. For tests of the access log, the error-line limiter and the metrics.
import { EventEmitter } from 'node:events';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { MemberTable } from '../../src/balancer/member-table.js';
import { BalancerRegistry } from '../../src/balancer/registry.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { createMetrics } from '../../src/metrics/prometheus.js';
import { counterSlotNames } from '../../src/metrics/slot-names.js';
import { composeRoutes } from '../../src/server/compose-routes.js';
import { ProxyServer } from '../../src/server/proxy-server.js';
import { RouteSlots, SharedCounters } from '../../src/workers/shared-counters.js';
import { WorkerStats } from '../../src/workers/worker-stats.js';

/** A log line as JSON. */
export type LogLine = Record<string, unknown> & { msg: string };

export interface ObservedProxy {
  readonly proxy: ProxyServer;
  readonly port: number;
  readonly lines: LogLine[];
  /** The first line (already written or to come) that `pred` accepts. */
  line(pred: (l: LogLine) => boolean): Promise<LogLine>;
  /** The lines `pred` accepts, once there are `n` of them. */
  linesWhen(pred: (l: LogLine) => boolean, n: number): Promise<LogLine[]>;
  scrape(): Promise<Scrape>;
  /** What a worker does on the admin's `?flush=1`: open tunnels' counts into the counters now. */
  flushStats(): void;
}

/** `input.listen` defaults to one plain listener on 127.0.0.1, port 0. */
export async function observedProxy(t: TestContext, input: Omit<ConfigInput, 'listen'> & { listen?: ConfigInput['listen'] }): Promise<ObservedProxy> {
  const config = configSchema.parse({ listen: '127.0.0.1:0', ...input });
  const lines: LogLine[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const log = pino(
    { level: config.log.level },
    {
      write(text: string) {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        events.emit('line');
      },
    },
  );
  const members = new MemberTable(config);
  const routes = composeRoutes(config, { members });
  const counters = new SharedCounters(1);
  const slots = new RouteSlots().assign(counterSlotNames(config));
  const stats = new WorkerStats(counters.writer(0), slots);
  const proxy = new ProxyServer(config, { log, routes, stats });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  const registry = new BalancerRegistry(members, routes.balancers.values());
  const metrics = createMetrics(() => ({
    workers: [{ id: 0, engine: proxy.tunnelEngine }],
    counters: counters.snapshot(slots),
    members: registry.listMembers(),
  }));
  const linesWhen = (pred: (l: LogLine) => boolean, n: number): Promise<LogLine[]> =>
    new Promise((resolve) => {
      const check = () => {
        const found = lines.filter(pred);
        if (found.length < n) return false;
        events.removeListener('line', check);
        resolve(found);
        return true;
      };
      if (!check()) events.on('line', check);
    });
  return {
    proxy,
    port: addr!.port,
    lines,
    line: async (pred) => (await linesWhen(pred, 1))[0]!,
    linesWhen,
    scrape: async () => new Scrape(await metrics.metrics()),
    flushStats: () => stats.flush(),
  };
}

/** A Prometheus text exposition, read back. */
export class Scrape {
  readonly text: string;
  readonly #series: { name: string; labels: Record<string, string>; value: number }[] = [];

  constructor(text: string) {
    this.text = text;
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (m === null) continue;
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
      this.#series.push({ name: m[1]!, labels, value: Number(m[3]) });
    }
  }

  /** The sum of the series named `name` whose labels include `labels` (0 when there is none). */
  get(name: string, labels: Record<string, string> = {}): number {
    return this.#series
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  }

  /** Label values of `label` among the series named `name`. */
  values(name: string, label: string): string[] {
    return [...new Set(this.#series.filter((s) => s.name === name && s.labels[label] !== undefined).map((s) => s.labels[label]!))];
  }
}
