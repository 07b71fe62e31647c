// `npm run sizing`: Kubernetes resource requests for wspass pods from a bench results file (what
// `npm run bench` wrote), for a given load. Usage errors exit 2, an unreadable results file exits 1.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatPodRequests, podRequests, SIZING_DEFAULTS, sizingFigures, type Load } from '../bench/report/pod-requests.js';

const USAGE = `Usage: npm run sizing -- --tunnels N --msgs M [--handshakes H] [--pods P] [--headroom 0.3] [--base-mib 128] [--results FILE]
  --tunnels N      tunnels open at once, over all pods
  --msgs M         messages per second, over all pods (a message and its reply count once, as in the bench's echo)
  --handshakes H   new WebSocket handshakes per second, over all pods (default 0)
  --pods P         pods sharing the load (default 1)
  --headroom X     added to the measured need, 0.3 = 30 % (default 0.3)
  --base-mib B     memory of a wspass pod with no tunnel, MiB (default 128)
  --results FILE   the bench results (default bench/out/results.json, written by npm run bench)`;

function fail(message: string, code: number): never {
  console.error(`sizing: ${message}`);
  if (code === 2) console.error(USAGE);
  process.exit(code);
}

function number(value: string | undefined, name: string, fallback: number | undefined): number {
  if (value === undefined) {
    if (fallback === undefined) fail(`--${name} is required`, 2);
    return fallback;
  }
  const n = Number(value.replaceAll('_', '').replaceAll(',', ''));
  if (!Number.isFinite(n) || n < 0) fail(`--${name} must be a number ≥ 0, not "${value}"`, 2);
  return n;
}

let values: Record<string, string | undefined>;
try {
  const opts = { type: 'string' } as const;
  values = parseArgs({
    options: { tunnels: opts, msgs: opts, handshakes: opts, pods: opts, headroom: opts, 'base-mib': opts, results: opts },
  }).values;
} catch (err) {
  fail((err as Error).message, 2);
}

const load: Load = {
  tunnels: number(values.tunnels, 'tunnels', undefined),
  msgsPerSec: number(values.msgs, 'msgs', undefined),
  handshakesPerSec: number(values.handshakes, 'handshakes', SIZING_DEFAULTS.handshakesPerSec),
  pods: number(values.pods, 'pods', SIZING_DEFAULTS.pods),
  headroom: number(values.headroom, 'headroom', SIZING_DEFAULTS.headroom),
  baseMiB: number(values['base-mib'], 'base-mib', SIZING_DEFAULTS.baseMiB),
};
const file = values.results ?? 'bench/out/results.json';
let doc: unknown;
try {
  doc = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  fail(`cannot read ${file}: ${(err as Error).message}${values.results === undefined ? ' (run npm run bench first, or give --results)' : ''}`, 1);
}
const figures = sizingFigures(doc);
if (typeof figures === 'string') fail(`${file}: ${figures}`, 1);
try {
  console.log(formatPodRequests(file, figures, load, podRequests(figures, load)));
} catch (err) {
  fail(`${file}: ${(err as Error).message}`, 1);
}
