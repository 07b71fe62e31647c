// Kubernetes resource requests for a wspass pod from the bench's capacity figures (results.json): CPU from
// the messages per second per core (and handshakes per second per core, for reconnect traffic), memory
// from the idle tunnels per GiB plus the process's own base. Pure: the CLI (scripts/pod-requests.ts) reads
// the file and prints what this returns.
import type { BenchResults } from './results.js';

export interface Load {
  /** Tunnels open at once, over all pods. */
  tunnels: number;
  /** Messages per second, over all pods; a message and its reply count once (the bench's echo figure). */
  msgsPerSec: number;
  /** New WebSocket handshakes per second, over all pods (reconnects after a deploy or a pod loss). */
  handshakesPerSec: number;
  pods: number;
  /** Added on top of the measured need: 0.3 is 30 %. */
  headroom: number;
  /** Memory of a wspass process with no tunnel (Node, its workers, the config), in MiB. */
  baseMiB: number;
}

/** What the CLI assumes for the parts of a load it is not given. */
export const SIZING_DEFAULTS = { handshakesPerSec: 0, pods: 1, headroom: 0.3, baseMiB: 128 } as const;

export interface PodRequests {
  tunnelsPerPod: number;
  msgsPerSecPerPod: number;
  /** Cores requested, rounded up to 10 millicores. */
  cpuMillis: number;
  /** Memory requested, rounded up to 64 MiB. */
  memoryMiB: number;
  /** Memory limit: twice the request, room for bursts of data buffered in tunnels. */
  memoryLimitMiB: number;
  /** `wspass run --workers`: the requested cores, rounded up (Node would count the node's cores). */
  workers: number;
}

/** The figures of results.json this needs. */
export type SizingFigures = Pick<BenchResults['capacity'], 'idleConnectionsPerGiB' | 'messagesPerSecPerCore' | 'handshakesPerSecPerCore'>;

const roundUp = (x: number, step: number) => Math.ceil(x / step - 1e-9) * step;

/** Throws with what is missing when the results lack a figure the load needs. */
export function podRequests(figures: SizingFigures, load: Load): PodRequests {
  const { idleConnectionsPerGiB: perGiB, messagesPerSecPerCore: msgsPerCore, handshakesPerSecPerCore: hsPerCore } = figures;
  if (!(load.pods >= 1)) throw new Error('pods must be at least 1');
  if (perGiB === null) throw new Error('the results have no idle-connection figure: run the bench with the idle scenario');
  if (msgsPerCore === null && load.msgsPerSec > 0) throw new Error('the results have no echo figure: run the bench with the echo scenario');
  if (hsPerCore === null && load.handshakesPerSec > 0) throw new Error('the results have no handshake figure: run the bench with the handshake scenario');
  const tunnelsPerPod = load.tunnels / load.pods;
  const msgsPerSecPerPod = load.msgsPerSec / load.pods;
  const cores = (msgsPerSecPerPod > 0 ? msgsPerSecPerPod / msgsPerCore! : 0) + (load.handshakesPerSec > 0 ? load.handshakesPerSec / load.pods / hsPerCore! : 0);
  const grow = 1 + load.headroom;
  const cpuMillis = Math.max(10, roundUp(cores * grow * 1000, 10));
  const memoryMiB = roundUp(((tunnelsPerPod / perGiB) * 1024 + load.baseMiB) * grow, 64);
  return {
    tunnelsPerPod,
    msgsPerSecPerPod,
    cpuMillis,
    memoryMiB,
    memoryLimitMiB: memoryMiB * 2,
    workers: Math.max(1, Math.ceil(cpuMillis / 1000)),
  };
}

/** The figures of a parsed results.json, or an error message saying why it is not one. */
export function sizingFigures(doc: unknown): SizingFigures | string {
  const d = doc as Partial<BenchResults> | null;
  if (typeof d !== 'object' || d === null || d.format !== 'wspass-bench/1') return 'not a bench results file (format "wspass-bench/1")';
  const c = d.capacity;
  if (typeof c !== 'object') return 'the results have no capacity section';
  const num = (v: unknown) => (typeof v === 'number' && v > 0 ? v : null);
  return { idleConnectionsPerGiB: num(c.idleConnectionsPerGiB), messagesPerSecPerCore: num(c.messagesPerSecPerCore), handshakesPerSecPerCore: num(c.handshakesPerSecPerCore) };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** What the CLI prints: the figures used, the per-pod load, and a resources block to paste. */
export function formatPodRequests(source: string, figures: SizingFigures, load: Load, r: PodRequests): string {
  const f = (v: number | null, what: string) => (v === null ? `no ${what}` : `${int(v)} ${what}`);
  return [
    `From ${source}: ${f(figures.messagesPerSecPerCore, 'msg/s per core')}, ${f(figures.idleConnectionsPerGiB, 'idle tunnels per GiB')}, ${f(figures.handshakesPerSecPerCore, 'handshakes/s per core')}.`,
    `${int(load.tunnels)} tunnels, ${int(load.msgsPerSec)} msg/s and ${int(load.handshakesPerSec)} handshakes/s over ${load.pods} pods, ` +
      `${Math.round(load.headroom * 100)} % headroom, ${load.baseMiB} MiB base per pod:`,
    `per pod ${int(r.tunnelsPerPod)} tunnels and ${int(r.msgsPerSecPerPod)} msg/s; wspass run --workers ${r.workers}`,
    'resources:',
    '  requests:',
    `    cpu: ${r.cpuMillis}m`,
    `    memory: ${r.memoryMiB}Mi`,
    '  limits:',
    `    memory: ${r.memoryLimitMiB}Mi`,
  ].join('\n');
}
