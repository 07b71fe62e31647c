// The gate's commands: `gate` (base vs this checkout), `selftest` (base vs base with a calibrated
// regression injected), `baseline` (record the base commit) and `estimate` (resampled error rates
// from recorded gate runs). Exit codes: 0 pass, 1 regression (or self-test not caught), 2 usage.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ArgError, type BenchArgs } from '../args.js';
import { median } from '../measure/cost.js';
import { setUpPinning, type Pinning } from '../measure/pinning.js';
import { startBackend } from '../processes/backend.js';
import { CLI, startProxy } from '../processes/proxy.js';
import { roundForDiff } from '../report/results.js';
import { contextFor } from '../runner.js';
import { SCENARIOS } from '../scenarios/registry.js';
import { parseAcceptFile, type AcceptEntry } from './accept.js';
import { runCpuFigure, settingsOf, type AbOptions, type Revisions } from './ab-run.js';
import { blockLogRatios, type FigureDecision, type FigureRecord } from './decision.js';
import { baselineText, parseBaseline, type BaselineFile } from './baseline.js';
import { centered, simulateGates, smallestCaught, type Pools } from './estimate.js';
import { redecide } from './redecide.js';
import { GATE_FIGURE_KEYS, GATE_FIGURES, sameLoad, type GateFigure } from './figures.js';
import { injectNativeSendCost, injectWriteCost } from './inject.js';
import { measureAndDecide, type GateRecord } from './run-gate.js';
import { seededRandom, unitLogRatios } from './stats.js';
import { headState, prepareTree, resolveCommit, TreeError, type TempTree } from './tree.js';

const log = (l: string) => console.log(l);

function readBaselineFile(file: string): BaselineFile {
  if (!existsSync(file)) return { format: 'wspass-bench-baseline/2' };
  try {
    return parseBaseline(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ArgError(`${file}: ${(err as Error).message}`);
  }
}

function readAccepted(file: string): AcceptEntry[] {
  if (!existsSync(file)) return [];
  try {
    return parseAcceptFile(readFileSync(file, 'utf8'), GATE_FIGURE_KEYS).accepted;
  } catch (err) {
    throw new ArgError(`${file}: ${(err as Error).message}`);
  }
}

export function abOptions(args: BenchArgs, pinning: Pinning): AbOptions {
  return {
    pin: pinning.plan,
    shards: args.shards,
    pairs: args.pairs,
    blocks: args.blocks,
    extraBlocks: args.extraBlocks,
    memoryPairs: args.memoryPairs,
    windowS: args.windowS,
    // Unrecorded load at the start of each block: V8 compiles the hot paths in the first second.
    warmupS: 1,
    idleConnections: 1000,
  };
}

interface BaseChoice {
  rev: string | null;
  source: string;
}

function baseChoice(args: BenchArgs, baseline: BaselineFile): BaseChoice {
  if (args.base !== undefined) return { rev: args.base, source: '--base' };
  if (baseline.baseCommit !== undefined) return { rev: baseline.baseCommit, source: args.baselineFile };
  return { rev: null, source: 'none recorded' };
}

/** Builds the base; on failure returns why (the figures then show "no base"). */
function buildBase(choice: BaseChoice): { tree?: TempTree; commit: string | null; error?: string } {
  if (choice.rev === null) return { commit: null, error: `no baseCommit in the baseline file (${choice.source}); record one with \`npm run bench:baseline\`` };
  const commit = resolveCommit(choice.rev);
  if (commit === null) return { commit: null, error: `${choice.rev} (from ${choice.source}) is not a commit in this clone; a full clone is needed` };
  log(`building base ${commit.slice(0, 10)} (from ${choice.source}) in a temporary worktree …`);
  try {
    const tree = prepareTree(commit, 'base');
    log(`  built in ${tree.seconds.toFixed(1)} s; ${tree.setup}`);
    return { tree, commit };
  } catch (err) {
    if (!(err instanceof TreeError)) throw err;
    log(`  base not usable: ${err.message}`);
    return { commit, error: `base ${commit.slice(0, 10)} is not buildable: ${err.message.split('\n')[0]}` };
  }
}

function figuresOf(args: BenchArgs): string[] {
  const bad = args.figures.find((f) => !GATE_FIGURE_KEYS.includes(f));
  if (bad !== undefined) throw new ArgError(`--figure: "${bad}" is not a gated figure; use ${GATE_FIGURE_KEYS.join(', ')}`);
  return args.figures;
}

/** The figures the self-test's regressions are calibrated on and must be caught on: one per engine. */
const MESSAGE_FIGURES = ['echo.cpu_per_msg.native', 'echo.cpu_per_msg.js'] as const;


export async function commandGate(args: BenchArgs): Promise<number> {
  const baseline = readBaselineFile(args.baselineFile);
  const accepted = readAccepted(join(dirname(args.baselineFile), 'gate-accept.json'));
  const choice = baseChoice(args, baseline);
  const pinning = setUpPinning(1, args.pin);
  log(`wspass perf gate: this checkout against ${choice.rev ?? '(no base)'}: ${args.pairs} windows measuring both at once, in ${args.blocks} blocks, per CPU figure; fails when a ratio's interval lies above 1.03`);
  log(pinning.description);
  const t0 = performance.now();
  const base = buildBase(choice);
  const build = (performance.now() - t0) / 1000;
  try {
    const revs: Revisions = { head: { commit: null, cli: CLI }, base: base.tree ?? null };
    if (base.error !== undefined) revs.baseError = base.error;
    const record = await measureAndDecide({
      kind: args.kind,
      revs,
      head: headState(),
      base: { commit: base.commit, source: choice.source, ...(base.tree ? { setup: base.tree.setup } : {}) },
      baseRequired: choice.rev !== null,
      accepted,
      ab: abOptions(args, pinning),
      pinning: pinning.description,
      timings: { 'base build': Math.round(build * 10) / 10 },
      jsonFile: args.jsonFile ?? join(args.outDir, 'gate.json'),
      only: figuresOf(args),
      log,
    });
    return record.outcome.failed ? 1 : 0;
  } finally {
    base.tree?.remove();
  }
}

/**
 * The base's CPU per message on the gate's message figure and its writes per message, measured as the
 * gate measures: blocks of the base against an identical copy (the injected tree before its patch), both
 * at once; the median of their windows. One block was too few under load: its cost differed from the
 * gate's own base cost by up to 4× (a JavaScript calibration at 88 µs/msg before a gate measuring 19),
 * which sized the injection at 40 % instead of 10. The write count comes from a solo echo window: the
 * JavaScript engine's from /proc/<pid>/io, the native engine's from the base's own count of its sends.
 */
/** Blocks of the calibration (each a fresh pair of proxies, 2 windows). */
const CALIBRATION_BLOCKS = 3;

async function calibrate(fig: GateFigure, base: TempTree, copy: TempTree, ab: AbOptions): Promise<{ costUs: number; writesPerMsg: number }> {
  const rec = await runCpuFigure(fig, { base, head: copy }, { ...ab, blocks: CALIBRATION_BLOCKS, pairs: 2 * CALIBRATION_BLOCKS }, () => undefined);
  const costUs = median(rec.windows.map((w) => w.cost));
  if (costUs === null) throw new Error(`calibration: the base proxy did no measurable echo work${rec.baseError ?? rec.headError ? `: ${rec.baseError ?? rec.headError}` : ''}`);
  // Strict ping-pong (one message in flight per connection) cannot coalesce: 2 writes per message, the
  // fallback where no count is read. The spin is injected into the calls each engine writes with, so
  // each engine's own calls are counted: the JavaScript engine's write(2)/writev(2) in /proc/<pid>/io's
  // syscw; the native engine's send(2) calls, which syscw does not see (what it shows there is the odd
  // log or thread wake-up: a spin sized from it ran 78 ms per send), by the base's own count
  // (wspass_tunnel_writes_total{engine="native"} through its admin endpoint). A base from before that
  // count has none to read: its two sends are taken as they are. The backend legs' sends (in the same
  // count, where the base has them) are not the relay's: the spin is not in them, so they are left out.
  const backend = await startBackend({ cpus: ab.pin?.backend });
  try {
    const p = await startProxy({ backendPort: backend.port, cpus: ab.pin?.proxy, workers: 1, cli: base.cli, plainOnly: true, engine: fig.engine, admin: true });
    try {
      const settings = { ...settingsOf(fig, ab), durationS: 1 };
      const m = await SCENARIOS[fig.scenario].run(contextFor(`127.0.0.1:${p.port}`, '/', [p.child.pid], backend.child.pid, settings, p.admin));
      const w = m.writes;
      const relaySends = w?.nativeSends === undefined ? undefined : w.nativeSends - (w.legSends ?? 0);
      const own = fig.engine === 'js' ? (w ? w.syscalls - (w.nativeSends ?? 0) : undefined) : relaySends;
      const measured = own !== undefined && m.units > 0 ? own / m.units : 0;
      return { costUs, writesPerMsg: measured >= 1 ? measured : 2 };
    } finally {
      await p.stop();
    }
  } finally {
    await backend.child.stop();
  }
}

export async function commandSelfTest(args: BenchArgs): Promise<number> {
  const baseline = readBaselineFile(args.baselineFile);
  const choice = baseChoice(args, baseline);
  const rev = choice.rev ?? 'HEAD';
  const commit = resolveCommit(rev);
  if (commit === null) throw new ArgError(`--base: ${rev} is not a commit here`);
  const pinning = setUpPinning(1, args.pin);
  const ab = abOptions(args, pinning);
  log(`wspass perf gate self-test: ${commit.slice(0, 10)} against itself with +${args.injectPct}% of its CPU per message injected`);
  log(pinning.description);
  const trees: TempTree[] = [];
  try {
    const t0 = performance.now();
    const base = prepareTree(commit, 'base');
    trees.push(base);
    const injected = prepareTree(commit, 'injected');
    trees.push(injected);
    const build = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const injectedInfo: Record<string, object> = {};
    const judged: string[] = [];
    // Both calibrations first, on the still identical trees; then both patches.
    const plans = [];
    for (const key of MESSAGE_FIGURES) {
      const fig = GATE_FIGURES.find((f) => f.key === key)!;
      if (fig.engine === 'native' && !existsSync(join(injected.dir, 'build', 'Release', 'wspass_native.node'))) {
        log(`${key}: not judged: ${commit.slice(0, 10)} has no native engine here (${injected.setup})`);
        continue;
      }
      const cal = await calibrate(fig, base, injected, ab);
      plans.push({ fig, cal, spinUs: ((args.injectPct / 100) * cal.costUs) / cal.writesPerMsg });
    }
    for (const { fig, cal, spinUs } of plans) {
      let where: string;
      if (fig.engine === 'native') {
        injectNativeSendCost(injected.dir, spinUs);
        where = 'the C relay\'s send, addon rebuilt';
      } else {
        where = `net.Socket write, ${injectWriteCost(injected.dir, spinUs)} compiled files patched`;
      }
      log(`calibrated ${fig.key}: base ${cal.costUs.toFixed(2)} µs/msg, ${cal.writesPerMsg.toFixed(2)} writes/msg → ${spinUs.toFixed(3)} µs spin per write (${where})`);
      injectedInfo[fig.key] = { baseCostUsPerMsg: cal.costUs, writesPerMsg: cal.writesPerMsg, spinUsPerWrite: spinUs };
      judged.push(fig.key);
    }
    if (judged.length === 0) throw new ArgError('self-test: no message figure can be injected');
    const calibration = (performance.now() - t1) / 1000;
    const jsonFile = args.jsonFile ?? join(args.outDir, 'gate-selftest.json');
    const record: GateRecord = await measureAndDecide({
      kind: 'self-test',
      revs: { base, head: injected },
      head: { commit, injected: { pct: args.injectPct, ...injectedInfo } },
      base: { commit, source: choice.source, setup: base.setup },
      baseRequired: true,
      accepted: [],
      ab,
      pinning: pinning.description,
      timings: { 'base + injected build': Math.round(build * 10) / 10, 'calibration + injection': Math.round(calibration * 10) / 10 },
      jsonFile,
      only: figuresOf(args),
      log,
    });
    const rows = judged.map((key) => record.outcome.rows.find((r) => r.key === key)).filter((r) => r !== undefined);
    const caught = rows.length === judged.length && rows.every((r) => r.verdict === 'REGRESSED');
    for (const r of rows) {
      // What was injected, against the base's cost as the gate itself measured it (the calibration's moment
      // and the gate's differ under load): the size a reader of the record should judge the catch by.
      const info = injectedInfo[r.key] as { writesPerMsg: number; spinUsPerWrite: number };
      const effective = r.base ? `${(((info.writesPerMsg * info.spinUsPerWrite) / r.base) * 100).toFixed(1)} % of the gate's base cost` : 'the gate measured no base cost';
      Object.assign(info, { injectedPctOfGateBase: r.base ? Math.round(((info.writesPerMsg * info.spinUsPerWrite) / r.base) * 1000) / 10 : null });
      log(`  ${r.key}: ${r.verdict === 'REGRESSED' ? 'caught' : 'NOT caught'} (${r.verdict}); injected ${effective}`);
    }
    writeFileSync(jsonFile, `${JSON.stringify(roundForDiff(record), null, 1)}\n`);
    log(`self-test ${caught ? 'PASSED' : 'FAILED'}: the injected +${args.injectPct}% was ${caught ? 'caught' : 'NOT caught'} on ${judged.join(' and ')}`);
    return caught ? 0 : 1;
  } catch (err) {
    if (err instanceof TreeError) {
      log(`self-test could not build ${commit.slice(0, 10)}: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    for (const t of trees) t.remove();
  }
}

export function commandBaseline(args: BenchArgs): number {
  const rev = args.base ?? 'HEAD';
  const commit = resolveCommit(rev);
  if (commit === null) throw new ArgError(`--base: ${rev} is not a commit here`);
  writeFileSync(args.baselineFile, baselineText(commit, `recorded from ${rev}; the gate builds this commit and measures it beside the head`));
  log(`wrote ${args.baselineFile}: baseCommit ${commit}`);
  return 0;
}

function readRecords(dir: string): GateRecord[] {
  if (!existsSync(dir)) throw new ArgError(`--records: no directory ${dir}`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as GateRecord)
    .filter((r) => r.format === 'wspass-gate-run/1');
}

/**
 * Per figure, the units of its interval (block means or pairs) pooled over the recorded runs; a simulated
 * gate draws as many as a run's first stage measures (its `blocks`, or its units when it recorded no
 * blocks) and, for CPU figures, `extraBlocks` more when the gate would (decision.ts `wantsMoreBlocks`).
 */
function poolsOf(records: readonly GateRecord[], extraBlocks: number): Pools {
  const pools: Pools = {};
  for (const f of GATE_FIGURES) {
    const runs = records
      .map((r) => ({ r, x: r.records.find((x) => x.key === f.key) }))
      .filter((e): e is { r: GateRecord; x: FigureRecord } => e.x !== undefined && e.x.baseError === undefined && e.x.headError === undefined && sameLoad(f, e.x.sizes));
    const units = runs.map((e) => unitLogRatios(blockLogRatios(e.x.windows)));
    const first = runs.map((e, i) => (f.kind === 'cpu' && e.r.settings.blocks > 0 ? Math.min(e.r.settings.blocks, units[i]!.length) : units[i]!.length));
    pools[f.key] = { logRatios: units.flat(), pairs: median(first) ?? 0, extra: f.kind === 'cpu' ? extraBlocks : 0 };
  }
  return pools;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function commandEstimate(args: BenchArgs): number {
  const records = readRecords(args.recordsDir);
  const aa = records.filter((r) => r.kind === 'aa');
  const injected = records.filter((r) => r.kind === 'self-test');
  log(`resampling estimate from ${args.recordsDir}: ${aa.length} A/A runs, ${injected.length} injected runs; ${args.trials} simulated gates each`);
  const random = seededRandom(20261201);
  const n = GATE_FIGURES.length;
  if (aa.length > 0) {
    const raw = poolsOf(aa, args.extraBlocks);
    const pools = centered(raw);
    const rates = (sim: ReturnType<typeof simulateGates>) =>
      `${pct(sim.gateFailRate)} of simulated gates (${Object.entries(sim.figureFailRate).map(([k, v]) => `${k} ${pct(v)}`).join(', ')})`;
    log(`A/A mean head ÷ base per figure: ${Object.entries(raw).map(([k, p]) => `${k} ${Math.exp(p.logRatios.reduce((a, b) => a + b, 0) / Math.max(1, p.logRatios.length)).toFixed(3)}`).join(', ')}`);
    log(`A/A as recorded: false alarms in ${rates(simulateGates(raw, n, args.trials, random))}`);
    log(`A/A centred (each figure's mean removed): false alarms in ${rates(simulateGates(pools, n, args.trials, random))}`);
    log(`real A/A runs failed: ${aa.filter((r) => r.outcome.failed).length} of ${aa.length}`);
    for (const f of GATE_FIGURES) {
      const p = pools[f.key]!;
      if (p.logRatios.length === 0) continue;
      const r = smallestCaught(p, n, Math.min(args.trials, 2000), random);
      log(`  ${f.key}: ${p.logRatios.length} recorded units (block means or pairs), ${p.pairs} per run; smallest regression caught 9 in 10 (centred A/A + shift): ${r === null ? 'none up to +60%' : `+${((r - 1) * 100).toFixed(1)}%`}`);
    }
  }
  if (injected.length > 0) {
    const pools = poolsOf(injected, args.extraBlocks);
    const sim = simulateGates(pools, n, args.trials, random);
    for (const key of MESSAGE_FIGURES) {
      const fig = GATE_FIGURES.find((f) => f.key === key)!;
      const rows = injected
        .filter((r) => r.records.some((x) => x.key === key && sameLoad(fig, x.sizes)))
        .map((r) => r.outcome.rows.find((x) => x.key === key))
        .filter((x) => x !== undefined);
      if (rows.length === 0) continue;
      log(`injected: ${key} caught in ${pct(sim.figureFailRate[key] ?? 0)} of simulated gates; real runs of today's load caught ${rows.filter((r) => r.verdict === 'REGRESSED').length} of ${rows.length}, measured ratios ${rows.map((r) => r.interval?.ratio.toFixed(3) ?? '—').join(', ')}`);
    }
    log(`injected: some figure failed in ${pct(sim.gateFailRate)} of simulated gates`);
  }
  logRedecided(aa, 'A/A', (d) => d.fails, 'failed');
  logRedecided(injected, 'injected', (d) => d.verdict === 'REGRESSED', 'caught', MESSAGE_FIGURES);
  return 0;
}

/**
 * The recorded runs decided again under today's rule (they may predate it): per figure, how many would
 * fail (A/A) or be caught (injected), and the ratios with their bounds.
 */
function logRedecided(runs: readonly GateRecord[], kind: string, counts: (d: FigureDecision) => boolean, verb: string, keys: readonly string[] = GATE_FIGURE_KEYS): void {
  for (const key of keys) {
    const ds = runs.flatMap((r) => {
      const rec = r.records.find((x) => x.key === key);
      const fig = GATE_FIGURES.find((f) => f.key === key)!;
      if (rec === undefined || rec.baseError !== undefined || rec.headError !== undefined || !sameLoad(fig, rec.sizes)) return [];
      const first = fig.kind === 'cpu' ? r.settings.blocks : Number.MAX_SAFE_INTEGER;
      return [redecide(rec, first, { baseRequired: true, baseCommit: null, accepted: [] })];
    });
    if (ds.length === 0) continue;
    const missing = ds.filter((d) => d.secondStageMissing).length;
    const fmt = ds.map((d) => (d.decision.interval ? `${d.decision.interval.ratio.toFixed(3)} [${d.decision.interval.lower.toFixed(3)}, ${d.decision.interval.upper.toFixed(3)}]${d.secondStageMissing ? '*' : ''}` : '—'));
    log(`${kind} runs re-decided under today's rule: ${key} ${verb} in ${ds.filter((d) => counts(d.decision)).length} of ${ds.length}: ${fmt.join(', ')}${missing ? ` (* today's rule asks for a second stage the run did not measure: ${missing})` : ''}`);
  }
}
