// The gate's measurements: the base and the head proxy measured at the same time. Per CPU figure one
// fresh backend, then blocks: each block starts a fresh base and a fresh head proxy, both pinned to the
// proxy core, runs the same load against both at once (pair-drivers.ts), and after an unrecorded warm-up
// reads, at each window edge, both proxies' CPU time and the work each one did. A window is a pair: base
// and head measured over the same instants, so the machine's speed at that moment, the other tenants'
// load and the load generator's own hiccups fall on both alike (bench/README.md: why not alternating
// windows). Memory: per sample, a fresh backend and both proxies holding the same idle tunnels.
// The base may also be a reference proxy (nginx, HAProxy, the minimal Node proxy): `bench:versus`
// measures wspass against it the same way (versus.ts).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PinPlan } from '../measure/pinning.js';
import { foreignCoreFraction } from '../measure/cost.js';
import { clockTicksPerSecond, readCpuTicks, readProcessCpuNs, readProcessCpuTicks, readSystemCpu, sumOverPids } from '../measure/proc.js';
import { LoadSession } from '../loadgen/run-shards.js';
import { startBackend } from '../processes/backend.js';
import type { Child } from '../processes/children.js';
import { startProxy, type ProxyProcess } from '../processes/proxy.js';
import { startReference, type ReferenceName } from '../reference/start.js';
import { settledRss } from '../scenarios/idle.js';
import { SCENARIOS } from '../scenarios/registry.js';
import type { ScenarioSettings } from '../scenarios/types.js';
import { costFromNs, type FigureRecord, type WindowRecord } from './decision.js';
import { loadOf } from './figures.js';
import type { GateFigure } from './figures.js';
import { startPairLoad, type PairDriver } from './pair-drivers.js';
import type { Rev } from './stats.js';
import type { Revision } from './tree.js';

export interface AbOptions {
  pin: PinPlan | null;
  shards: number;
  /** Windows per cpu figure (each one a pair: both revisions at once), split over `blocks`. */
  pairs: number;
  blocks: number;
  /**
   * Blocks added to a CPU figure whose first `blocks` put its point estimate above the limit without
   * its interval's lower bound (0: never). See `wantsMoreBlocks` in decision.ts.
   */
  extraBlocks: number;
  /** Memory samples (fresh processes, both revisions at once). */
  memoryPairs: number;
  windowS: number;
  /** Unrecorded load at the start of each block (V8 compiles the hot paths in the first second). */
  warmupS: number;
  /** Idle connections each proxy opens per half of a memory sample (the figure is the second half's). */
  idleConnections: number;
}

/** What one side of a pair runs: a wspass revision, or a reference proxy from the machine's packages. */
export type Contestant = Revision | { reference: ReferenceName };

export interface Revisions {
  head: Revision;
  /** Null when there is no usable base; `baseError` says why. */
  base: Contestant | null;
  baseError?: string;
}

/** A CPU figure's load settings: the scenario's own, one message in flight, the gate's window. */
export function settingsOf(fig: GateFigure, o: AbOptions): ScenarioSettings {
  return { ...SCENARIOS[fig.scenario].defaults, inFlight: 1, shards: o.shards, ...fig.sizes, durationS: o.windowS, warmupS: o.warmupS };
}

/**
 * V8 flags of the proxies in memory samples: each isolate's young generation at its full 16 MiB
 * semi-spaces from the start. V8 grows it from 1 MiB under the first thousands of handshakes' garbage,
 * about 15 MiB per isolate at a moment that differs from run to run; measured without these flags, a
 * step of 400 tunnels that caught that growth read 8 MiB more than the others, and the RSS drop of a
 * young generation shrinking again made a native-engine sample negative. Both revisions run them.
 */
const MEMORY_NODE_FLAGS = ['--min-semi-space-size=16', '--max-semi-space-size=16'];

/**
 * Whether `rev` has the `tunnel.heapReclaimMs` key (its generated JSON schema says so). Memory samples turn
 * the reclaim off where it exists: a memory-reducing collection at a quiet moment inside a sample shrinks
 * the young generation MEMORY_NODE_FLAGS fixed, and its regrowth during the next half read as per-tunnel
 * growth (measured: head 1.5 against base 0.7 KiB per tunnel with it, 0.95 against 1.16 without). What the
 * reclaim gives back is the bench's idle case's figure, not the gate's.
 */
export function hasHeapReclaim(rev: Revision): boolean {
  const schema = join(dirname(rev.cli), '../../../schema/wspass.schema.json');
  return existsSync(schema) && readFileSync(schema, 'utf8').includes('"heapReclaimMs"');
}

/** A started proxy of either kind: its port, the processes whose CPU and memory are its own, its child. */
interface PairProxy {
  port: number;
  pids: readonly number[];
  child: Child;
  stop(): Promise<void>;
}

function startProxyOf(rev: Contestant, backendPort: number, fig: GateFigure, pin: PinPlan | null): Promise<PairProxy> {
  if ('reference' in rev) return startReference(rev.reference, { backendPort, cpus: pin?.proxy });
  return startWspass(rev, backendPort, fig, pin).then((p) => ({ port: p.port, child: p.child, pids: [p.child.pid], stop: () => p.stop() }));
}

function startWspass(rev: Revision, backendPort: number, fig: GateFigure, pin: PinPlan | null): Promise<ProxyProcess> {
  const memory = fig.kind === 'memory' ? { nodeFlags: MEMORY_NODE_FLAGS, ...(hasHeapReclaim(rev) ? { tunnelExtra: { heapReclaimMs: 0 } } : {}) } : {};
  const opts = { backendPort, cpus: pin?.proxy, workers: 1, cli: rev.cli, plainOnly: true, ...memory };
  return startProxy(fig.engine ? { ...opts, engine: fig.engine } : opts);
}

/** First lines of an error (a proxy's exit message carries its stderr tail after it). */
function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').filter((l) => l.trim() !== '').slice(0, 3).join(' | ');
}

/** Which revision opens its connections first in a block: alternated. */
export function blockStartOrder(block: number): readonly [Rev, Rev] {
  return block % 2 === 0 ? ['head', 'base'] : ['base', 'head'];
}

/** Windows per block: `pairs` split over the blocks, the first ones taking the remainder. */
export function pairsPerBlock(pairs: number, blocks: number): number[] {
  return Array.from({ length: blocks }, (_, b) => Math.floor(pairs / blocks) + (b < pairs % blocks ? 1 : 0));
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Proxies = Record<Rev, PairProxy>;

/**
 * Starts both proxies at once (each start is mostly waiting for a process and its worker thread; starting
 * them in turn cost about a second per block). On failure stops what started and says which revision
 * failed; when both fail, the base is named (its failure is what marks a figure "no base").
 */
async function startBoth(revs: Record<Rev, Contestant>, backendPort: number, fig: GateFigure, o: AbOptions): Promise<Proxies | { rev: Rev; error: string }> {
  const [base, head] = await Promise.allSettled([startProxyOf(revs.base, backendPort, fig, o.pin), startProxyOf(revs.head, backendPort, fig, o.pin)]);
  if (base.status === 'fulfilled' && head.status === 'fulfilled') return { base: base.value, head: head.value };
  await stopAll({ base: base.status === 'fulfilled' ? base.value : undefined, head: head.status === 'fulfilled' ? head.value : undefined });
  if (base.status === 'rejected') {
    const what = 'reference' in revs.base ? `${revs.base.reference} did not start` : 'base proxy did not start (config rejected or crashed)';
    return { rev: 'base', error: `${what}: ${reason(base.reason)}` };
  }
  return { rev: 'head', error: `head proxy did not start: ${reason((head as PromiseRejectedResult).reason)}` };
}

async function stopAll(p: Partial<Proxies>): Promise<void> {
  await Promise.all([p.base?.stop(), p.head?.stop()]);
}

function exited(p: PairProxy): boolean {
  return p.child.process.exitCode !== null || p.child.process.signalCode !== null;
}

/** What is read at a window edge: each revision's work, CPU time (ns) and ticks, and the machine's busy ticks. */
interface Edge {
  t: number;
  work: Record<Rev, number>;
  ns: Record<Rev, number | null>;
  ticks: Record<Rev, number | null>;
  others: number;
  busy: number;
}

async function readEdge(driver: PairDriver, p: Proxies, backendPid: number): Promise<Edge> {
  // The work first (one message round trip to the shards), then the counters: the few hundred µs
  // between them fall on both revisions alike.
  const work = await driver.counts();
  return {
    t: performance.now(),
    work,
    ns: { base: sumOverPids(p.base.pids, readProcessCpuNs), head: sumOverPids(p.head.pids, readProcessCpuNs) },
    ticks: { base: sumOverPids(p.base.pids, readProcessCpuTicks), head: sumOverPids(p.head.pids, readProcessCpuTicks) },
    others: readCpuTicks([backendPid, process.pid]),
    busy: readSystemCpu().busy,
  };
}

/** The two records (base, head) of the window between edges a and b. */
function windowRecords(fig: GateFigure, a: Edge, b: Edge, block: number): WindowRecord[] {
  const seconds = (b.t - a.t) / 1000;
  const hz = clockTicksPerSecond();
  const diff = (x: number | null, y: number | null) => (x === null || y === null ? null : y - x);
  const own = (['base', 'head'] as const).reduce((n, rev) => n + (diff(a.ticks[rev], b.ticks[rev]) ?? 0), b.others - a.others);
  const foreignCores = foreignCoreFraction(b.busy - a.busy, own, seconds, hz);
  return (['base', 'head'] as const).map((rev) => {
    const units = b.work[rev] - a.work[rev];
    const ns = diff(a.ns[rev], b.ns[rev]);
    const cost = ns === null ? null : costFromNs(ns, units, fig.unit);
    return { rev, cost, units, ticks: diff(a.ticks[rev], b.ticks[rev]), cpuMs: ns === null ? null : ns / 1e6, seconds, foreignCores, backendCost: null, block };
  });
}

/**
 * One CPU figure: `o.blocks` blocks of a fresh base and head proxy, each running the load against both
 * at once and recording its share of the `o.pairs` windows. The decision's units are the blocks' mean
 * log ratios (a proxy's cost depends on its process as well as on its code: bench/README.md). With
 * `more`, adds `o.extraBlocks` blocks of as many windows as the first block had to that record instead.
 */
export async function runCpuFigure(fig: GateFigure, revs: Revisions, o: AbOptions, log: (l: string) => void, more?: FigureRecord): Promise<FigureRecord> {
  const rec: FigureRecord = more ?? { key: fig.key, ...loadOf(fig), windows: [] };
  if (!revs.base) return { ...rec, baseError: revs.baseError ?? 'no base revision' };
  if (fig.scenario === 'idle') throw new Error(`${fig.key} is a memory figure`);
  const settings = settingsOf(fig, o);
  const paths: Record<Rev, Contestant> = { head: revs.head, base: revs.base };
  const backend = await startBackend({ cpus: o.pin?.backend });
  try {
    const first = more === undefined ? 0 : Math.max(...rec.windows.map((w) => w.block ?? 0)) + 1;
    const counts = more === undefined ? pairsPerBlock(o.pairs, o.blocks) : Array.from({ length: first + o.extraBlocks }, () => pairsPerBlock(o.pairs, o.blocks)[0]!);
    for (let block = first; block < counts.length; block++) {
      const order = blockStartOrder(block);
      const proxies = await startBoth(paths, backend.port, fig, o);
      if ('error' in proxies) return { ...rec, [proxies.rev === 'base' ? 'baseError' : 'headError']: proxies.error };
      try {
        const driver = await startPairLoad(fig.scenario, { base: proxies.base.port, head: proxies.head.port }, order, settings);
        let stopped: Awaited<ReturnType<PairDriver['stop']>> | undefined;
        try {
          await delay(o.warmupS * 1000);
          let edge = await readEdge(driver, proxies, backend.child.pid);
          for (let w = 0; w < counts[block]!; w++) {
            await delay(o.windowS * 1000);
            const next = await readEdge(driver, proxies, backend.child.pid);
            const [b, h] = windowRecords(fig, edge, next, block);
            rec.windows.push(b!, h!);
            log(`  block ${block + 1} window ${w + 1}: base ${fmt(b!.cost)} · head ${fmt(h!.cost)} ${fig.unit}`);
            edge = next;
          }
        } finally {
          stopped = await driver.stop();
        }
        for (const rev of order) {
          if (exited(proxies[rev])) {
            const tail = proxies[rev].child.stderrTail().split('\n').slice(-2).join(' | ');
            return { ...rec, [rev === 'base' ? 'baseError' : 'headError']: `${rev} proxy exited during the windows: ${tail}` };
          }
        }
        if (stopped.errors > 0) {
          return { ...rec, headError: `${stopped.errors} load error(s) in block ${block + 1} (base or head): ${stopped.firstError ?? ''}` };
        }
      } finally {
        await stopAll(proxies);
      }
    }
    return rec;
  } finally {
    await backend.child.stop();
  }
}

/** RSS moves in pages: a growth below one page over a sample counts as one page. */
const PAGE_KIB = 4;

/** KiB per tunnel from the RSS before and after `n` tunnels were opened (null when a reading failed). */
export function growthPerTunnel(before: number | null, after: number | null, n: number): number | null {
  if (before === null || after === null || n <= 0) return null;
  return Math.max(after - before, PAGE_KIB) / n;
}

/** Idle connections each proxy opens and closes before the first reading (code loading, first use). */
const MEMORY_WARM_CONNECTIONS = 50;

/** Opens `n` idle tunnels on each proxy (in turns) and holds them until the session is stopped. */
async function holdIdle(ports: Record<Rev, number>, order: readonly [Rev, Rev], n: number, shards: number): Promise<LoadSession> {
  const hold = await LoadSession.open({ kind: 'idle', urls: order.map((rev) => `ws://127.0.0.1:${ports[rev]}/echo`), connections: n, shards, sizeBytes: 0 });
  hold.start();
  hold.measure();
  return hold;
}

/**
 * One memory sample, the bench's own definition with one difference: a fresh backend and both proxies
 * (with MEMORY_NODE_FLAGS), a few tunnels opened and closed, then `idleConnections` idle tunnels held on
 * each, RSS read, `idleConnections` more, RSS again: the figure is the second half's growth per tunnel
 * (what each further tunnel costs; the first half takes one-time growth such as the garbage collection
 * of the warm-up's handshakes). A growth under one 4 KiB page counts as one page.
 */
async function memorySample(fig: GateFigure, revs: Record<Rev, Contestant>, o: AbOptions, order: readonly [Rev, Rev], block: number): Promise<WindowRecord[] | { rev: Rev; error: string }> {
  const backend = await startBackend({ cpus: o.pin?.backend });
  try {
    const proxies = await startBoth(revs, backend.port, fig, o);
    if ('error' in proxies) return proxies;
    const holds: LoadSession[] = [];
    try {
      const ports = { base: proxies.base.port, head: proxies.head.port };
      const warm = await holdIdle(ports, order, MEMORY_WARM_CONNECTIONS, o.shards);
      warm.stop();
      await warm.results(0);
      await warm.close();
      const rss = async () => {
        const out: Partial<Record<Rev, number | null>> = {};
        for (const rev of order) out[rev] = await settledRss(proxies[rev].pids);
        return out as Record<Rev, number | null>;
      };
      holds.push(await holdIdle(ports, order, o.idleConnections, o.shards));
      const half = await rss();
      holds.push(await holdIdle(ports, order, o.idleConnections, o.shards));
      const all = await rss();
      return (['base', 'head'] as const).map((rev) => ({
        rev,
        cost: growthPerTunnel(half[rev], all[rev], o.idleConnections),
        units: o.idleConnections,
        ticks: null,
        cpuMs: null,
        seconds: 0,
        foreignCores: null,
        backendCost: null,
        block,
      }));
    } finally {
      for (const h of holds) h.stop();
      await Promise.all(
        holds.map(async (h) => {
          await h.results(0);
          await h.close();
        }),
      );
      await stopAll(proxies);
    }
  } finally {
    await backend.child.stop();
  }
}

export async function runMemoryFigure(fig: GateFigure, revs: Revisions, o: AbOptions, log: (l: string) => void): Promise<FigureRecord> {
  const rec: FigureRecord = { key: fig.key, ...loadOf(fig), windows: [] };
  if (!revs.base) return { ...rec, baseError: revs.baseError ?? 'no base revision' };
  const paths: Record<Rev, Contestant> = { head: revs.head, base: revs.base };
  for (let i = 0; i < o.memoryPairs; i++) {
    const got = await memorySample(fig, paths, o, blockStartOrder(i), i);
    if ('error' in got) return { ...rec, [got.rev === 'base' ? 'baseError' : 'headError']: got.error };
    rec.windows.push(...got);
    log(`  sample ${i + 1}: base ${fmt(got[0]!.cost)} · head ${fmt(got[1]!.cost)} ${fig.unit}`);
  }
  return rec;
}

function fmt(x: number | null): string {
  return x === null ? '—' : x.toPrecision(4);
}
