// The gate's measurements. CPU figures: per scenario one fresh backend, blocks of a fresh base and head
// proxy pinned to the proxy's core (see runCpuFigure), and short windows alternated in ABBA order so the
// machine's drift and other tenants' load fall on both revisions alike. Memory: fresh processes per
// sample (RSS growth is a one-shot figure), alternated ABBA as well.
import type { PinPlan } from '../measure/pinning.js';
import { startBackend } from '../processes/backend.js';
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
  /** Pairs of windows per cpu figure, split over `blocks` pairs of proxy processes. */
  pairs: number;
  blocks: number;
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

/** Start order of the two proxies in a block: alternated, so neither revision is always started first. */
export function blockStartOrder(block: number): readonly [Rev, Rev] {
  return block % 2 === 0 ? ['head', 'base'] : ['base', 'head'];
}

/** Pairs per block: `pairs` split over the blocks, the first ones taking the remainder. */
export function pairsPerBlock(pairs: number, blocks: number): number[] {
  return Array.from({ length: blocks }, (_, b) => Math.floor(pairs / blocks) + (b < pairs % blocks ? 1 : 0));
}

/**
 * Interleaved windows in blocks. Each block starts a fresh base and head proxy (in alternating order),
 * runs a short unrecorded window on each (V8 compiles the hot paths in the first seconds), then its
 * ABBA pairs. Several blocks because a proxy's cost depends on its process as well as on its code: on
 * the development machine two proxies of the same commit differed by 1.5× per GB in every pair of one
 * run and by 0.67× in the next, so with one process per revision that difference would be read as a
 * regression. The decision's units are the blocks' mean log ratios.
 */
export async function runCpuFigure(fig: GateFigure, revs: Revisions, o: AbOptions, log: (l: string) => void): Promise<FigureRecord> {
  const rec: FigureRecord = { key: fig.key, windows: [] };
  if (!revs.base) return { ...rec, baseError: revs.baseError ?? 'no base revision' };
  const settings = settingsOf(fig, o);
  const warmSettings = { ...settings, durationS: Math.min(0.5, settings.durationS) };
  const paths: Record<Rev, Revision> = { head: revs.head, base: revs.base };
  const backend = await startBackend({ cpus: o.pin?.backend });
  try {
    const counts = pairsPerBlock(o.pairs, o.blocks);
    for (let block = 0; block < counts.length; block++) {
      const proxies: Partial<Record<Rev, ProxyProcess>> = {};
      try {
        for (const rev of blockStartOrder(block)) {
          try {
            proxies[rev] = await startProxyOf(paths[rev], backend.port, o.pin);
          } catch (err) {
            const what = rev === 'base' ? 'base proxy did not start (config rejected or crashed)' : 'head proxy did not start';
            return { ...rec, [rev === 'base' ? 'baseError' : 'headError']: `${what}: ${reason(err)}` };
          }
        }
        const windowOn = (rev: Rev, st: ScenarioSettings) => {
          const p = proxies[rev]!;
          return SCENARIOS[fig.scenario].run(contextFor(`127.0.0.1:${p.port}`, '/', [p.child.pid], backend.child.pid, st, null));
        };
        for (const rev of blockStartOrder(block)) await windowOn(rev, warmSettings);
        for (let i = 0; i < 2 * counts[block]!; i++) {
          const rev = abbaRev(i);
          const p = proxies[rev]!;
          if (p.child.process.exitCode !== null || p.child.process.signalCode !== null) {
            const tail = p.child.stderrTail().split('\n').slice(-2).join(' | ');
            return { ...rec, [rev === 'base' ? 'baseError' : 'headError']: `${rev} proxy exited during the windows: ${tail}` };
          }
          rec.windows.push({ ...windowRecordOf(rev, fig.kind, await windowOn(rev, settings)), block });
          if (i % 2 === 1) {
            const [a, b] = rec.windows.slice(-2);
            log(`  block ${block + 1} pair ${(i + 1) / 2}: ${a!.rev} ${fmt(a!.cost)} · ${b!.rev} ${fmt(b!.cost)} ${fig.unit}`);
          }
        }
      } finally {
        await proxies.base?.stop();
        await proxies.head?.stop();
      }
    }
    return rec;
  } finally {
    await backend.child.stop();
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
