// Compiles the config's `balancers` into Balancer objects over a MemberTable: member URLs parsed into
// origins, sticky routes resolved (configured, or a hash of the URL, the same in every process), slots
// looked up. Problems are reported with their key path, like route problems. Pure.
import type { Config } from '../config/schema.js';
import { hasPlaceholder } from '../routing/backend-path.js';
import { parseBackendUrl } from '../routing/backend-url.js';
import type { BackendOrigin, BackendTls } from '../routing/types.js';
import { Balancer } from './balancer.js';
import { hashString } from './hash.js';
import type { MemberTable } from './member-table.js';
import type { BalancerMember } from './types.js';

export interface BalancerCompileContext {
  /** Records a problem at a config key path. */
  report(path: (string | number)[], message: string): void;
  /** TLS settings of `defaults` for a secure member (health probes use them; routes may override). */
  tlsFor(origin: BackendOrigin, where: (string | number)[]): BackendTls | undefined;
  /** Clock for the balancers (tests). */
  now?: () => number;
}

/** A member URL without a configured route gets this one: short, cookie-safe, stable across processes. */
export function defaultRoute(url: string): string {
  return hashString(url).toString(36);
}

/** The balancers that compiled; a name that failed is absent (its problems are reported). */
export function compileBalancers(config: Config, table: MemberTable, ctx: BalancerCompileContext): Map<string, Balancer> {
  const out = new Map<string, Balancer>();
  for (const [name, bc] of Object.entries(config.balancers ?? {})) {
    let ok = true;
    const members: BalancerMember[] = [];
    const routes = new Map<string, number>();
    bc.members.forEach((mc, index) => {
      const at = ['balancers', name, 'members', index];
      const parsed = parseBackendUrl(mc.url);
      if (typeof parsed === 'string') {
        ctx.report([...at, 'url'], parsed);
        ok = false;
        return;
      }
      if (parsed.query !== undefined || hasPlaceholder(mc.url)) {
        ctx.report([...at, 'url'], 'a member URL has no query and no $n placeholders (the route supplies path and query)');
        ok = false;
        return;
      }
      const route = mc.route ?? defaultRoute(mc.url);
      const previous = routes.get(route);
      if (previous !== undefined) {
        ctx.report([...at, 'route'], `route "${route}" is already used by members[${previous}]; set distinct routes`);
        ok = false;
        return;
      }
      routes.set(route, index);
      const slot = table.slotOf(name, mc.url);
      if (slot === undefined) throw new Error(`member table has no slot for ${name} ${mc.url}: built from another config`);
      members.push(
        Object.freeze({
          index,
          slot,
          url: mc.url,
          route,
          hashSeed: hashString(mc.url),
          origin: parsed.origin,
          pathPrefix: parsed.path.endsWith('/') ? parsed.path.slice(0, -1) : parsed.path,
          tls: parsed.origin.secure ? ctx.tlsFor(parsed.origin, ['defaults', 'tls', 'caFile']) : undefined,
          proxyProtocol: mc.proxyProtocol,
        }),
      );
    });
    if (ok) out.set(name, new Balancer(name, bc, Object.freeze(members), table, ctx.now));
  }
  return out;
}
