// byrequests: smooth weighted round-robin (the nginx algorithm). Every pick adds each candidate's weight
// to its running score, takes the highest and subtracts the total from it, so weights 1:3 give
// B A B B, B A B B … — interleaved rather than bursts of the heavy member. Members that are not candidates
// (out of service) keep their score. The scores are per thread: each worker spreads its own share.
import type { BalanceFacts, BalancerMember, LoadView, Strategy } from './types.js';

export class SmoothRoundRobin implements Strategy {
  readonly #load: LoadView;
  readonly #score: Float64Array;

  constructor(memberCount: number, load: LoadView) {
    this.#load = load;
    this.#score = new Float64Array(memberCount);
  }

  pick(candidates: readonly BalancerMember[], _facts?: BalanceFacts): BalancerMember {
    let best = candidates[0]!;
    let bestScore = -Infinity;
    let total = 0;
    for (const m of candidates) {
      const w = this.#load.weight(m.slot);
      total += w;
      const s = (this.#score[m.index]! += w);
      if (s > bestScore) {
        bestScore = s;
        best = m;
      }
    }
    this.#score[best.index]! -= total;
    return best;
  }
}
