// Runs one load phase on piscina shards (worker threads of this process) and merges what they recorded.
// The main thread drives the phases (protocol.ts) and reads the CPU counters at the exact edges of the
// measured window through the `onWindow*` callbacks.
import { MessageChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { mergeEncodedHistograms, summarizeHistogram, type LatencySummary } from './histogram.js';
import type { ShardEvent, ShardKind, ShardResult, ShardTask, TargetCounts } from './protocol.js';

const SHARD_FILE = fileURLToPath(new URL('./shard.js', import.meta.url));

export interface LoadPlan {
  kind: ShardKind;
  /** The same load runs against each URL (the bench's scenarios pass one; the perf gate two). */
  urls: readonly string[];
  /** Connections per URL. */
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
  /**
   * Called right before recording starts and right after it stops (read /proc here). Recording starts
   * when onWindowStart's promise settles, if it returns one (a read that must not be inside the window).
   */
  onWindowStart?: () => void | Promise<void>;
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
  /** units and bytes per URL of the plan. */
  perTarget: TargetCounts[];
}

/** Splits n into k near-equal positive parts (fewer parts when n < k). */
export function splitEvenly(n: number, k: number): number[] {
  const parts = Math.max(1, Math.min(k, n));
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

/**
 * A running load: its shards connected (open() resolves once every shard is ready), then driven through
 * start → measure → any number of snapshots → stop. runLoad is one window of it; the perf gate keeps a
 * session over several windows and reads the counts at each window edge.
 */
export class LoadSession {
  readonly #pool: Piscina<ShardTask, ShardResult>;
  readonly #channels: MessageChannel[];
  readonly #tasks: Promise<ShardResult>[];
  readonly #waiting: ((counts: TargetCounts[]) => void)[][];
  readonly #targets: number;

  private constructor(plan: Omit<LoadPlan, 'warmupMs' | 'durationMs'>) {
    const split = splitEvenly(plan.connections, plan.shards);
    this.#targets = plan.urls.length;
    this.#pool = new Piscina<ShardTask, ShardResult>({ filename: SHARD_FILE, minThreads: split.length, maxThreads: split.length });
    this.#channels = split.map(() => new MessageChannel());
    this.#waiting = split.map(() => []);
    this.#tasks = split.map((connections, i) => {
      const port = this.#channels[i]!.port2;
      const task: ShardTask = {
        kind: plan.kind,
        urls: plan.urls,
        connections,
        sizeBytes: plan.sizeBytes,
        ratePerSec: ((plan.ratePerSec ?? 0) * connections) / plan.connections,
        windowBytes: plan.windowBytes ?? 0,
        inFlight: plan.inFlight ?? 1,
        port,
      };
      return this.#pool.run(task, { transferList: [port] });
    });
  }

  /** Starts the shards and resolves when all are connected; rejects (and cleans up) when one fails. */
  static async open(plan: Omit<LoadPlan, 'warmupMs' | 'durationMs'>): Promise<LoadSession> {
    const s = new LoadSession(plan);
    try {
      const readies = s.#channels.map(
        (ch, i) =>
          new Promise<void>((resolve, reject) => {
            ch.port1.on('message', (ev: ShardEvent) => {
              if (ev.type === 'ready') resolve();
              else if (ev.type === 'counts') s.#waiting[i]!.shift()?.(ev.counts);
              else reject(new Error(ev.message));
            });
          }),
      );
      // A shard that fails before 'ready' rejects its task; surface that instead of waiting forever.
      const failed = Promise.race(s.#tasks.map((t) => t.then(() => new Promise<never>(() => undefined))));
      await Promise.race([Promise.all(readies), failed]);
      return s;
    } catch (err) {
      await s.close();
      throw err;
    }
  }

  #send(type: 'start' | 'measure' | 'stop' | 'snapshot'): void {
    for (const ch of this.#channels) ch.port1.postMessage({ type });
  }

  /** Load begins (not recorded). */
  start(): void {
    this.#send('start');
  }

  /** Recording begins. */
  measure(): void {
    this.#send('measure');
  }

  /** Units and bytes recorded since measure(), per URL, summed over the shards. */
  async snapshot(): Promise<TargetCounts[]> {
    const parts = await Promise.all(this.#channels.map((ch, i) => new Promise<TargetCounts[]>((resolve) => {
      this.#waiting[i]!.push(resolve);
      ch.port1.postMessage({ type: 'snapshot' });
    })));
    return Array.from({ length: this.#targets }, (_, t) => ({
      units: sum(parts.map((p) => p[t]?.units ?? 0)),
      bytes: sum(parts.map((p) => p[t]?.bytes ?? 0)),
    }));
  }

  /** Recording and load end; the shards close their connections. */
  stop(): void {
    this.#send('stop');
  }

  /** After stop(): every shard's result, merged. */
  async results(windowSeconds: number): Promise<LoadResult> {
    const results = await Promise.all(this.#tasks);
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
      perTarget: Array.from({ length: this.#targets }, (_, t) => ({
        units: sum(results.map((r) => r.perTarget[t]?.units ?? 0)),
        bytes: sum(results.map((r) => r.perTarget[t]?.bytes ?? 0)),
      })),
    };
    const firstError = results.find((r) => r.firstError)?.firstError;
    if (firstError) out.firstError = firstError;
    return out;
  }

  /** Releases the shards' threads (also after a failure). */
  async close(): Promise<void> {
    for (const ch of this.#channels) ch.port1.close();
    await this.#pool.destroy();
  }
}

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const session = await LoadSession.open(plan);
  try {
    await plan.onReady?.();
    session.start();
    await delay(plan.warmupMs);
    await plan.onWindowStart?.();
    const t0 = performance.now();
    session.measure();
    await delay(plan.durationMs);
    session.stop();
    const windowSeconds = (performance.now() - t0) / 1000;
    plan.onWindowEnd?.();
    return await session.results(windowSeconds);
  } finally {
    await session.close();
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
