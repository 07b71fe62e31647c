// The name of each route in logs and metrics. A configured `name` is used as is; an unnamed route is named
// for what it matches (its path or regex, then its hosts), so its counters and log lines keep their label
// when routes are added, removed or reordered around it (a position like routes[3] would shift). Pure.
import type { RouteConfig } from '../config/schema.js';

type Named = Pick<RouteConfig, 'name' | 'path' | 'match' | 'host'>;

/** What an unnamed route is called: `path` or `~match`, then ` host=a,b` when it is bound to hosts. */
export function matchLabel(rc: Named): string {
  const what = rc.path ?? (rc.match !== undefined ? `~${rc.match}` : '/');
  if (rc.host === undefined) return what;
  return `${what} host=${(typeof rc.host === 'string' ? [rc.host] : rc.host).join(',')}`;
}

/**
 * The name of every route, in config order. Configured names are kept even when two are equal (the route
 * table reports that as an error); a derived name that is already taken gets ` #2`, ` #3`, ... in config
 * order, so routes that differ only in conditions the label does not show still get distinct names.
 */
export function routeNames(routes: readonly Named[]): string[] {
  const taken = new Set(routes.flatMap((rc) => (rc.name !== undefined ? [rc.name] : [])));
  return routes.map((rc) => {
    if (rc.name !== undefined) return rc.name;
    const base = matchLabel(rc);
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base} #${n}`;
    taken.add(name);
    return name;
  });
}
