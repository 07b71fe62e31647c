// hash: weighted rendezvous (highest random weight) hashing. Each candidate scores the request key with a
// hash seeded by its own URL, scaled by its weight (score = weight / -ln(u), u uniform in (0,1)); the highest
// score wins. Properties this gives without any shared state:
// - every wspass instance with the same config sends a key to the same member (the hash depends only on
//   the key and the member URL);
// - a member leaving (down, draining) moves only its own keys, and they come back when it returns;
// - keys spread in proportion to the weights.
import type { BalancerHashConfig } from '../config/schema.js';
import { hashString } from './hash.js';
import type { BalanceFacts, BalancerMember, LoadView, Strategy } from './types.js';

const TWO_POW_32 = 4294967296;

/** The hashing key of a request, or undefined when the request does not carry it. */
export function hashKey(hash: BalancerHashConfig, facts: BalanceFacts): string | undefined {
  switch (hash.on) {
    case 'ip':
      return facts.clientIp;
    case 'header':
      return facts.header(hash.name!.toLowerCase());
    case 'cookie':
      return facts.cookie(hash.name!);
    case 'query':
      return facts.query(hash.name!);
  }
}

/** The winning candidate for `key`. */
export function rendezvousPick(candidates: readonly BalancerMember[], key: string, load: LoadView): BalancerMember {
  let best = candidates[0]!;
  let bestScore = -Infinity;
  for (const m of candidates) {
    const u = (hashString(key, m.hashSeed) + 0.5) / TWO_POW_32;
    const score = load.weight(m.slot) / -Math.log(u);
    // Ties (practically impossible) go to the lower seed, so the order of candidates never matters.
    if (score > bestScore || (score === bestScore && m.hashSeed < best.hashSeed)) {
      bestScore = score;
      best = m;
    }
  }
  return best;
}

export class RendezvousHash implements Strategy {
  readonly #hash: BalancerHashConfig;
  readonly #load: LoadView;
  readonly #fallback: Strategy;

  /** `fallback` balances requests without the key. */
  constructor(hash: BalancerHashConfig, load: LoadView, fallback: Strategy) {
    this.#hash = hash;
    this.#load = load;
    this.#fallback = fallback;
  }

  pick(candidates: readonly BalancerMember[], facts: BalanceFacts): BalancerMember {
    const key = hashKey(this.#hash, facts);
    if (key === undefined || key === '') return this.#fallback.pick(candidates, facts);
    return rendezvousPick(candidates, key, this.#load);
  }
}
