// bybusyness and bytraffic: the candidate with the least load per unit of weight, where load is what a
// LoadView reports from the shared MemberTable (active tunnels and requests of every thread, or bytes
// relayed). Equal loads are broken by a rotating start, so idle members take turns instead of the first
// one taking every burst.
import type { BalanceFacts, BalancerMember, LoadView, Strategy } from './types.js';

export type LoadMetric = 'busy' | 'bytes';

export class LeastLoad implements Strategy {
  readonly #load: LoadView;
  readonly #metric: LoadMetric;
  #turn = 0;

  constructor(load: LoadView, metric: LoadMetric) {
    this.#load = load;
    this.#metric = metric;
  }

  pick(candidates: readonly BalancerMember[], _facts?: BalanceFacts): BalancerMember {
    const n = candidates.length;
    const start = this.#turn++ % n;
    if (this.#turn >= 0x3fffffff) this.#turn = 0;
    let best = candidates[start]!;
    let bestLoad = this.#loadOf(best);
    let bestWeight = this.#load.weight(best.slot);
    for (let k = 1; k < n; k++) {
      const m = candidates[(start + k) % n]!;
      const load = this.#loadOf(m);
      const weight = this.#load.weight(m.slot);
      // load/weight < bestLoad/bestWeight, without division (weights are ≥ 1).
      if (load * bestWeight < bestLoad * weight) {
        best = m;
        bestLoad = load;
        bestWeight = weight;
      }
    }
    return best;
  }

  #loadOf(m: BalancerMember): number {
    return this.#metric === 'busy' ? this.#load.busy(m.slot) : this.#load.bytes(m.slot);
  }
}
