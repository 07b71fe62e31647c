// The names the primary gives counter slots for a config: every route, then every (route, balancer
// member) pair whose bytes are counted apart. Pure: the same config gives the same names in every thread.
import type { Config } from '../config/schema.js';
import { isBalancerUrl, parseBalancerUrl } from '../routing/backend-url.js';
import { routeNames } from '../routing/route-names.js';
import { memberSlotKey } from '../workers/shared-counters.js';

export function counterSlotNames(config: Config): string[] {
  const names = routeNames(config.routes);
  const pairs: string[] = [];
  config.routes.forEach((rc, i) => {
    if (rc.backend === undefined || !isBalancerUrl(rc.backend)) return;
    const parsed = parseBalancerUrl(rc.backend);
    if (typeof parsed === 'string') return;
    for (const m of config.balancers?.[parsed.name]?.members ?? []) pairs.push(memberSlotKey(names[i]!, m.url));
  });
  return [...names, ...pairs];
}
