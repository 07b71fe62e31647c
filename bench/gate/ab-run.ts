// The gate's measurements. CPU figures: per scenario one fresh backend and one base and one head proxy,
// both started once and pinned to the proxy's core, then short windows alternated in ABBA order so the
// machine's drift and other tenants' load fall on both revisions alike. Memory: fresh processes per
// sample (RSS growth is a one-shot figure), alternated ABBA as well.
import type { PinPlan } from '../measure/pinning.js';
import { startBackend, type Backend } from '../processes/backend.js';
import { startProxy, type ProxyProcess } from '../processes/proxy.js';
import { contextFor } from '../runner.js';
import { SCENARIOS } from '../scenarios/registry.js';
import type { Measurement, ScenarioSettings } from '../scenarios/types.js';
import { windowRecordOf, type FigureRecord } from './decision.js';
import type { GateFigure } from './figures.js';
import { abbaRev, type Rev } from './stats.js';
import type { Revision } from './tree.js';

export interface AbOptions {
  pin: PinPlan | null;
  shards: number;
  /** Pairs of windows (cpu figures) or of fresh samples (memory). */
  pairs: number;
  memoryPairs: number;
  windowS: number;
  warmupS: number;
  /** Idle connections held per memory sample. */
  idleConnections: number;
}

export interface Revisions {
  head: Revision;
  /** Null when there is no usable base; `baseError` says why. */
  base: Revision | null;
  baseError?: string;
}

export function settingsOf(fig: GateFigure, o: AbOptions): ScenarioSettings {
  const s: ScenarioSettings = { ...SCENARIOS[fig.scenario].defaults, inFlight: 1, shards: o.shards, ...fig.sizes };
  // idle: warmupS is the settle time before each RSS reading.
  if (fig.kind === 'memory') return { ...s, connections: o.idleConnections, warmupS: 0.3, durationS: 0.1 };
  return { ...s, durationS: o.windowS, warmupS: o.warmupS };
}

function startProxyOf(rev: Revision, backendPort: number, pin: PinPlan | null): Promise<ProxyProcess> {
  return startProxy({ backendPort, cpus: pin?.proxy, workers: 1, cli: rev.cli, plainOnly: true });
}

/** First line of an error (a proxy's exit message carries its stderr tail after it). */
function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').filter((l) => l.trim() !== '').slice(0, 3).join(' | ');
}

export async function runCpuFigure(fig: GateFigure, revs: Revisions, o: AbOptions, log: (l: string) => void): Promise<FigureRecord> {
  const rec: FigureRecord = { key: fig.key, windows: [] };
  if (!revs.base) return { ...rec, baseError: revs.baseError ?? 'no base revision' };
  const settings = settingsOf(fig, o);
  let backend: Backend | undefined;
  const proxies: Partial<Record<Rev, ProxyProcess>> = {};
  try {
    backend = await startBackend({ cpus: o.pin?.backend });
    try {
      proxies.head = await startProxyOf(revs.head, backend.port, o.pin);
    } catch (err) {
      return { ...rec, headError: `head proxy did not start: ${reason(err)}` };
    }
    try {
      proxies.base = await startProxyOf(revs.base, backend.port, o.pin);
    } catch (err) {
      return { ...rec, baseError: `base proxy did not start (config rejected or crashed): ${reason(err)}` };
    }
    const windowOn = (rev: Rev) => {
      const p = proxies[rev]!;
      return SCENARIOS[fig.scenario].run(contextFor(`127.0.0.1:${p.port}`, '/', [p.child.pid], backend!.child.pid, settings, null));
    };
    // One unrecorded window each first: the first seconds of a fresh proxy are spent compiling its hot
    // paths (V8 tiers up), which would make whichever revision goes first look slower.
    await windowOn('head');
    await windowOn('base');
    for (let i = 0; i < 2 * o.pairs; i++) {
      const rev = abbaRev(i);
      const p = proxies[rev]!;
      if (p.child.process.exitCode !== null || p.child.process.signalCode !== null) {
        return { ...rec, [rev === 'base' ? 'baseError' : 'headError']: `${rev} proxy exited during the windows: ${p.child.stderrTail().split('\n').slice(-2).join(' | ')}` };
      }
      const w = windowRecordOf(rev, fig.kind, await windowOn(rev));
      rec.windows.push(w);
      if (i % 2 === 1) {
        const [a, b] = rec.windows.slice(-2);
        log(`  pair ${(i + 1) / 2}: ${a!.rev} ${fmt(a!.cost)} · ${b!.rev} ${fmt(b!.cost)} ${fig.unit}`);
      }
    }
    return rec;
  } finally {
    await proxies.base?.stop();
    await proxies.head?.stop();
    await backend?.child.stop();
  }
}

/** One fresh backend + proxy of `rev` per sample: RSS growth per connection over the held tunnels. */
async function memorySample(fig: GateFigure, rev: Revision, o: AbOptions): Promise<Measurement> {
  const backend = await startBackend({ cpus: o.pin?.backend });
  try {
    const p = await startProxyOf(rev, backend.port, o.pin);
    try {
      const ctx = contextFor(`127.0.0.1:${p.port}`, '/', [p.child.pid], backend.child.pid, settingsOf(fig, o), null);
      return await SCENARIOS[fig.scenario].run(ctx);
    } finally {
      await p.stop();
    }
  } finally {
    await backend.child.stop();
  }
}

export async function runMemoryFigure(fig: GateFigure, revs: Revisions, o: AbOptions, log: (l: string) => void): Promise<FigureRecord> {
  const rec: FigureRecord = { key: fig.key, windows: [] };
  if (!revs.base) return { ...rec, baseError: revs.baseError ?? 'no base revision' };
  for (let i = 0; i < 2 * o.memoryPairs; i++) {
    const rev = abbaRev(i);
    let m: Measurement;
    try {
      m = await memorySample(fig, rev === 'base' ? revs.base : revs.head, o);
    } catch (err) {
      const what = `${rev} proxy did not start${rev === 'base' ? ' (config rejected or crashed)' : ''}: ${reason(err)}`;
      return { ...rec, [rev === 'base' ? 'baseError' : 'headError']: what };
    }
    rec.windows.push(windowRecordOf(rev, fig.kind, m));
    if (i % 2 === 1) {
      const [a, b] = rec.windows.slice(-2);
      log(`  pair ${(i + 1) / 2}: ${a!.rev} ${fmt(a!.cost)} · ${b!.rev} ${fmt(b!.cost)} ${fig.unit}`);
    }
  }
  return rec;
}

function fmt(x: number | null): string {
  return x === null ? '—' : x.toPrecision(4);
}
