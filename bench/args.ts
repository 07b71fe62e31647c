// Command-line arguments of the bench (`npm run bench`, `bench:gate`, `bench:baseline`). Pure: returns
// the parsed options or throws ArgError with a message that says what was wrong and what is allowed;
// the CLI prints it with the usage and exits 2.
import { parseArgs } from 'node:util';
import { SCENARIO_NAMES, SET_NAMES, type ScenarioName, type SetName } from './scenarios/types.js';

export const USAGE = `wspass bench: capacity planning and the CI perf gate

Usage:
  npm run bench [-- OPTIONS]            run the default scenario set, both tunnel engines (about 5 minutes on 2 cores)
  npm run bench -- --scenario engine    the worker-engine set: burst share, 1 vs 2 workers, idle at 5,000,
                                        writes per message by async mode (2 min, more when cases are re-run)
  npm run bench:gate [-- OPTIONS]       A/B gate: builds the base commit of bench/baseline.json and measures it
                                        beside this checkout in alternated windows (exit 1 on a regression)
  npm run bench:versus -- --compare NAME[,NAME]
                                        wspass against nginx, haproxy or node-minimal, both measured at once as the
                                        gate measures two revisions: each ratio with its interval, judged against
                                        the native data plane's goals (about 3 minutes per reference)
  npm run bench:selftest [-- OPTIONS]   the gate against its base with a calibrated regression injected
  npm run bench:baseline [-- --base REV]  record REV (default HEAD) as the gate's base commit
  npm run bench:estimate [-- OPTIONS]   false-alarm and detection rates resampled from recorded gate runs

Options:
  --scenario NAME[,NAME]   only these (repeatable): ${SCENARIO_NAMES.join(', ')};
                           or one named set: ${SET_NAMES.join(', ')}
  --duration TIME          measured window of each case: 10, 10s, 500ms, 1m
  --connections N          connections (handshake: parallel loops; idle: connections held)
  --size SIZE              message size: 64, 64B, 4KiB, 1MiB
  --rate N                 open-loop: messages per second over all connections
  --workers N[,N]          wspass worker threads (\`wspass run --workers\`); a list runs every wspass case
                           once per count in the same run, e.g. 1,2 (default: each scenario's own, mostly 1)
  --in-flight N            echo/async: messages each connection keeps in flight (default 1: strict ping-pong)
  --shards N               load-generator threads (piscina), default 2
  --engine NAME[,NAME]     wspass's tunnel engines, every wspass case once per engine: native, js
                           (default: native,js when the native addon is built, else js)
  --compare NAME[,NAME]    also run each scenario through these, same load and pinning: nginx, haproxy
                           (from the machine's packages; skipped with a note when not installed) and
                           node-minimal (bench/reference/minimal-proxy.ts, the JavaScript floor)
  --target URL             bench an already-running proxy at this ws:// URL instead of wspass
  --target-pid PID[,PID]   the target's process ids, to measure its CPU time and memory
  --backend-port N         port of the bench's echo backend (the port your --target forwards to)
  --no-direct              skip the no-proxy baseline cases
  --no-pin                 do not pin processes to CPUs with taskset
  --out DIR                where results.json and report.html go (default bench/out)
  --baseline FILE          gate: the baseline file (default bench/baseline.json; gate-accept.json beside it)
  --base REV               gate/selftest/baseline: the base revision (default: the baseline's baseCommit)
  --pairs N                gate: windows per CPU figure, each measuring base and head at once (default 12)
  --blocks N               gate: fresh base + head proxy processes per CPU figure, windows split over them (default 6)
  --extra-blocks N         gate: blocks added to a CPU figure whose ratio is above 1.03 with its interval across it (default 6; 0: none)
  --window TIME            gate: length of each measured window (default 1.5s)
  --memory-pairs N         gate: samples of fresh base + head proxies per memory figure (default 4)
  --inject PCT             selftest: injected CPU per message, percent of the base's (default 10)
  --figure KEY[,KEY]       gate/selftest/versus: only these figures (gate: default all; versus: default one
                           per goal on the built engine: echo, bulk, handshake, http, idle)
  --kind NAME              gate: label stored in the JSON record (e.g. aa for an A/A run; default gate)
  --json FILE              gate/selftest/versus: where the JSON record goes (default OUT/gate.json, OUT/versus.json)
  --records DIR            estimate: directory of gate JSON records (default bench/gate-records)
  --trials N               estimate: simulated gate decisions (default 5000)
  -h, --help               this text
`;

export class ArgError extends Error {
  override readonly name = 'ArgError';
}

/** A comma-separated list whose every item is one of `allowed` (no repeats). */
function parseList<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((x) => x.trim()).filter(Boolean);
  if (items.length === 0) throw new ArgError(`--${name}: give one or more of ${allowed.join(', ')}`);
  for (const x of items) if (!allowed.includes(x as T)) throw new ArgError(`--${name}: "${x}" is not one of ${allowed.join(', ')}`);
  return [...new Set(items)] as T[];
}

export type Command = 'run' | 'gate' | 'versus' | 'selftest' | 'baseline' | 'estimate' | 'help';
const COMMANDS: readonly string[] = ['run', 'gate', 'versus', 'selftest', 'baseline', 'estimate', 'help'];

export interface BenchArgs {
  command: Command;
  /** Empty: the command's default set (or `set`). */
  scenarios: ScenarioName[];
  /** A named scenario set (`--scenario engine`), with its own sizes and worker counts. */
  set?: SetName;
  durationS?: number;
  connections?: number;
  sizeBytes?: number;
  ratePerSec?: number;
  /** Worker counts; every wspass case runs once per count. Unset: the scenario's (or set's) own. */
  workers?: number[];
  /** echo/async: messages in flight per connection. */
  inFlight?: number;
  /** wspass tunnel engines (unset: native and js when the addon is built, else js). */
  engines?: ('native' | 'js')[];
  /** Reference proxies to compare with (--compare). */
  compare: ('nginx' | 'haproxy' | 'node-minimal')[];
  shards: number;
  target?: URL;
  targetPids: number[] | null;
  backendPort?: number;
  direct: boolean;
  pin: boolean;
  outDir: string;
  baselineFile: string;
  /** gate/selftest/baseline: the base revision instead of the baseline file's. */
  base?: string;
  pairs: number;
  blocks: number;
  extraBlocks: number;
  windowS: number;
  memoryPairs: number;
  injectPct: number;
  kind: string;
  jsonFile?: string;
  recordsDir: string;
  trials: number;
  /** gate/selftest: only these figure keys (empty: all). */
  figures: string[];
}

/** "10", "10s", "1.5s", "500ms", "1m" → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new ArgError(`--duration: "${text}" is not a duration; use seconds like 10 or 10s, or 500ms, or 1m`);
  const n = Number(m[1]);
  const s = m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
  if (s < 0.1 || s > 3600) throw new ArgError(`--duration: ${text} is out of range; use 100ms to 1h`);
  return s;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2 };

/** "64", "64B", "4KiB", "1MiB" → bytes (K/M are binary: 1024-based). */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ArgError(`--size: "${text}" is not a size; use bytes like 64, or 4KiB, 1MiB`);
  const bytes = Number(m[1]) * unit;
  if (bytes < 1 || bytes > 16 * 1024 * 1024) throw new ArgError(`--size: ${text} is out of range; use 1 byte to 16MiB`);
  return bytes;
}

function parseIntIn(option: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new ArgError(`--${option}: "${text}" is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw new ArgError(`--${option}: ${n} is out of range; use ${min} to ${max}`);
  return n;
}

/** Scenario names, or exactly one set name (a set fixes its own sizes, so it is not mixed with names). */
export function parseScenarios(values: readonly string[]): { scenarios: ScenarioName[]; set?: SetName } {
  const out: ScenarioName[] = [];
  let set: SetName | undefined;
  for (const name of values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)) {
    if ((SET_NAMES as readonly string[]).includes(name)) {
      if (set !== undefined && set !== name) throw new ArgError(`--scenario: one set at a time; got "${set}" and "${name}"`);
      set = name as SetName;
      continue;
    }
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
      throw new ArgError(
        `--scenario: unknown scenario "${name}"; choose from ${SCENARIO_NAMES.join(', ')}, or a set: ${SET_NAMES.join(', ')}`,
      );
    }
    if (!out.includes(name as ScenarioName)) out.push(name as ScenarioName);
  }
  if (set !== undefined && out.length > 0) {
    throw new ArgError(`--scenario: the set "${set}" runs its own scenarios; give it alone, or list scenarios without it`);
  }
  return set === undefined ? { scenarios: out } : { scenarios: out, set };
}

/** "2" or "1,2" → [1, 2]: worker counts, each once, in the order given. */
export function parseWorkers(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const n = parseIntIn('workers', part, 1, 256);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

export function parseTarget(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ArgError(`--target: "${text}" is not a URL; give the proxy's WebSocket URL, e.g. ws://127.0.0.1:8080/`);
  }
  if (url.protocol !== 'ws:') {
    throw new ArgError(`--target: "${text}" is not a ws:// URL; give the proxy's WebSocket URL, e.g. ws://127.0.0.1:8080/`);
  }
  return url;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        scenario: { type: 'string', multiple: true },
        duration: { type: 'string' },
        connections: { type: 'string' },
        size: { type: 'string' },
        rate: { type: 'string' },
        workers: { type: 'string' },
        engine: { type: 'string' },
        compare: { type: 'string' },
        'in-flight': { type: 'string' },
        shards: { type: 'string' },
        target: { type: 'string' },
        'target-pid': { type: 'string' },
        'backend-port': { type: 'string' },
        'no-direct': { type: 'boolean' },
        'no-pin': { type: 'boolean' },
        out: { type: 'string' },
        baseline: { type: 'string' },
        base: { type: 'string' },
        pairs: { type: 'string' },
        blocks: { type: 'string' },
        'extra-blocks': { type: 'string' },
        window: { type: 'string' },
        'memory-pairs': { type: 'string' },
        inject: { type: 'string' },
        kind: { type: 'string' },
        json: { type: 'string' },
        records: { type: 'string' },
        trials: { type: 'string' },
        figure: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new ArgError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length > 1) throw new ArgError(`one command at most; got "${positionals.join(' ')}"`);
  const cmd = positionals[0] ?? 'run';
  if (!COMMANDS.includes(cmd)) {
    throw new ArgError(`unknown command "${cmd}"; use run (the default), gate, versus, selftest, baseline or estimate`);
  }
  const picked = parseScenarios(v.scenario ?? []);
  const args: BenchArgs = {
    command: v.help ? 'help' : (cmd as Command),
    scenarios: picked.scenarios,
    shards: v.shards === undefined ? 2 : parseIntIn('shards', v.shards, 1, 16),
    targetPids: null,
    direct: !v['no-direct'],
    pin: !v['no-pin'],
    outDir: v.out ?? 'bench/out',
    baselineFile: v.baseline ?? 'bench/baseline.json',
    pairs: v.pairs === undefined ? 12 : parseIntIn('pairs', v.pairs, 3, 100),
    blocks: v.blocks === undefined ? 6 : parseIntIn('blocks', v.blocks, 3, 50),
    extraBlocks: v['extra-blocks'] === undefined ? 6 : parseIntIn('extra-blocks', v['extra-blocks'], 0, 50),
    windowS: v.window === undefined ? 1.5 : parseDuration(v.window),
    memoryPairs: v['memory-pairs'] === undefined ? 4 : parseIntIn('memory-pairs', v['memory-pairs'], 3, 50),
    injectPct: v.inject === undefined ? 10 : parseIntIn('inject', v.inject.replace(/%$/, ''), 1, 200),
    kind: v.kind ?? 'gate',
    recordsDir: v.records ?? 'bench/gate-records',
    trials: v.trials === undefined ? 5000 : parseIntIn('trials', v.trials, 100, 1_000_000),
    figures: (v.figure ?? []).flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean),
    compare: v.compare === undefined ? [] : parseList('compare', v.compare, ['nginx', 'haproxy', 'node-minimal'] as const),
  };
  if (v.engine !== undefined) args.engines = parseList('engine', v.engine, ['native', 'js'] as const);
  if (cmd !== 'run' && args.engines) throw new ArgError(`--engine is for runs; ${cmd} has its own fixed figures (pick them with --figure)`);
  if (cmd !== 'run' && cmd !== 'versus' && args.compare.length > 0) throw new ArgError(`--compare is for runs and versus; ${cmd} compares wspass revisions`);
  if (args.blocks > args.pairs) throw new ArgError(`--blocks: ${args.blocks} blocks need at least as many pairs (--pairs ${args.pairs})`);
  if (v.base !== undefined) args.base = v.base;
  if (v.json !== undefined) args.jsonFile = v.json;
  if (v.kind !== undefined && !/^[a-z][a-z0-9-]{0,30}$/.test(v.kind)) throw new ArgError(`--kind: "${v.kind}" is not a short lower-case label`);
  if (picked.set !== undefined) {
    if (cmd !== 'run') throw new ArgError(`--scenario ${picked.set} is for runs; ${cmd} has its own fixed figures`);
    args.set = picked.set;
  }
  if (v.duration !== undefined) args.durationS = parseDuration(v.duration);
  if (v.connections !== undefined) args.connections = parseIntIn('connections', v.connections, 1, 50_000);
  if (v.size !== undefined) args.sizeBytes = parseSize(v.size);
  if (v.rate !== undefined) args.ratePerSec = parseIntIn('rate', v.rate, 1, 10_000_000);
  if (v.workers !== undefined) args.workers = parseWorkers(v.workers);
  if (cmd !== 'run' && args.workers) throw new ArgError(`--workers is for runs; ${cmd} measures wspass with one worker`);
  if (v['in-flight'] !== undefined) args.inFlight = parseIntIn('in-flight', v['in-flight'], 1, 1024);
  if (v['target-pid'] !== undefined) {
    args.targetPids = v['target-pid'].split(',').map((p) => parseIntIn('target-pid', p, 1, 2 ** 22));
  }
  if (v['backend-port'] !== undefined) args.backendPort = parseIntIn('backend-port', v['backend-port'], 1, 65535);
  if (v.target !== undefined) {
    args.target = parseTarget(v.target);
    if (args.backendPort === undefined) {
      throw new ArgError(
        '--target needs --backend-port N: the bench starts its echo backend on 127.0.0.1:N, and your proxy must forward there',
      );
    }
    if (cmd !== 'run') throw new ArgError(`--target is for runs, not for ${cmd}`);
  } else {
    if (args.targetPids) throw new ArgError('--target-pid only goes with --target');
  }
  if (args.target && (args.engines || args.compare.length > 0)) throw new ArgError('--engine and --compare run wspass and its references; not with --target');
  return args;
}
