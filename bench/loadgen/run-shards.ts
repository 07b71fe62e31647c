// Runs one load phase on piscina shards (worker threads of this process) and merges what they recorded.
// The main thread drives the phases (protocol.ts) and reads the CPU counters at the exact edges of the
// measured window through the `onWindow*` callbacks.
import { MessageChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { mergeEncodedHistograms, summarizeHistogram, type LatencySummary } from './histogram.js';
import type { ShardEvent, ShardKind, ShardResult, ShardTask } from './protocol.js';

const SHARD_FILE = fileURLToPath(new URL('./shard.js', import.meta.url));

export interface LoadPlan {
  kind: ShardKind;
  url: string;
  connections: number;
  shards: number;
  sizeBytes: number;
  /** open-loop: total messages per second over all shards. */
  ratePerSec?: number;
  windowBytes?: number;
  /** echo: messages in flight per connection (default 1). */
  inFlight?: number;
  warmupMs: number;
  durationMs: number;
  /** Called right before recording starts and right after it stops (read /proc here). */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
  /** Called once every shard is connected, before load starts (idle: read RSS here). */
  onReady?: () => Promise<void> | void;
}

export interface LoadResult {
  units: number;
  bytes: number;
  errors: number;
  firstError?: string;
  outstanding: number;
  latency: LatencySummary | null;
  /** Wall-clock length of the measured window in seconds. */
  windowSeconds: number;
}

/** Splits n into k near-equal positive parts (fewer parts when n < k). */
export function splitEvenly(n: number, k: number): number[] {
  const parts = Math.max(1, Math.min(k, n));
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const split = splitEvenly(plan.connections, plan.shards);
  const pool = new Piscina<ShardTask, ShardResult>({ filename: SHARD_FILE, minThreads: split.length, maxThreads: split.length });
  const channels = split.map(() => new MessageChannel());
  try {
    const readies = channels.map(
      (ch) =>
        new Promise<void>((resolve, reject) => {
          ch.port1.on('message', (ev: ShardEvent) => {
            if (ev.type === 'ready') resolve();
            else reject(new Error(ev.message));
          });
        }),
    );
    const tasks = split.map((connections, i) => {
      const port = channels[i]!.port2;
      const task: ShardTask = {
        kind: plan.kind,
        url: plan.url,
        connections,
        sizeBytes: plan.sizeBytes,
        ratePerSec: ((plan.ratePerSec ?? 0) * connections) / plan.connections,
        windowBytes: plan.windowBytes ?? 0,
        inFlight: plan.inFlight ?? 1,
        port,
      };
      return pool.run(task, { transferList: [port] });
    });
    // A shard that fails before 'ready' rejects its task; surface that instead of waiting forever.
    const failed = Promise.race(tasks.map((t) => t.then(() => new Promise<never>(() => undefined))));
    await Promise.race([Promise.all(readies), failed]);
    await plan.onReady?.();
    const send = (type: 'start' | 'measure' | 'stop') => {
      for (const ch of channels) ch.port1.postMessage({ type });
    };
    send('start');
    await delay(plan.warmupMs);
    plan.onWindowStart?.();
    const t0 = performance.now();
    send('measure');
    await delay(plan.durationMs);
    send('stop');
    const windowSeconds = (performance.now() - t0) / 1000;
    plan.onWindowEnd?.();
    const results = await Promise.all(tasks);
    const hists = results.map((r) => r.histogram).filter((h) => h !== '');
    let latency: LatencySummary | null = null;
    if (hists.length > 0) {
      const merged = mergeEncodedHistograms(hists);
      latency = summarizeHistogram(merged);
      merged.destroy();
    }
    const out: LoadResult = {
      units: sum(results.map((r) => r.units)),
      bytes: sum(results.map((r) => r.bytes)),
      errors: sum(results.map((r) => r.errors)),
      outstanding: sum(results.map((r) => r.outstanding ?? 0)),
      latency,
      windowSeconds,
    };
    const firstError = results.find((r) => r.firstError)?.firstError;
    if (firstError) out.firstError = firstError;
    return out;
  } finally {
    for (const ch of channels) ch.port1.close();
    await pool.destroy();
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
