// Entry of the bench: `npm run bench` (run the scenario set and write results.json + report.html),
// `npm run bench:gate` (the A/B perf gate against the base commit; exit 1 on a regression), its
// self-test, `bench:baseline` (record the base commit) and `bench:estimate`. Argument errors exit 2.
//
//   bench main process (load generator, pinned)        child processes (fresh per case, pinned)
//   ├─ piscina shards (worker threads, ws clients) ──▶ wspass run --config <bench config>  ──▶ echo backend
//   ├─ autocannon (HTTP scenario)                  ──┘                                     (uWS, or ws fallback)
//   └─ reads /proc: proxy + backend CPU, RSS, /proc/stat noise
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgError, USAGE, parseBenchArgs, type BenchArgs } from './args.js';
import { commandBaseline, commandEstimate, commandGate, commandSelfTest } from './gate/commands.js';
import { headState } from './gate/tree.js';
import { commandVersus } from './gate/versus.js';
import { setUpPinning } from './measure/pinning.js';
import { NATIVE_ADDON_BUILT } from './processes/proxy.js';
import { fmtLatencyUs, fmtNumber, fmtThroughput } from './report/format.js';
import { htmlReport } from './report/html.js';
import { buildResults, machineInfo, roundForDiff, writeResultsJson, type BenchResults } from './report/results.js';
import { terminalReport } from './report/terminal.js';
import { referenceMissing } from './reference/start.js';
import { Runner, type RunnerOptions } from './runner.js';
import { SCENARIOS } from './scenarios/registry.js';
import type { CaseResult } from './scenarios/types.js';
import { runPlan, settingsFor, workersFor } from './settings.js';

const NOISE_LIMIT_CORES = 0.05;

function caseLine(c: CaseResult, seconds: number): string {
  const lat = c.latency ? `, p50 ${fmtLatencyUs(c.latency.p50Us)}, p99 ${fmtLatencyUs(c.latency.p99Us)}` : '';
  const cost = c.cost.proxy !== null ? `, proxy ${fmtNumber(c.cost.proxy)} ${c.cost.unit}` : c.cost.backend !== null ? `, backend ${fmtNumber(c.cost.backend)} ${c.cost.unit}` : '';
  const warn = c.warnings.length ? `  ! ${c.warnings.join('; ')}` : '';
  return `${fmtThroughput(c.throughput.value, c.throughput.unit)}${lat}${cost} (${seconds.toFixed(1)} s)${warn}`;
}

function makeRunner(
  args: BenchArgs,
  pinning: ReturnType<typeof setUpPinning>,
  direct: boolean,
  totalCases: number,
  maxAttempts = 3,
): Runner {
  let n = 0;
  let started = 0;
  const opts: RunnerOptions = {
    pin: pinning.plan,
    direct,
    noiseLimitCores: NOISE_LIMIT_CORES,
    maxAttempts,
    progress: (e) => {
      if (e.kind === 'case-start') {
        if (!/attempt/.test(e.text)) n++;
        started = performance.now();
        process.stdout.write(`[${n}/${totalCases}] ${e.text} … `);
      } else if (e.kind === 'case-end') {
        process.stdout.write(`${caseLine(e.result, (performance.now() - started) / 1000)}\n`);
      } else {
        process.stdout.write(`\n  note: ${e.text}\n`);
      }
    },
  };
  if (args.target) opts.target = { url: args.target, pids: args.targetPids, backendPort: args.backendPort! };
  else {
    opts.engines = args.engines ?? (NATIVE_ADDON_BUILT ? ['native', 'js'] : ['js']);
    opts.compare = args.compare.filter((r) => referenceMissing(r) === null);
  }
  return new Runner(opts);
}


/** The most worker threads any case of the run starts (the proxy is pinned to that many CPUs). */
function maxWorkers(args: BenchArgs): number {
  return Math.max(1, ...runPlan(args).flatMap((e) => workersFor(e, args)));
}

async function commandRun(args: BenchArgs): Promise<number> {
  const pinning = setUpPinning(maxWorkers(args), args.pin);
  const plan = runPlan(args);
  const probe = makeRunner(args, pinning, args.direct, 0);
  const total = plan.reduce((n, e) => n + probe.casesOf(e.scenario, workersFor(e, args)).length, 0);
  const estimate = plan.reduce((t, e) => {
    const st = settingsFor(e.scenario, args, e.sizes);
    return t + probe.casesOf(e.scenario, workersFor(e, args)).length * (st.durationS + st.warmupS + 1.5);
  }, 0);
  const names = plan.map((e) => e.scenario).join(', ');
  console.log(`wspass bench${args.set ? ` (${args.set} set)` : ''}: ${names} — ${total} cases, about ${Math.round(estimate)} s`);
  console.log(pinning.description);
  if (args.target && !args.targetPids) console.log('note: no --target-pid, so the target proxy\'s CPU and memory cost are not measured');
  if (!args.target && !args.engines && !NATIVE_ADDON_BUILT) console.log('note: the native addon is not built (no compiler at npm ci?): wspass runs the js engine only');
  for (const r of args.compare) {
    const why = referenceMissing(r);
    if (why !== null) console.log(`note: --compare ${r} skipped: ${why}`);
  }
  const runner = makeRunner(args, pinning, args.direct, total);
  const cases: CaseResult[] = [];
  for (const e of plan) {
    cases.push(...(await runner.runScenario(e.scenario, settingsFor(e.scenario, args, e.sizes), workersFor(e, args))));
  }
  const proxy: BenchResults['proxy'] = { name: args.target ? 'target' : 'wspass' };
  if (runner.referenceVersions.size > 0) proxy.references = Object.fromEntries(runner.referenceVersions);
  if (args.target) proxy.target = args.target.href;
  else proxy.workers = [...new Set(cases.flatMap((c) => (c.workers === undefined ? [] : [c.workers])))];
  const results = buildResults({
    command: `bench ${process.argv.slice(2).join(' ')}`.trim(),
    source: headState(),
    machine: machineInfo(),
    pinning: pinning.description,
    backend: runner.backend ?? { impl: 'uws' },
    proxy,
    cases,
  });
  console.log('');
  console.log(terminalReport(results));
  const jsonFile = writeResultsJson(args.outDir, results);
  const htmlFile = join(args.outDir, 'report.html');
  const titles = Object.fromEntries(Object.values(SCENARIOS).map((s) => [s.name, { title: s.title, description: s.description }]));
  writeFileSync(htmlFile, htmlReport(roundForDiff(results) as typeof results, titles));
  console.log(`\nwrote ${jsonFile} and ${htmlFile}`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv);
    switch (args.command) {
      case 'help':
        process.stdout.write(USAGE);
        return 0;
      case 'gate':
        return await commandGate(args);
      case 'versus':
        return await commandVersus(args);
      case 'selftest':
        return await commandSelfTest(args);
      case 'baseline':
        return commandBaseline(args);
      case 'estimate':
        return commandEstimate(args);
      case 'run':
        return await commandRun(args);
    }
  } catch (err) {
    if (err instanceof ArgError) {
      process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
