// Which count cell each route and balancer member uses in TunnelCounts. Given out by key (route name;
// balancer name + member URL) and never taken back, so a reload keeps every key on its cell and a tunnel
// opened before it is still counted where the new config looks. The primary assigns them for every
// worker (they must agree); a ProxyServer on its own assigns its own.
import type { Config } from '../config/schema.js';
import { memberKey } from '../balancer/member-table.js';
import { MAX_ROUTES } from '../workers/shared-counters.js';
import { MAX_MEMBER_SLOTS } from './tunnel-counts.js';

/** Key → slot, first come first served; undefined for a key beyond `max` (not counted). */
export class KeySlots {
  readonly #slots = new Map<string, number>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  assign(keys: Iterable<string>): ReadonlyMap<string, number> {
    for (const key of keys) if (!this.#slots.has(key) && this.#slots.size < this.#max) this.#slots.set(key, this.#slots.size);
    return this.#slots;
  }

  /** What `assign(keys)` would give, without assigning (a reload that may still be aborted). */
  preview(keys: Iterable<string>): ReadonlyMap<string, number> {
    const copy = new KeySlots(this.#max);
    copy.assign(this.#slots.keys());
    return copy.assign(keys);
  }

  get map(): ReadonlyMap<string, number> {
    return this.#slots;
  }
}

/** The member keys of `config` (balancer name + member URL, as the member table keys them). */
export function memberKeys(config: Config): string[] {
  const keys: string[] = [];
  for (const [name, balancer] of Object.entries(config.balancers ?? {})) for (const m of balancer.members) keys.push(memberKey(name, m.url));
  return keys;
}

export function newMemberSlots(): KeySlots {
  return new KeySlots(MAX_MEMBER_SLOTS);
}

export function newRouteSlots(): KeySlots {
  return new KeySlots(MAX_ROUTES);
}
