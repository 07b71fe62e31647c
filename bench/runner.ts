// Runs scenarios case by case. Every case gets fresh processes (a backend that held thousands of idle
// connections stays slower for the rest of its life, DESIGN §5): start the backend (and wspass), run the
// scenario, stop them. A case whose window saw more than `noiseLimitCores` of other tenants' CPU is run
// again (up to `maxAttempts`) and the quietest attempt is kept.
import { startBackend } from './processes/backend.js';
import { startProxy } from './processes/proxy.js';
import { startReference, type ReferenceName, type ReferenceProcess } from './reference/start.js';
import type { PinPlan } from './measure/pinning.js';
import { SCENARIOS } from './scenarios/registry.js';
import type { AdminClient, CaseContext, CaseResult, CaseSpec, Measurement, ScenarioName, ScenarioSettings } from './scenarios/types.js';

export interface RunnerOptions {
  pin: PinPlan | null;
  /** Bench an already-running proxy instead of starting wspass. */
  target?: { url: URL; pids: number[] | null; backendPort: number } | undefined;
  /** Run the direct (no-proxy) baseline case of each scenario. */
  direct: boolean;
  /** wspass's tunnel engines, each wspass case once per engine (empty: the config's default). */
  engines?: readonly ('native' | 'js')[];
  /** Reference proxies run after wspass's cases of each scenario, with the same load (--compare). */
  compare?: readonly ReferenceName[];
  noiseLimitCores: number;
  maxAttempts: number;
  /** Called before each case with a one-line description, and after it with the result. */
  progress?: (event: { kind: 'case-start'; text: string } | { kind: 'case-end'; result: CaseResult } | { kind: 'note'; text: string }) => void;
}

export interface BackendInfo {
  impl: 'uws' | 'ws';
  fallbackReason?: string;
}

/** Scenarios whose unit of work is one access-log line (a tunnel's lifetime, a request). */
const ACCESS_LOG_SCENARIOS: readonly ScenarioName[] = ['handshake', 'http'];
/** Where a case without the native front runs: the unit of work is a connection (or its first request). */
const FRONT_SCENARIOS: readonly ScenarioName[] = ['handshake', 'http'];

export class Runner {
  readonly #opts: RunnerOptions;
  backend: BackendInfo | undefined;
  /** Version line of each reference proxy that ran. */
  readonly referenceVersions = new Map<string, string>();

  constructor(opts: RunnerOptions) {
    this.#opts = opts;
  }

  /**
   * The cases of one scenario: direct first (when asked), then the proxy's; wspass's once per worker
   * count, labelled with the count when it is not the usual single worker or when counts are compared.
   */
  casesOf(name: ScenarioName, workers: readonly number[] = [1]): CaseSpec[] {
    const def = SCENARIOS[name];
    const t = this.#opts.target;
    const proxyLabel = t ? 'target' : 'wspass';
    const cases: CaseSpec[] = this.#opts.direct && !def.proxyOnly ? [{ variant: 'direct', label: 'direct', prefix: '/' }] : [];
    const base = def.proxyCases(proxyLabel, t !== undefined);
    if (t) {
      for (const c of base) cases.push({ ...c, variant: 'target' });
      return cases;
    }
    const named = workers.length > 1 || workers[0] !== 1;
    const engines = this.#opts.engines ?? [];
    for (const n of workers) {
      for (const c of base) {
        const label = named ? `${c.label} ${workerLabel(n)}` : c.label;
        if (engines.length === 0) cases.push({ ...c, workers: n, label });
        for (const engine of engines) cases.push({ ...c, workers: n, engine, label: `${label} ${engine}` });
        // The access log writes one line per tunnel or request: measured where that is the unit of work.
        if (ACCESS_LOG_SCENARIOS.includes(name) && c.prefix === '/') {
          const engine = engines[0];
          cases.push({ ...c, workers: n, accessLog: true, ...(engine ? { engine } : {}), label: `${label}${engine ? ` ${engine}` : ''} +access log` });
        }
        // The native front (on by default on the native engine) changes the accept and the read of the first
        // head: what it saves is measured where a connection is the unit of work, by a case with it off.
        if (FRONT_SCENARIOS.includes(name) && c.prefix === '/' && (engines.length === 0 || engines.includes('native'))) {
          cases.push({ ...c, workers: n, noFront: true, engine: 'native', label: `${label} native -front` });
        }
      }
    }
    // The incumbents get the scenario's plain cases only (the async variants are wspass routes).
    for (const ref of this.#opts.compare ?? []) {
      for (const c of def.proxyCases(ref, true)) cases.push({ ...c, variant: 'reference', reference: ref, label: ref });
    }
    return cases;
  }

  async runScenario(name: ScenarioName, settings: ScenarioSettings, workers: readonly number[] = [1]): Promise<CaseResult[]> {
    const out: CaseResult[] = [];
    for (const spec of this.casesOf(name, workers)) out.push(await this.runCase(name, spec, settings));
    return out;
  }

  async runCase(name: ScenarioName, spec: CaseSpec, settings: ScenarioSettings): Promise<CaseResult> {
    let best: Measurement | undefined;
    let attempts = 0;
    while (attempts < this.#opts.maxAttempts) {
      attempts++;
      this.#opts.progress?.({
        kind: 'case-start',
        text: `${name} · ${spec.label}${attempts > 1 ? ` (attempt ${attempts})` : ''}`,
      });
      const m = await this.#once(name, spec, settings);
      const noise = m.cpu?.foreignCores ?? 0;
      if (!best || noise < (best.cpu?.foreignCores ?? 0)) best = m;
      if (noise <= this.#opts.noiseLimitCores) break;
      this.#opts.progress?.({
        kind: 'note',
        text: `other processes used ${(noise * 100).toFixed(0)}% of a core during the window (limit ${(this.#opts.noiseLimitCores * 100).toFixed(0)}%)`,
      });
    }
    const m = best!;
    const noise = m.cpu?.foreignCores ?? 0;
    if (noise > this.#opts.noiseLimitCores) {
      m.warnings.push(`noisy: other processes used ${(noise * 100).toFixed(0)}% of a core in the best of ${attempts} attempts`);
    }
    const result: CaseResult = { scenario: name, variant: spec.variant, label: spec.label, settings, attempts, ...m };
    if (spec.workers !== undefined) result.workers = spec.workers;
    if (spec.engine !== undefined) result.engine = spec.engine;
    if (spec.accessLog) result.accessLog = true;
    if (spec.noFront) result.noFront = true;
    if (spec.reference !== undefined) {
      result.reference = spec.reference;
      const v = this.referenceVersions.get(spec.reference);
      if (v !== undefined) result.referenceVersion = v;
    }
    this.#opts.progress?.({ kind: 'case-end', result });
    return result;
  }

  async #once(name: ScenarioName, spec: CaseSpec, settings: ScenarioSettings): Promise<Measurement> {
    const { pin, target } = this.#opts;
    const backendPort = spec.variant === 'target' && target ? target.backendPort : 0;
    const backend = await startBackend({ cpus: pin?.backend, port: backendPort });
    if (!this.backend) {
      this.backend = { impl: backend.impl };
      if (backend.fallbackReason) {
        this.backend.fallbackReason = backend.fallbackReason;
        this.#opts.progress?.({ kind: 'note', text: backend.fallbackReason });
      }
    }
    let proxy: Awaited<ReturnType<typeof startProxy>> | ReferenceProcess | undefined;
    try {
      let ctx: CaseContext;
      if (spec.variant === 'direct') {
        ctx = contextFor(`127.0.0.1:${backend.port}`, '/', null, backend.child.pid, settings, null);
      } else if (spec.variant === 'target' && target) {
        const base = target.url.pathname.endsWith('/') ? target.url.pathname : `${target.url.pathname}/`;
        ctx = contextFor(target.url.host, base, target.pids, backend.child.pid, settings, null);
      } else if (spec.variant === 'reference') {
        const ref = await startReference(spec.reference as ReferenceName, { backendPort: backend.port, cpus: pin?.proxy });
        proxy = ref;
        this.referenceVersions.set(ref.name, ref.version);
        ctx = contextFor(`127.0.0.1:${ref.port}`, spec.prefix, ref.pids, backend.child.pid, settings, null);
      } else {
        proxy = await startProxy({
          backendPort: backend.port,
          cpus: pin?.proxy,
          workers: spec.workers ?? 1,
          // Always: the writes figure adds wspass's own count of its native engine's sends (syscw misses them).
          admin: true,
          ...(spec.engine ? { engine: spec.engine } : {}),
          ...(spec.accessLog ? { accessLog: true } : {}),
          ...(spec.noFront ? { tunnelExtra: { front: false } } : {}),
          nodeFlags: SCENARIOS[name].nodeFlags,
        });
        ctx = contextFor(`127.0.0.1:${proxy.port}`, spec.prefix, [proxy.child.pid], backend.child.pid, settings, proxy.admin);
      }
      return await SCENARIOS[name].run(ctx);
    } finally {
      await proxy?.stop();
      await backend.child.stop();
    }
  }
}

export function contextFor(
  hostPort: string,
  prefix: string,
  proxyPids: readonly number[] | null,
  backendPid: number,
  settings: ScenarioSettings,
  admin: AdminClient | null,
): CaseContext {
  return {
    wsBase: `ws://${hostPort}${prefix}`,
    httpBase: `http://${hostPort}${prefix}`,
    proxyPids,
    backendPid,
    settings,
    admin,
  };
}

export function workerLabel(n: number): string {
  return `${n} worker${n === 1 ? '' : 's'}`;
}
