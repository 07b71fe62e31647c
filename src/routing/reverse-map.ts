// Compiles a route's `reverse` option into the rules the answer rewriting applies (http/reverse-headers.ts),
// with Apache's ProxyPassReverse semantics (mod_proxy's ap_proxy_location_reverse_map and
// ap_proxy_cookie_reverse_map). Pure: works on the config and the compiled balancers' member URLs.
//
//   { url, path }        literal prefix `url` → `path` + the rest, as `ProxyPassReverse path url`
//   balancer://b/sub     each member: "<member URL without its final />/sub" (member part in any case)
//   "/p" as url          the path of any URL (or a relative value) starting with /p
//   true / "url"         route-relative: the backend URL at a path-segment boundary → the route's path
import type { ReverseSetting } from '../config/schema.js';
import type { Balancer } from '../balancer/balancer.js';
import { isBalancerUrl, parseBalancerUrl } from './backend-url.js';

/** How the rest of a matched value is joined to the public path. */
export type ReverseJoin =
  /** Apache: public path + rest, as written. */
  | 'concat'
  /** Apache's balancer form without a path: as 'concat', but "/" + "/rest" gives "/rest". */
  | 'root'
  /** Route-relative: the rest must start a new path segment (or be empty, or a query); one slash between. */
  | 'segment';

export interface ReverseRule {
  /** What the value must start with. */
  readonly prefix: string;
  /** The first this many characters of `prefix` are compared in any letter case (a balancer member's URL). */
  readonly foldLength: number;
  /** Match against the path of an absolute URL (or a relative value) instead of the whole value. */
  readonly pathOnly: boolean;
  /** The public path (starting with "/"). */
  readonly to: string;
  readonly join: ReverseJoin;
}

export interface ReverseMap {
  /** In order; the first rule that matches rewrites the value. */
  readonly rules: readonly ReverseRule[];
  /** [backend domain (lower case), public domain], in order. */
  readonly cookieDomains: readonly (readonly [string, string])[];
  /** [backend path prefix, public path], in order. */
  readonly cookiePaths: readonly (readonly [string, string])[];
}

export interface ReverseContext {
  /** The route's prefix (`path`), or undefined for a regex route. */
  readonly routePath: string | undefined;
  /** The route's backend URL as written. */
  readonly backend: string;
  readonly balancers: ReadonlyMap<string, Balancer>;
  /** Names defined in `balancers` (a balancer that failed to compile is defined but absent from `balancers`). */
  readonly balancerNames: readonly string[];
  /** Reports a problem at a key path under the route's `reverse`. */
  readonly report: (keys: (string | number)[], message: string) => void;
}

const SCHEME_TWIN: Readonly<Record<string, string>> = { ws: 'http', wss: 'https' };

function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

/** The URL without its query: a reverse rule maps paths. */
function withoutQuery(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** `url` and, for ws:// and wss://, the same URL as http:// and https:// (what a backend writes in a redirect). */
function withTwin(url: string): string[] {
  const m = /^([a-z]+):\/\//i.exec(url);
  const twin = m === null ? undefined : SCHEME_TWIN[m[1]!.toLowerCase()];
  return twin === undefined ? [url] : [url, twin + url.slice(m![1]!.length)];
}

/**
 * The rules for `reverse`, or undefined when it maps nothing. Problems are reported (then the result
 * is meaningless and the caller drops the route).
 */
export function compileReverse(setting: ReverseSetting | undefined, ctx: ReverseContext): ReverseMap | undefined {
  if (setting === undefined) return undefined;
  const spec = typeof setting === 'boolean' ? (setting ? { urls: true } : {}) : setting;
  const rules: ReverseRule[] = [];

  /** Member URLs of `balancer://name/...`, or undefined (reported) when there is no such balancer. */
  const members = (url: string, where: (string | number)[]): { urls: string[]; path: string } | undefined => {
    const b = parseBalancerUrl(url);
    if (typeof b === 'string') {
      ctx.report(where, b);
      return undefined;
    }
    if (!ctx.balancerNames.includes(b.name)) {
      ctx.report(where, `no balancer named "${b.name}" in \`balancers\``);
      return undefined;
    }
    // A balancer that failed to compile has its own issues.
    const balancer = ctx.balancers.get(b.name);
    return { urls: balancer === undefined ? [] : balancer.members.map((m) => m.url), path: b.path };
  };

  /** Route-relative rules for a backend URL: its path maps to the route's prefix. */
  const relative = (url: string, where: (string | number)[]): void => {
    if (ctx.routePath === undefined) {
      ctx.report(where, 'a regex route (`match`) has no path to map back to: write { url, path } pairs');
      return;
    }
    const to = ctx.routePath;
    if (isBalancerUrl(url)) {
      const m = members(url, where);
      if (m === undefined) return;
      const sub = trimSlash(withoutQuery(m.path));
      for (const member of m.urls) {
        const base = trimSlash(withoutQuery(member));
        for (const u of withTwin(base)) rules.push({ prefix: u + sub, foldLength: u.length, pathOnly: false, to, join: 'segment' });
      }
      return;
    }
    for (const u of withTwin(trimSlash(withoutQuery(url)))) {
      const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(u)?.[0].length ?? 0;
      rules.push({ prefix: u, foldLength: authority, pathOnly: false, to, join: 'segment' });
    }
  };

  /** One `ProxyPassReverse path url`, as Apache applies it. */
  const literal = (url: string, to: string, where: (string | number)[]): void => {
    if (isBalancerUrl(url)) {
      const m = members(url, where);
      if (m === undefined) return;
      // Apache: the balancer URL's path counts only when it is more than "/".
      const sub = m.path.length > 1 ? m.path : '';
      for (const member of m.urls) {
        if (sub === '') rules.push({ prefix: member, foldLength: member.length, pathOnly: false, to, join: 'root' });
        else {
          const base = trimSlash(member);
          rules.push({ prefix: base + sub, foldLength: base.length, pathOnly: false, to, join: 'concat' });
        }
      }
      return;
    }
    rules.push({ prefix: url, foldLength: 0, pathOnly: url.startsWith('/'), to, join: 'concat' });
  };

  if (spec.urls === true) relative(ctx.backend, ['urls']);
  else if (Array.isArray(spec.urls)) {
    spec.urls.forEach((entry, i) => {
      if (typeof entry === 'string') relative(entry, ['urls', i]);
      else literal(entry.url, entry.path, ['urls', i, 'url']);
    });
  }
  const cookieDomains = Object.entries(spec.cookieDomain ?? {}).map(([from, to]) => [from.toLowerCase(), to] as const);
  const cookiePaths = Object.entries(spec.cookiePath ?? {}).map(([from, to]) => [from, to] as const);
  if (rules.length === 0 && cookieDomains.length === 0 && cookiePaths.length === 0) return undefined;
  return Object.freeze({ rules: Object.freeze(rules), cookieDomains: Object.freeze(cookieDomains), cookiePaths: Object.freeze(cookiePaths) });
}
