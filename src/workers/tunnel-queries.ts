// The primary's questions to its workers about their open tunnels (the admin endpoint's listing and
// closing). A question goes to some workers; the answers are gathered by sequence number, and a worker
// that does not answer in time (or exits) is named in `unanswered` rather than holding the request.
import type { TunnelInfo, TunnelQuery, TunnelSelector } from '../server/open-tunnels.js';
import type { PrimaryMessage, WorkerMessage } from './protocol.js';

/** Each worker spawn numbers its tunnels inside its own range of this size: ids are unique per process. */
export const TUNNEL_ID_RANGE = 2 ** 32;
const ANSWER_TIMEOUT_MS = 5_000;

type Answer = Extract<WorkerMessage, { type: 'tunnel-answer' }>;

/** A worker the question can go to. */
export interface Asked {
  readonly id: number;
  post(msg: PrimaryMessage): void;
}

export interface Gathered {
  readonly answers: readonly Answer[];
  /** Workers asked that did not answer. */
  readonly unanswered: readonly number[];
}

export interface TunnelPage {
  readonly tunnels: readonly TunnelInfo[];
  /** The `after` of the next page; null when this one is the last. */
  readonly next: number | null;
  readonly unanswered: readonly number[];
}

/** The first `limit` tunnels of every worker's page, in id order. */
export function mergePages(gathered: Gathered, limit: number): TunnelPage {
  const all = gathered.answers.flatMap((a) => a.tunnels).sort((a, b) => a.id - b.id);
  // A worker returned at most `limit`: one more than `limit` overall means another page exists.
  const more = all.length > limit || gathered.answers.some((a) => a.tunnels.length === limit);
  const tunnels = all.slice(0, limit);
  return { tunnels, next: more && tunnels.length > 0 ? tunnels[tunnels.length - 1]!.id : null, unanswered: gathered.unanswered };
}

export class TunnelQueries {
  #seq = 0;
  readonly #pending = new Map<number, { waiting: Set<number>; answers: Answer[]; gone: number[]; done: () => void }>();

  list(workers: readonly Asked[], query: TunnelQuery): Promise<TunnelPage> {
    return this.#ask(workers, (seq) => ({ type: 'tunnels-list', seq, query })).then((g) => mergePages(g, query.limit));
  }

  async close(workers: readonly Asked[], selector: TunnelSelector): Promise<{ closed: number; unanswered: readonly number[] }> {
    const g = await this.#ask(workers, (seq) => ({ type: 'tunnels-close', seq, selector }));
    return { closed: g.answers.reduce((n, a) => n + a.closed, 0), unanswered: g.unanswered };
  }

  /** Every worker flushes its counts of open tunnels into the shared counters; resolves once all did (or timed out). */
  async flushStats(workers: readonly Asked[]): Promise<{ unanswered: readonly number[] }> {
    const g = await this.#ask(workers, (seq) => ({ type: 'stats-flush', seq }));
    return { unanswered: g.unanswered };
  }

  /** A worker's answer (ignored when its question already timed out). */
  answered(worker: number, msg: Answer): void {
    const p = this.#pending.get(msg.seq);
    if (p === undefined || !p.waiting.delete(worker)) return;
    p.answers.push(msg);
    if (p.waiting.size === 0) p.done();
  }

  /** A worker exited: it will not answer. */
  gone(worker: number): void {
    for (const p of this.#pending.values()) {
      if (!p.waiting.delete(worker)) continue;
      p.gone.push(worker);
      if (p.waiting.size === 0) p.done();
    }
  }

  #ask(workers: readonly Asked[], make: (seq: number) => PrimaryMessage): Promise<Gathered> {
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      const waiting = new Set(workers.map((w) => w.id));
      const answers: Answer[] = [];
      const gone: number[] = [];
      const done = () => {
        clearTimeout(timer);
        this.#pending.delete(seq);
        resolve({ answers, unanswered: [...gone, ...waiting].sort((a, b) => a - b) });
      };
      const timer = setTimeout(done, ANSWER_TIMEOUT_MS);
      this.#pending.set(seq, { waiting, answers, gone, done });
      if (waiting.size === 0) done();
      const msg = make(seq);
      for (const w of workers) w.post(msg);
    });
  }
}
