// Plain HTTP through the proxy with autocannon (keep-alive, one request in flight per connection).
// autocannon 9 mis-times responses after a server closes a keep-alive connection (DESIGN §5), so a run
// whose throughput × mean latency exceeds its connection count is flagged as untrustworthy.
import autocannon from 'autocannon';
import { CpuWindow } from '../measure/window.js';
import { costOf, withWrites, writesOf } from './ws-load.js';
import type { ScenarioDef } from './types.js';

/** Little's law check: requests in flight implied by the figures cannot exceed the connections. */
export function autocannonTimingSuspect(reqPerSec: number, meanLatencyMs: number, connections: number): boolean {
  return reqPerSec * (meanLatencyMs / 1000) > connections * 1.05;
}

function cannon(url: string, connections: number, durationS: number): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: durationS, pipelining: 1 });
}

export const httpScenario: ScenarioDef = {
  name: 'http',
  title: 'Plain HTTP',
  description: 'autocannon GET with keep-alive; request latency and proxy CPU per request',
  defaults: { durationS: 6, warmupS: 1, connections: 50, sizeBytes: 0, ratePerSec: 0 },
  proxyCases: (label) => [{ variant: 'wspass', label, prefix: '/' }],
  async run(ctx) {
    const s = ctx.settings;
    const url = ctx.httpBase + 'http';
    if (s.warmupS > 0) await cannon(url, s.connections, s.warmupS);
    const win = new CpuWindow(ctx.proxyPids, [ctx.backendPid], ctx.admin);
    await win.begin();
    const r = await cannon(url, s.connections, s.durationS);
    win.end();
    const cpu = await win.settled();
    const requests = r['2xx'];
    const perSec = requests / cpu.seconds;
    const warnings: string[] = [];
    if (r.non2xx > 0) warnings.push(`${r.non2xx} non-2xx responses`);
    if (r.errors > 0) warnings.push(`${r.errors} connection errors`);
    if (autocannonTimingSuspect(perSec, r.latency.mean, s.connections)) {
      warnings.push('throughput × mean latency exceeds the connection count: autocannon timing is wrong for this run');
    }
    const ms = (x: number) => Math.round(x * 1000);
    return withWrites({
      units: requests,
      throughput: { value: perSec, unit: 'req/s' },
      // autocannon keeps its own histogram (ms); its percentiles go into the same summary shape.
      latency: {
        count: requests,
        minUs: ms(r.latency.min),
        meanUs: ms(r.latency.mean),
        p50Us: ms(r.latency.p50),
        p90Us: ms(r.latency.p90),
        p99Us: ms(r.latency.p99),
        p999Us: ms(r.latency.p99_9),
        maxUs: ms(r.latency.max),
        curve: [
          { percentile: 0, us: ms(r.latency.min) },
          { percentile: 50, us: ms(r.latency.p50) },
          { percentile: 90, us: ms(r.latency.p90) },
          { percentile: 97.5, us: ms(r.latency.p97_5) },
          { percentile: 99, us: ms(r.latency.p99) },
          { percentile: 99.9, us: ms(r.latency.p99_9) },
          { percentile: 99.99, us: ms(r.latency.p99_99) },
          { percentile: 100, us: ms(r.latency.max) },
        ],
      },
      cpu,
      cost: costOf(cpu, requests, 'µs/req'),
      errors: r.errors + r.non2xx,
      warnings,
    }, writesOf(cpu, requests, 'req'));
  },
};
