// The route table: compiles the config's routes once (patterns, backend origins, options merged over
// `defaults`) and matches each request against them with Apache ProxyPass/ProxyPassMatch semantics (DESIGN
// §3): routes in config order, the first match wins, matching on the decoded, normalised path. Pure: the
// only I/O is reading TLS CA files at compile time, through an injectable reader.
//
// match() runs on every request: prefix routes are a startsWith, regexes and templates are compiled here,
// and the only allocations on a match are the result and the backend path string.
import type { Config } from '../config/schema.js';
import type { Balancer } from '../balancer/balancer.js';
import { backendTlsReader, type BackendTlsReader } from './backend-tls.js';
import { IssueList } from './compile-issues.js';
import { isBalancerUrl, parseBalancerUrl, parseBackendUrl, type ParsedBackend } from './backend-url.js';
import {
  appendBackendPath,
  compileTemplate,
  expandTemplate,
  hasConditionPlaceholder,
  hasPlaceholder,
  joinQuery,
  prefixBackendPath,
  type Template,
} from './backend-path.js';
import { compileHostPattern, hostName, type HostMatcher } from './host-pattern.js';
import { normalizeTarget } from './normalize-path.js';
import { compileReverse } from './reverse-map.js';
import { routeNames } from './route-names.js';
import type {
  BackendOrigin,
  BackendTls,
  CompiledRoute,
  FixedAnswer,
  MemberTarget,
  RequestFacts,
  RouteMatch,
  UpgradePolicy,
} from './types.js';
import { balancerUpgradePolicy, routeUpgradePolicy } from './upgrade-policy.js';

export interface RouteTable {
  readonly routes: readonly CompiledRoute[];
  /** The compiled `balancers`, by name (for health checks and runtime control). */
  readonly balancers: ReadonlyMap<string, Balancer>;
  /**
   * The first route the request matches; a FixedAnswer when that route has `respond`; null when none does
   * (or an exclusion matched first); 'bad-request' when the target is malformed.
   */
  match(req: RequestFacts): RouteMatch | FixedAnswer | null | 'bad-request';
}

export interface CompileOptions {
  /** Reads a CA file (default: fs.readFileSync as UTF-8); ignored when `tls` is given. */
  readFile?: (path: string) => string;
  /** The compiled `balancers`, by name (default: none). */
  balancers?: ReadonlyMap<string, Balancer>;
  /** Problems found so far (the balancers'); route problems are added and all are thrown together. */
  issues?: IssueList;
  /** The CA-file reader shared with the balancers' compile, so each file is read and reported once. */
  tls?: BackendTlsReader;
}

interface HeaderCondition {
  readonly name: string; // lower-cased
  readonly pattern: RegExp;
  readonly negate: boolean;
}

/** Everything match() needs for one route, resolved at compile time. */
interface Matcher {
  /** Undefined for an exclusion (`exclude: true`) and a fixed answer: a match ends the search with no route. */
  readonly route: CompiledRoute | undefined;
  /** `respond`: the answer for a request this route matches. */
  readonly respond: FixedAnswer | undefined;
  /** Prefix route: the prefix; undefined for a regex route. */
  readonly prefix: string | undefined;
  readonly prefixEndsWithSlash: boolean;
  readonly regex: RegExp | undefined;
  /** `listener`: the indexes in `listen` the route serves; undefined for every listener. */
  readonly listeners: ReadonlySet<number> | undefined;
  readonly host: HostMatcher | undefined;
  readonly headers: readonly HeaderCondition[];
  /** `when.any`: at least one group must hold (empty: no alternatives). */
  readonly anyHeaders: readonly (readonly HeaderCondition[])[];
  /** Backend path without its trailing slash (prefix routes). */
  readonly basePathTrimmed: string;
  /** Backend path, or '/' when the URL has none. */
  readonly basePathOrSlash: string;
  readonly baseQuery: string | undefined;
  /** Regex routes with `$n` in the backend: path and query templates. */
  readonly pathTemplate: Template | undefined;
  readonly queryTemplate: Template | undefined;
  /** The backend uses `%n`: conditions are run with exec to keep the last one's groups. */
  readonly conditionGroups: boolean;
}

const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/** Number of capture groups in a compiled pattern. */
function groupCount(regex: RegExp): number {
  return new RegExp(`${regex.source}|`, regex.flags).exec('')!.length - 1;
}

function headersMatch(conditions: readonly HeaderCondition[], req: RequestFacts): boolean {
  for (const c of conditions) {
    const value = req.header(c.name);
    // A negated condition holds for an absent header; a positive one needs the header present.
    const hit = value !== undefined && c.pattern.test(value);
    if (hit === c.negate) return false;
  }
  return true;
}

/** Result of conditions run for `%n`: whether they hold, and the groups of the last positive one. */
const NO_MATCH = { holds: false, groups: null } as const;

/**
 * headersMatch, keeping the groups of the last positive condition that matched (mod_rewrite's %n: a
 * negated condition captures nothing). `groups` is what held before these conditions.
 */
function headersMatchCapturing(
  conditions: readonly HeaderCondition[],
  req: RequestFacts,
  groups: RegExpExecArray | null,
): { readonly holds: boolean; readonly groups: RegExpExecArray | null } {
  let last = groups;
  for (const c of conditions) {
    const value = req.header(c.name);
    const found = value === undefined ? null : c.pattern.exec(value);
    if ((found !== null) === c.negate) return NO_MATCH;
    if (found !== null) last = found;
  }
  return { holds: true, groups: last };
}

/**
 * The conditions of a route whose backend uses `%n`, in the order their groups are taken: the `when.any`
 * alternative that holds (the first), then the `when.header` patterns in order. undefined: they do not hold.
 */
function conditionGroups(m: Matcher, req: RequestFacts): RegExpExecArray | null | undefined {
  let groups: RegExpExecArray | null = null;
  if (m.anyHeaders.length !== 0) {
    let held = false;
    for (const alt of m.anyHeaders) {
      const r = headersMatchCapturing(alt, req, null);
      if (!r.holds) continue;
      held = true;
      groups = r.groups;
      break;
    }
    if (!held) return undefined;
  }
  const r = headersMatchCapturing(m.headers, req, groups);
  return r.holds ? r.groups : undefined;
}

class Table implements RouteTable {
  readonly routes: readonly CompiledRoute[];
  readonly balancers: ReadonlyMap<string, Balancer>;
  readonly #matchers: readonly Matcher[];

  constructor(matchers: readonly Matcher[], balancers: ReadonlyMap<string, Balancer>) {
    this.#matchers = matchers;
    this.routes = Object.freeze(matchers.flatMap((m) => (m.route === undefined ? [] : [m.route])));
    this.balancers = balancers;
  }

  match(req: RequestFacts): RouteMatch | FixedAnswer | null | 'bad-request' {
    const target = normalizeTarget(req.url);
    if (target === null) return 'bad-request';
    const { path, query } = target;
    // Computed at most once per request, when a route restricted to a host is reached. An absolute-form
    // target names the host itself; RFC 9112 §3.2.2 says to use it over the Host header.
    let host: string | undefined | null = null;
    for (const m of this.#matchers) {
      if (m.listeners !== undefined && (req.listener === undefined || !m.listeners.has(req.listener))) continue;
      let captures: RegExpExecArray | null = null;
      if (m.prefix !== undefined) {
        if (!path.startsWith(m.prefix)) continue;
        // `/app` matches `/app` and `/app/x` but not `/apple`.
        if (!m.prefixEndsWithSlash && path.length > m.prefix.length && path.charCodeAt(m.prefix.length) !== 0x2f) continue;
      } else {
        captures = m.regex!.exec(path);
        if (captures === null) continue;
      }
      if (m.host !== undefined) {
        if (host === null) {
          const raw = target.authority ?? req.host;
          host = raw === undefined ? undefined : hostName(raw);
        }
        if (host === undefined || !m.host(host)) continue;
      }
      let groups: RegExpExecArray | null = null;
      if (m.conditionGroups) {
        const found = conditionGroups(m, req);
        if (found === undefined) continue;
        groups = found;
      } else {
        if (m.headers.length !== 0 && !headersMatch(m.headers, req)) continue;
        if (m.anyHeaders.length !== 0 && !m.anyHeaders.some((group) => headersMatch(group, req))) continue;
      }
      if (m.respond !== undefined) return m.respond;
      // ProxyPass path !: the path is proxied by no later rule.
      if (m.route === undefined) return null;
      return { route: m.route, backendPath: backendPath(m, path, query, captures, groups) };
    }
    return null;
  }
}

/** `listen[].name` → index in `listen`; a name given twice is reported. */
function listenerNames(config: Config, report: (path: (string | number)[], message: string) => void): Map<string, number> {
  const names = new Map<string, number>();
  if (typeof config.listen === 'string') return names;
  config.listen.forEach((entry, i) => {
    if (typeof entry === 'string' || entry.name === undefined) return;
    const previous = names.get(entry.name);
    if (previous !== undefined) report(['listen', i, 'name'], `name "${entry.name}" is already used by listen[${previous}]`);
    else names.set(entry.name, i);
  });
  return names;
}

function backendPath(m: Matcher, path: string, query: string, captures: RegExpExecArray | null, groups: RegExpExecArray | null): string {
  if (m.prefix !== undefined) {
    // What follows the prefix, without the `/` that separates it; null when the path is the prefix.
    const rest = path.length > m.prefix.length ? path.slice(m.prefixEndsWithSlash ? m.prefix.length : m.prefix.length + 1) : null;
    return prefixBackendPath(m.basePathTrimmed, m.basePathOrSlash, rest) + joinQuery(m.baseQuery, query);
  }
  if (m.pathTemplate !== undefined && captures !== null) {
    const p = expandTemplate(m.pathTemplate, captures, groups);
    const q = m.queryTemplate === undefined ? undefined : expandTemplate(m.queryTemplate, captures, groups);
    return (p === '' ? '/' : p) + joinQuery(q, query);
  }
  // Regex route without placeholders: ProxyPassMatch appends the request path to the backend URL.
  return appendBackendPath(m.basePathTrimmed, path) + joinQuery(m.baseQuery, query);
}

/**
 * Compiles the routes of a validated config over already compiled balancers; throws RouteCompileError listing
 * every problem (with those `issues` already holds, e.g. the balancers'). Balancers and their shared member
 * state are built by the caller (server/compose-routes.ts): the route table only refers to them.
 */
export function compileRoutes(config: Config, opts: CompileOptions = {}): RouteTable {
  const list = opts.issues ?? new IssueList();
  const issues = list.issues;
  const report = list.report;
  const tlsFor = opts.tls ?? backendTlsReader(report, opts.readFile);
  const defaults = config.defaults;
  const names = new Map<string, number>();
  const matchers: Matcher[] = [];
  const balancers = opts.balancers ?? new Map<string, Balancer>();
  const balancerNames = Object.keys(config.balancers ?? {});
  const listenerIndex = listenerNames(config, report);
  const routeNameList = routeNames(config.routes);

  config.routes.forEach((rc, index) => {
    const at = (...keys: (string | number)[]): (string | number)[] => ['routes', index, ...keys];
    const ok = issues.length;

    const name = routeNameList[index]!;
    const previous = names.get(name);
    if (previous !== undefined) report(at('name'), `name "${name}" is already used by routes[${previous}]`);
    else names.set(name, index);

    let regex: RegExp | undefined;
    if (rc.match !== undefined) {
      try {
        regex = new RegExp(rc.match, 'u');
      } catch (err) {
        report(at('match'), `not a valid regular expression: ${(err as Error).message}`);
      }
    }
    if (rc.path !== undefined) {
      if (rc.path.includes('//') || DOT_SEGMENT.test(rc.path)) {
        report(at('path'), 'must be a normalised path (no "//", "." or ".." segments): it is compared with the normalised request path');
      }
    }

    let listeners: Set<number> | undefined;
    if (rc.listener !== undefined) {
      const scoped = (listeners = new Set<number>());
      const names = typeof rc.listener === 'string' ? [rc.listener] : rc.listener;
      names.forEach((n, i) => {
        const found = listenerIndex.get(n);
        const known = listenerIndex.size === 0 ? 'no listener has a name' : `named: ${[...listenerIndex.keys()].join(', ')}`;
        if (found === undefined) report(typeof rc.listener === 'string' ? at('listener') : at('listener', i), `no listener named "${n}" in \`listen\` (${known})`);
        else scoped.add(found);
      });
    }

    let host: HostMatcher | undefined;
    if (rc.host !== undefined) {
      const list = typeof rc.host === 'string' ? [rc.host] : rc.host;
      const matchers: HostMatcher[] = [];
      list.forEach((pattern, i) => {
        const h = compileHostPattern(pattern);
        if (typeof h === 'string') report(typeof rc.host === 'string' ? at('host') : at('host', i), h);
        else matchers.push(h);
      });
      host = matchers.length === 1 ? matchers[0] : (name) => matchers.some((h) => h(name));
    }

    const conditions = (map: Readonly<Record<string, string>> | undefined, where: (string | number)[]): HeaderCondition[] => {
      const list: HeaderCondition[] = [];
      for (const [header, raw] of Object.entries(map ?? {})) {
        const negate = raw.startsWith('!');
        try {
          // Like RewriteCond [NC]: case-insensitive, unanchored.
          list.push({ name: header.toLowerCase(), pattern: new RegExp(negate ? raw.slice(1) : raw, 'i'), negate });
        } catch (err) {
          report(at(...where, header), `not a valid regular expression: ${(err as Error).message}`);
        }
      }
      return list;
    };
    const headers = conditions(rc.when?.header, ['when', 'header']);
    const anyHeaders = (rc.when?.any ?? []).map((alt, i) => conditions(alt.header, ['when', 'any', i, 'header']));
    // What selects the request, for routes and exclusions alike.
    const selects = { prefix: rc.path, prefixEndsWithSlash: rc.path?.endsWith('/') ?? false, regex, listeners, host, headers, anyHeaders };

    if (rc.backend === undefined) {
      // An exclusion or a fixed answer: matched like any route, proxies nowhere.
      if (issues.length !== ok) return;
      matchers.push({
        route: undefined,
        respond: rc.respond === undefined ? undefined : Object.freeze({ respond: rc.respond.status, name }),
        ...selects,
        basePathTrimmed: '',
        basePathOrSlash: '/',
        baseQuery: undefined,
        pathTemplate: undefined,
        queryTemplate: undefined,
        conditionGroups: false,
      });
      return;
    }
    const backend = rc.backend;

    // A balancer route maps paths on the balancer URL's path; each member's origin is added per request.
    let balancer: Balancer | undefined;
    let origin: BackendOrigin | undefined;
    let upgrade: UpgradePolicy | undefined;
    let parsed: Pick<ParsedBackend, 'path' | 'query'> | string;
    if (isBalancerUrl(backend)) {
      const b = parseBalancerUrl(backend);
      parsed = b;
      if (typeof b === 'string') report(at('backend'), b);
      else if (!balancerNames.includes(b.name)) {
        const known = balancerNames.length === 0 ? 'no balancers are defined' : `defined: ${balancerNames.join(', ')}`;
        report(at('backend'), `no balancer named "${b.name}" in \`balancers\` (${known})`);
      } else {
        // A balancer that failed to compile has its own issues; the route just cannot be built.
        balancer = balancers.get(b.name);
        origin = balancer?.members[0]!.origin;
        if (balancer !== undefined) {
          const policy = balancerUpgradePolicy(rc.upgrade, b.name, config.balancers![b.name]!, balancer.members);
          if (typeof policy === 'string') report(at('upgrade'), policy);
          else upgrade = policy;
        }
      }
    } else {
      const single = parseBackendUrl(backend);
      parsed = single;
      if (typeof single === 'string') report(at('backend'), single);
      else {
        origin = single.origin;
        upgrade = routeUpgradePolicy(rc.upgrade, origin);
      }
    }

    let pathTemplate: Template | undefined;
    let queryTemplate: Template | undefined;
    const usesConditionGroups = hasConditionPlaceholder(backend);
    if (usesConditionGroups && regex === undefined) {
      report(at('backend'), '%n (a group of a `when` condition) can be used only in a `match` route');
    }
    if (typeof parsed !== 'string' && regex !== undefined && hasPlaceholder(backend)) {
      const groups = groupCount(regex);
      // %n may name a group of whichever condition matched last: up to the most any condition has.
      const conditionMax = Math.max(0, ...[headers, ...anyHeaders].flat().filter((c) => !c.negate).map((c) => groupCount(c.pattern)));
      const p = compileTemplate(parsed.path, groups, conditionMax);
      const q = parsed.query === undefined ? undefined : compileTemplate(parsed.query, groups, conditionMax);
      if (typeof p === 'string') report(at('backend'), p);
      else if (typeof q === 'string') report(at('backend'), q);
      else {
        pathTemplate = p;
        queryTemplate = q;
      }
    }

    const tlsWhere = rc.tls !== undefined ? at('tls', 'caFile') : ['defaults', 'tls', 'caFile'];
    const routeTls = (origin: BackendOrigin): BackendTls | undefined =>
      origin.secure ? tlsFor(rc.tls ?? defaults.tls, tlsWhere) : undefined;
    const tls = origin === undefined ? undefined : routeTls(origin);

    if (upgrade?.kind === 'never' && rc.upgradeOnly) {
      // Nothing would ever be tunnelled, so every request would get 426.
      report(
        at('upgradeOnly'),
        rc.upgrade === false
          ? 'refuses every request: the route never tunnels (`upgrade: false`)'
          : 'refuses every request: the route never tunnels (an http:// or https:// backend proxies upgrade ' +
              'requests as plain HTTP unless `upgrade` is set); set `upgrade` (e.g. websocket) or use a ws:// backend',
      );
    }

    const reverse = compileReverse(rc.reverse, {
      routePath: rc.path,
      backend,
      balancers,
      balancerNames,
      report: (keys, message) => report(at('reverse', ...keys), message),
    });

    if (issues.length !== ok || typeof parsed === 'string' || origin === undefined || upgrade === undefined) return;

    const base = {
      index,
      name,
      idleTimeoutMs: rc.idleTimeoutMs ?? defaults.idleTimeoutMs,
      connectTimeoutMs: rc.connectTimeoutMs ?? defaults.connectTimeoutMs,
      handshakeTimeoutMs: rc.handshakeTimeoutMs ?? defaults.handshakeTimeoutMs,
      preserveHost: rc.preserveHost ?? defaults.preserveHost,
      forwardedHeaders: rc.forwardedHeaders ?? defaults.forwardedHeaders,
      async: rc.async ?? defaults.async,
      asyncDelayMs: rc.asyncDelayMs ?? defaults.asyncDelayMs,
      highWaterMarkBytes: rc.highWaterMarkBytes ?? defaults.highWaterMarkBytes,
      upgrade,
      upgradeOnly: rc.upgradeOnly,
      proxyProtocol: rc.proxyProtocol,
      ...(reverse !== undefined && { reverse }),
      ...((rc.serverName ?? defaults.serverName) !== undefined && { serverName: rc.serverName ?? defaults.serverName }),
    };
    let route: CompiledRoute;
    if (balancer === undefined) route = Object.freeze({ ...base, backend: origin, tls });
    else {
      const targets: MemberTarget[] = balancer.members.map((member) =>
        Object.freeze({
          member,
          route: Object.freeze({ ...base, backend: member.origin, tls: routeTls(member.origin), proxyProtocol: member.proxyProtocol ?? base.proxyProtocol }),
        }),
      );
      route = Object.freeze({ ...base, backend: origin, tls, balancer: Object.freeze({ balancer, targets: Object.freeze(targets) }) });
    }
    const basePathTrimmed = parsed.path.endsWith('/') ? parsed.path.slice(0, -1) : parsed.path;
    matchers.push({
      route,
      respond: undefined,
      ...selects,
      basePathTrimmed,
      basePathOrSlash: parsed.path === '' ? '/' : parsed.path,
      baseQuery: parsed.query,
      pathTemplate,
      queryTemplate,
      conditionGroups: usesConditionGroups,
    });
  });

  list.throwIfAny();
  return new Table(matchers, balancers);
}
