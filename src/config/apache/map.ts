// Turns the gathered httpd contexts into the config object the YAML loader produces, and remembers which
// Apache lines each part came from (for `import-apache`). The mapping is the README's table "Running an
// Apache config": RewriteRule [P] before every ProxyPass, <Location> ProxyPass before the server's list,
// a virtual host's rules before the main server's, timeouts as httpd resolves them. With `fix`, the
// tutorial mistakes diagnosed here are mapped as their likely intended form instead. Pure.
import { isAbsolute, join } from 'node:path';
import { parseDurationMs, type BalancerSpec, type RequestLimitKey, type Gathered, type ProxyPassRule, type ReverseSpec, type RewriteRuleSpec, type ServerContext, type Settings } from './contexts.js';
import type { ApacheNote, Origin } from './types.js';

type Json = Record<string, unknown>;

/** A fixed answer where httpd answers every request of a rule with one status. */
type Respond = { readonly respond: number; readonly why: string };
/** Makes the route(s) of one rule: `target` is the backend URL as written, or a fixed answer. */
type WithTarget = (route: Json, target: string | Respond, params: ReadonlyMap<string, string>, o: Origin, extra: Origin[], extraFirst?: boolean) => void;
/** What a one-slash RewriteRule target does in httpd; undefined when an error was noted. */
type SelfRequest = (target: string, o: Origin) => Respond | { readonly url: string; readonly params: ReadonlyMap<string, string>; readonly why: string } | undefined;

export interface MapOptions {
  /** Map the diagnosed mistakes as their intended form (import-apache --fix). */
  readonly fix?: boolean;
  /** Relative certificate paths start here (httpd: ServerRoot). */
  readonly serverRoot: string;
}

export interface Mapped {
  readonly data: Json;
  /** Lines each part came from: 'listen', 'defaults', 'routes.N', 'balancers.NAME'. */
  readonly origins: Map<string, Origin[]>;
  /** Comments for import-apache, by part: one per correction (--fix) and per mapping device worth a word. */
  readonly corrections: Map<string, string[]>;
}

const DEFAULT_TIMEOUT_S = 60; // httpd's Timeout default
const MAX_HEAD_BYTES = 1024 * 1024; // the schema's largest maxHeaderBytes
const SCHEME = /^(wss?|https?):\/\//i;
const ONE_SLASH = /^(wss?|https?):\/(?!\/)/i;
const SECURE = /^(wss|https):/i;
const WORKER_IGNORED = new Set(['disablereuse', 'enablereuse', 'flushpackets', 'flushwait', 'keepalive', 'ttl', 'min', 'max', 'smax', 'acquire', 'iobuffersize', 'receivebuffersize', 'ping', 'responsefieldsize', 'lbset', 'hcmethod', 'hcinterval', 'hcpasses', 'hcfails', 'hcuri', 'hcexpr', 'hctemplate']);
const BALANCER_KEYS = new Set(['lbmethod', 'stickysession', 'nofailover', 'maxattempts', 'timeout', 'growth', 'forcerecovery', 'nonce', 'scolonpathdelim', 'stickysessionsep', 'failonstatus', 'failontimeout']);

function effective(ctx: ServerContext, main: ServerContext): Settings {
  const s: Settings = { ...main.settings };
  for (const [k, v] of Object.entries(ctx.settings)) if (v !== undefined && k !== 'origins') (s as unknown as Json)[k] = v;
  s.origins = ctx === main ? main.settings.origins : [...main.settings.origins, ...ctx.settings.origins];
  return s;
}

/** `[Aa]`-style folding for RewriteRule [NC]: JavaScript's `u` regexes have no inline (?i). */
function foldCase(pattern: string): string | undefined {
  if (/[[\\]/.test(pattern) && /[A-Za-z]/.test(pattern)) return undefined;
  return pattern.replace(/[A-Za-z]/g, (c) => `[${c.toUpperCase()}${c.toLowerCase()}]`);
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function mapApache(g: Gathered, notes: ApacheNote[], opts: MapOptions): Mapped {
  const origins = new Map<string, Origin[]>();
  const corrections = new Map<string, string[]>();
  const note = (o: Origin, level: ApacheNote['level'], message: string) => notes.push({ file: o.file, line: o.line, directive: o.directive, level, message });
  const correct = (key: string, o: Origin, text: string) => {
    const list = corrections.get(key) ?? [];
    const line = `fixed ${o.file}:${o.line}: ${text}`;
    if (!list.includes(line)) list.push(line);
    corrections.set(key, list);
  };
  const remark = (key: string, text: string) => {
    const list = corrections.get(key) ?? [];
    corrections.set(key, [...list, text.trim()]);
  };
  const fix = opts.fix === true;
  const main = g.main;

  /**
   * The TLS virtual hosts of one port: each TLS context (SSL settings inherited from the main server, as
   * mod_ssl merges them), the first being the default, as httpd picks the first virtual host of an address
   * for an unknown SNI name.
   */
  const listenerTls = (contexts: readonly ServerContext[]): Json | undefined => {
    const hosts: Json[] = [];
    for (const c of contexts) {
      const t = {
        engine: c.tls.engine ?? main.tls.engine,
        certFile: c.tls.certFile ?? main.tls.certFile,
        keyFile: c.tls.keyFile ?? main.tls.keyFile,
        chainFile: c.tls.chainFile ?? main.tls.chainFile,
      };
      if (t.engine !== true) continue;
      const at = c.origin ?? main.tls.origins[0];
      const file = (f: string | undefined, what: string): string => {
        if (f === undefined) {
          if (at !== undefined) note(at, 'error', `SSLEngine On needs ${what}`);
          return '';
        }
        return isAbsolute(f) ? f : join(opts.serverRoot, f);
      };
      const host: Json = {
        ...(c.names.length > 0 && { names: [...c.names] }),
        certFile: file(t.certFile, 'SSLCertificateFile'),
        keyFile: file(t.keyFile, 'SSLCertificateKeyFile'),
        ...(t.chainFile !== undefined && { chainFile: file(t.chainFile, 'SSLCertificateChainFile') }),
      };
      if (c.names.length === 0 && hosts.length > 0) {
        if (at !== undefined) note(at, 'warning', 'a TLS virtual host without ServerName is never chosen by SNI (the first one of its address is the default)');
        continue;
      }
      hosts.push(host);
    }
    const [first, ...rest] = hosts;
    if (first === undefined) return undefined;
    return rest.length > 0 ? { ...first, hosts: rest } : first;
  };

  // ── listeners and which contexts serve each ────────────────────────────────────────────────────
  if (g.listens.length === 0) {
    notes.push({ file: '', line: 0, directive: '', level: 'error', message: 'no Listen directive: httpd would not start ("no listening sockets available"); add e.g. "Listen 80"' });
  }
  const listen: Json[] = [];
  const listenOrigins: Origin[] = [];
  /** The servers of each listener group (the same servers on several ports share one), and its listeners. */
  const groups = new Map<string, { contexts: ServerContext[]; listeners: string[] }>();
  for (const { address, origin } of g.listens) {
    const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:]+):)?(\d+)$/.exec(address);
    if (m === null) {
      note(origin, 'error', `Listen "${address}" is not [address:]port`);
      continue;
    }
    const port = Number(m[2]);
    const served = g.vhosts.filter((v) => v.ports.includes(port));
    const contexts = served.length > 0 ? served : [main];
    const groupKey = contexts.map((c) => (c.origin === undefined ? 'main' : `${c.origin.file}:${c.origin.line}`)).join(',');
    const group = groups.get(groupKey) ?? { contexts, listeners: [] };
    group.listeners.push(address);
    groups.set(groupKey, group);
    // Named by the Listen argument, so routes can be scoped to it (see below).
    const entry: Json = { address: `${m[1] ?? ''}:${port}`, name: address };
    const tls = listenerTls(contexts);
    if (tls !== undefined) {
      entry.tls = tls;
      listenOrigins.push(...main.tls.origins, ...contexts.flatMap((c) => (c === main ? [] : c.tls.origins)));
    }
    listen.push(entry);
    listenOrigins.push(origin);
  }
  for (const v of g.vhosts) {
    if (!v.ports.some((p) => g.listens.some((l) => l.address.endsWith(String(p))))) {
      note(v.origin!, 'warning', `no Listen for port ${v.ports.join(', ')}: httpd never gives this virtual host a request, so its rules are left out`);
    }
  }
  // Listener names are needed only when different listeners serve different routes.
  if (groups.size <= 1) for (const entry of listen) delete entry.name;
  origins.set('listen', listenOrigins);

  // ── defaults from the main server ──────────────────────────────────────────────────────────────
  const mainSettings = effective(main, main);
  const timeouts = (s: Settings, params: ReadonlyMap<string, string> = new Map()) => {
    const serverS = s.timeoutS ?? DEFAULT_TIMEOUT_S;
    const timeoutParam = params.get('timeout');
    const backendS = timeoutParam !== undefined && /^\d+$/.test(timeoutParam) ? Number(timeoutParam) : (s.proxyTimeoutS ?? serverS);
    const connectMs = parseDurationMs(params.get('connectiontimeout')) ?? backendS * 1000;
    // httpd's tunnel waits max(client timeout, backend timeout) for activity (2.4.53+); the trunk
    // ProxyWebsocketIdleTimeout, when set above 0, is the idle limit itself.
    const idleMs = s.wsIdleMs !== undefined && s.wsIdleMs > 0 ? s.wsIdleMs : Math.max(serverS, backendS) * 1000;
    return { idleTimeoutMs: idleMs, connectTimeoutMs: connectMs, handshakeTimeoutMs: backendS * 1000 };
  };
  const routeOptions = (s: Settings, params?: ReadonlyMap<string, string>): Json => ({
    ...(s.serverName !== undefined && { serverName: s.serverName }),
    ...timeouts(s, params),
    preserveHost: s.preserveHost ?? false,
    forwardedHeaders: s.addHeaders ?? true,
    async: s.wsAsync ?? false,
  });
  const defaults: Json = routeOptions(mainSettings);
  const backendTls = (s: Settings): Json => ({ rejectUnauthorized: s.sslProxyVerify ?? false, ...(s.sslProxyCaFile !== undefined && { caFile: s.sslProxyCaFile }) });
  const data: Json = { listen };
  if (g.headTimeoutS !== undefined) {
    data.headTimeoutMs = g.headTimeoutS.seconds * 1000;
    origins.set('headTimeoutMs', [g.headTimeoutS.origin]);
  }
  // httpd's LimitRequest* (its defaults are wspass's), and no limit on the whole head beyond what they
  // allow together: maxHeaderBytes is set to that sum (at most the schema's 1 MiB).
  const limit = (key: RequestLimitKey, fallback: number): number => g.limits[key]?.value ?? fallback;
  for (const [key, { value, origin }] of Object.entries(g.limits)) {
    data[key] = value;
    origins.set(key, [origin]);
  }
  const fields = limit('maxHeaderFields', 100);
  const allowed = limit('maxRequestLineBytes', 8190) + (fields === 0 ? Infinity : fields) * limit('maxHeaderFieldBytes', 8190);
  data.maxHeaderBytes = Math.min(MAX_HEAD_BYTES, allowed);
  if (allowed > MAX_HEAD_BYTES) {
    const o = g.limits.maxHeaderFields?.origin ?? g.limits.maxHeaderFieldBytes?.origin ?? g.limits.maxRequestLineBytes!.origin;
    note(o, 'warning', `these limits allow a request head of ${fields === 0 ? 'any size' : `${allowed} bytes`}; wspass reads at most ${MAX_HEAD_BYTES} (maxHeaderBytes), a larger head gets 431`);
  }
  // httpd appends the peer to whatever X-Forwarded-For the client sent; wspass's own default replaces it.
  data.forwardedFor = { mode: 'append' };
  data.defaults = defaults;
  origins.set('defaults', mainSettings.origins);

  // ── routes ─────────────────────────────────────────────────────────────────────────────────────
  const routes: Json[] = [];
  const usedBalancers = new Set<string>();

  /** The backend as httpd would use it, or a reason it cannot be proxied (then an exclusion route). */
  const slashNoted = new Set<Origin>();
  /**
   * The one-slash URL diagnosis, once per line; returns the URL to use (corrected with --fix), else
   * undefined. What httpd does differs: ProxyPass refuses to start; mod_rewrite reads the target as a local
   * path and [P] proxies the request to this server itself at "/wss:/host/" (see selfRequest).
   */
  const oneSlash = (target: string, o: Origin, key: string): string | undefined => {
    if (!ONE_SLASH.test(target)) return target;
    const intended = target.replace(ONE_SLASH, '$1://');
    const rewrite = /^RewriteRule\b/i.test(o.directive);
    if (!slashNoted.has(o)) {
      slashNoted.add(o);
      const does = rewrite
        ? `mod_rewrite reads it as the local path "/${target}" and [P] sends the request to this server itself at that path, where it is routed again`
        : 'httpd does not start ("ProxyPass URL must be absolute!")';
      note(o, rewrite || fix ? 'warning' : 'error', `"${target}" has one slash after the scheme: ${does}. Likely meant: "${intended}"`);
    }
    if (!fix) return undefined;
    correct(key, o, `"${target}" → "${intended}"`);
    return intended;
  };

  /** The backend URL, a fixed answer where httpd answers one for every request, or undefined (an error was noted). */
  const checkTarget = (url: string, s: Settings, o: Origin, key: string): { url: string } | { respond: number; why: string } | undefined => {
    const target = oneSlash(url, o, key);
    if (target === undefined) return undefined;
    if (/^balancer:\/\//i.test(target)) return { url: target };
    if (!SCHEME.test(target)) {
      note(o, 'error', `backend "${target}" is not supported: wspass proxies to ws://, wss://, http://, https:// and balancer:// URLs`);
      return undefined;
    }
    if (SECURE.test(target) && s.sslProxyEngine !== true) {
      note(o, 'warning', `backend "${target}" needs TLS but this server has no "SSLProxyEngine On": httpd answers 500 (AH01961) to every request of this rule (503 while the backend refuses connections); wspass answers 500 too. Likely meant: add "SSLProxyEngine On"`);
      if (!fix) return { respond: 500, why: `respond 500: httpd answers 500 (AH01961) for "${target}" without SSLProxyEngine On` };
      correct(key, o, 'added SSLProxyEngine On for this backend');
    }
    return { url: target };
  };

  const push = (route: Json, from: Origin[]) => {
    const key = `routes.${routes.length}`;
    routes.push(route);
    origins.set(key, from);
  };

  /** Location-scoped reverse lines already said to be partly applied. */
  const partlyNoted = new Set<Origin>();
  /**
   * The route's `reverse` from the ProxyPassReverse lines that apply to its requests (httpd merges them per
   * request: the main server's, the virtual host's, then those of the <Location> sections around the
   * request path, the first that matches winning), and the lines it came from.
   */
  const reverseOf = (route: Json, specs: readonly ReverseSpec[], key: string): { value: Json; from: Origin[] } | undefined => {
    const path = typeof route.path === 'string' ? route.path : undefined;
    const urls: Json[] = [];
    const cookieDomain: Json = {};
    const cookiePath: Json = {};
    const from: Origin[] = [];
    for (const spec of specs) {
      if (spec.location !== undefined && (path === undefined || !within(path, spec.location))) {
        // Some of this route's requests may lie under the location: the rule cannot follow them there.
        if ((path === undefined || within(spec.location, path)) && !partlyNoted.has(spec.origin)) {
          partlyNoted.add(spec.origin);
          note(spec.origin, 'warning', `applies to routes whose path lies in <Location ${spec.location}>; requests under it that ${key} (${path ?? String(route.match)}) proxies are not rewritten (wspass maps answers per route)`);
        }
        continue;
      }
      if (spec.kind === 'cookieDomain') cookieDomain[spec.from] ??= spec.to;
      else if (spec.kind === 'cookiePath') cookiePath[spec.from] ??= spec.to;
      else {
        const b = /^balancer:\/\/([^/]+)/i.exec(spec.to);
        if (b !== null && !g.balancers.has(b[1]!)) {
          if (!partlyNoted.has(spec.origin)) note(spec.origin, 'warning', `no <Proxy "balancer://${b[1]!}"> defines this balancer: httpd compares the URL literally, so it never matches`);
          partlyNoted.add(spec.origin);
          continue;
        }
        if (b !== null) usedBalancers.add(b[1]!);
        urls.push({ url: spec.to, path: spec.from });
      }
      from.push(spec.origin);
    }
    if (from.length === 0) return undefined;
    const value: Json = {};
    if (urls.length > 0) value.urls = urls;
    if (Object.keys(cookieDomain).length > 0) value.cookieDomain = cookieDomain;
    if (Object.keys(cookiePath).length > 0) value.cookiePath = cookiePath;
    return { value, from };
  };

  const scopedRoutes = (ctx: ServerContext, host: string[] | undefined) => {
    const s = effective(ctx, main);
    const level = (list: readonly ReverseSpec[], inLocation: boolean) => list.filter((r) => (r.location !== undefined) === inLocation);
    const reverseSpecs =
      ctx === main
        ? [...level(main.reverses, false), ...level(main.reverses, true)]
        : [...level(main.reverses, false), ...level(ctx.reverses, false), ...level(main.reverses, true), ...level(ctx.reverses, true)];
    const opts = routeOptions(s);
    const hostKey = host === undefined ? {} : { host: host.length === 1 ? host[0]! : host };
    const differing = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([k, v]) => defaults[k] !== v));

    const withTarget: WithTarget = (route, target, params, o, extra, extraFirst = false) => {
      const from = extraFirst ? [...extra, o] : [o, ...extra];
      const key = `routes.${routes.length}`;
      const checked = typeof target === 'string' ? checkTarget(target, s, o, key) : target;
      if (checked === undefined) return;
      if ('respond' in checked) {
        remark(key, checked.why);
        push({ ...hostKey, ...route, respond: { status: checked.respond } }, from);
        return;
      }
      const r: Json = { ...hostKey, ...route, backend: checked.url };
      const m = /^balancer:\/\/([^/]+)/i.exec(checked.url);
      if (m !== null) {
        usedBalancers.add(m[1]!);
        balancerParams(m[1]!, params, o);
      } else {
        workerParams(r, params, o);
      }
      Object.assign(r, differing({ ...opts, ...timeouts(s, params) }));
      if (SECURE.test(checked.url)) r.tls = backendTls(s);
      if (s.wsFallbackOff === true && /^wss?:/i.test(checked.url)) {
        // The legacy translate-time veto: a ws:// rule is skipped for a request without Upgrade.
        r.when = { header: { ...((r.when as Json | undefined)?.header as Json | undefined), upgrade: '' } };
      }
      const reverse = reverseOf(r, reverseSpecs, key);
      if (reverse !== undefined) {
        r.reverse = reverse.value;
        from.push(...reverse.from);
      }
      push(r, from);
    };

    const passes = ctx === main ? [...main.locationPasses, ...main.passes] : [...ctx.locationPasses, ...main.locationPasses, ...ctx.passes, ...main.passes];

    /**
     * A RewriteRule [P] target with one slash, as httpd runs it: mod_rewrite takes "wss:/host/" for a local
     * path, and [P] proxies the request to this server itself at "/wss:/host/" (the client's Host, so the
     * same virtual host), without its Upgrade (a hop-by-hop header). That request is routed by this
     * server's rules: what they do with the path is what the rule does.
     */
    const selfRequest: SelfRequest = (target, o) => {
      const inner = `/${target}`;
      const tlsSelf = (ctx.tls.engine ?? main.tls.engine) === true;
      if (tlsSelf && s.sslProxyEngine !== true) {
        return { respond: 500, why: `respond 500: [P] sends the request to this TLS server itself at "${inner}", and without SSLProxyEngine On httpd answers 500 (AH01961)` };
      }
      if (/[$%][0-9]/.test(target)) {
        note(o, 'error', 'a one-slash target with $n or %n is not emulated (httpd sends the request to this server itself): write the intended URL, or run import-apache --fix');
        return undefined;
      }
      if (ctx.rewriteEngine) {
        for (const r of ctx.rewrites) {
          // The request to itself carries no Upgrade or Connection: a rule needing them does not apply.
          const needsUpgrade = r.conditions.some((c) => /^%\{HTTP:(upgrade|connection)\}$/i.test(c.test) && !c.pattern.startsWith('!'));
          if (r.flags.some((f) => /^P$/i.test(f)) && !needsUpgrade && testsPath(r.pattern, inner, r.flags.some((f) => /^NC$/i.test(f)))) {
            note(o, 'error', `the request httpd sends to this server itself ("${inner}") would be proxied by the RewriteRule at ${r.origin.file}:${r.origin.line}, which wspass does not emulate: write the intended URL, or run import-apache --fix`);
            return undefined;
          }
        }
      }
      for (const p of passes) {
        if (p.regex) {
          if (!testsPath(p.pattern, inner, false)) continue;
          note(o, 'error', `the request httpd sends to this server itself ("${inner}") would be proxied by the ProxyPassMatch at ${p.origin.file}:${p.origin.line}, which wspass does not emulate: write the intended URL, or run import-apache --fix`);
          return undefined;
        }
        if (!within(inner, p.pattern)) continue;
        if (p.target === '!') return { respond: 404, why: `respond 404: [P] sends the request to this server itself at "${inner}", excluded by ${p.origin.file}:${p.origin.line}` };
        const rest = inner.slice(p.pattern.endsWith('/') ? p.pattern.length : p.pattern.length + 1);
        const url = inner.length === p.pattern.length ? p.target : `${p.target.endsWith('/') ? p.target : `${p.target}/`}${rest}`;
        const sent = `[P] sends the request to this server itself at "${inner}", and ${p.origin.file}:${p.origin.line} proxies that to "${url}"`;
        if (SECURE.test(url) && s.sslProxyEngine !== true) {
          note(o, 'warning', `${sent}, which needs "SSLProxyEngine On": httpd answers 500 (AH01961) to every request of this rule`);
          return { respond: 500, why: `respond 500: ${sent} without SSLProxyEngine On, where httpd answers 500 (AH01961)` };
        }
        const params = new Map([...p.params].filter(([k]) => k !== 'upgrade'));
        return { url, params, why: `${sent}, without Upgrade (a hop-by-hop header)` };
      }
      return { respond: 404, why: `respond 404: [P] sends the request to this server itself at "${inner}", which no rule of this server proxies` };
    };

    if (ctx.rewriteEngine) for (const rule of ctx.rewrites) rewriteRoute(rule, withTarget, selfRequest);
    else for (const rule of ctx.rewrites) note(rule.origin, 'ignored', 'RewriteEngine is not On in this server, so httpd ignores the rule');
    for (const p of passes) passRoute(p, withTarget, hostKey);
  };

  const passRoute = (p: ProxyPassRule, withTarget: WithTarget, hostKey: Json) => {
    const where: Json = p.regex ? { match: p.pattern } : { path: p.pattern };
    if (p.target === '!') {
      push({ ...hostKey, ...where, exclude: true }, [p.origin]);
      return;
    }
    withTarget(where, p.target, p.params, p.origin, []);
  };

  const rewriteRoute = (rule: RewriteRuleSpec, withTarget: WithTarget, selfRequest: SelfRequest) => {
    const o = rule.origin;
    const flags = new Set(rule.flags.map((f) => f.replace(/=.*/, '')));
    if (!flags.has('P')) {
      note(o, 'error', 'RewriteRule without [P] (an internal rewrite or a redirect) is not supported: proxy with [P], or do the redirect in the backend');
      return;
    }
    for (const f of flags) {
      if (!['P', 'L', 'NC', 'NE', 'QSA', 'END'].includes(f)) note(o, 'error', `RewriteRule flag [${f}] is not supported: only P, L, NC, NE, QSA and END`);
    }
    if (rule.pattern.startsWith('!')) return note(o, 'error', 'a negated RewriteRule pattern cannot proxy (it captures nothing): write the positive pattern');
    let pattern = rule.pattern;
    if (flags.has('NC')) {
      const folded = foldCase(pattern);
      if (folded === undefined) return note(o, 'error', 'RewriteRule [NC] on a pattern with letters inside [...] or escapes is not supported: write the case variants out');
      pattern = folded;
    }
    // %{HTTP:Name} (and %{HTTP_HOST}, the Host header) in the target is that request header, taken as the
    // groups of one more condition that holds whenever the header is present (`name: ^(.*)$`, the last one,
    // so its group is %1). wspass's %n are the groups of one condition, so one header per target.
    let ruleTarget = rule.target;
    const varHeader = targetHeader(ruleTarget);
    const written = /%\{[^}]*\}/.exec(ruleTarget)?.[0] ?? '';
    if (varHeader !== undefined) {
      if (varHeader.startsWith('!')) return note(o, 'error', varHeader.slice(1));
      if (/%[0-9]/.test(ruleTarget)) return note(o, 'error', `${written} and %n in one RewriteRule target are not supported yet: capture the header with a RewriteCond ${written} (.*) and use its %n`);
      if (/^[a-z]+:\/\/[^/?]*%\{/i.test(ruleTarget)) return note(o, 'error', `${written} in the host of the RewriteRule target is not supported: a route has one backend host; use it in the path or query`);
      ruleTarget = ruleTarget.replace(/%\{[^}]*\}/g, '%1');
    }
    const conditionRefs = /%[0-9]/.test(ruleTarget);
    if (conditionRefs) {
      // %n is always a back-reference in mod_rewrite; in a wspass backend "%1a" would read as an encoded byte.
      if (/%[0-9][0-9A-Fa-f]/.test(ruleTarget)) return note(o, 'error', 'a %n followed by a hex digit (e.g. "%1a") is not supported: wspass would read it as a percent-encoded byte; put a "/" or another character after it');
      if (/^[a-z]+:\/\/[^/?]*%[0-9]/i.test(ruleTarget)) return note(o, 'error', 'a %n in the host of the RewriteRule target is not supported: a route has one backend host; use %n in the path or query');
    }
    const header: Json = {};
    const extra: Origin[] = [];
    const key = `routes.${routes.length}`;
    // Every mistake of the rule is diagnosed, even when an earlier one already keeps it from applying.
    oneSlash(rule.target, o, key);
    for (const c of rule.conditions) {
      if (!c.test.startsWith('${')) continue;
      const intended = `%${c.test.slice(1)}`;
      const outcome = conditionOnEmpty(c.pattern) === true ? 'this condition always holds' : `this condition never matches "${c.pattern}"`;
      note(c.origin, 'warning', `"${c.test}" starts with "$": httpd reads it as a RewriteMap lookup of an undefined map and tests the empty string, so ${outcome}. Likely meant: RewriteCond ${intended} ${c.pattern}${c.flags.length > 0 ? ` [${c.flags.join(',')}]` : ''}`);
    }
    // Each condition becomes a header test, or (a faithful `${...}`, which tests '') a constant.
    type Item = { readonly or: boolean } & ({ readonly kind: 'always' | 'never' } | { readonly kind: 'test'; readonly name: string; readonly pat: string; readonly origin: Origin });
    const items: Item[] = [];
    /** %{REQUEST_URI} conditions, as lookaheads on the path the rule's pattern is matched on. */
    const lookaheads: string[] = [];
    for (const c of rule.conditions) {
      extra.push(c.origin);
      const or = c.flags.includes('OR');
      let test = c.test;
      if (test.startsWith('${')) {
        if (!fix) {
          const holds = conditionOnEmpty(c.pattern);
          if (holds === undefined) return note(c.origin, 'error', `condition pattern "${c.pattern}" is not supported`);
          items.push({ or, kind: holds ? 'always' : 'never' });
          continue;
        }
        test = `%${test.slice(1)}`;
        correct(key, c.origin, `"${c.test}" → "${test}"`);
      }
      if (/^%\{REQUEST_URI\}$/i.test(test)) {
        const look = uriLookahead(c.pattern, c.flags, items.at(-1)?.or === true || or, /\$[0-9]/.test(rule.target), /%[0-9]|%\{/.test(rule.target));
        if (typeof look !== 'string' || look.startsWith('!')) {
          return note(c.origin, 'error', typeof look === 'string' ? look.slice(1) : 'condition pattern not supported');
        }
        lookaheads.push(look);
        continue;
      }
      // %{HTTP_HOST} is the Host header.
      const m = /^%\{HTTP:([A-Za-z0-9-]+)\}$/.exec(test) ?? (/^%\{HTTP_HOST\}$/i.test(test) ? [test, 'Host'] : null);
      if (m === null) return note(c.origin, 'error', `RewriteCond on "${test}" is not supported yet: only %{HTTP:Header-Name}, %{HTTP_HOST} and %{REQUEST_URI}`);
      const unknown = c.flags.filter((f) => f !== 'NC' && f !== 'OR');
      if (unknown.length > 0) return note(c.origin, 'error', `RewriteCond flag [${unknown.join(',')}] is not supported yet: only [NC] and [OR]`);
      if (!c.flags.includes('NC')) note(c.origin, 'warning', 'wspass compares header conditions case-insensitively, as with [NC]');
      const pat = headerPattern(c.pattern);
      if (pat === undefined) return note(c.origin, 'error', `condition pattern "${c.pattern}" is not supported: write a regular expression, "=value" or "!" before either`);
      items.push({ or, kind: 'test', name: m[1].toLowerCase(), pat, origin: c.origin });
    }
    // `A [OR] B` then `C`: (A or B) and C. A chain runs up to the first condition without [OR].
    const chains: Item[][] = [];
    let chain: Item[] = [];
    for (const item of items) {
      chain.push(item);
      if (!item.or) {
        chains.push(chain);
        chain = [];
      }
    }
    if (chain.length > 0) chains.push(chain); // a trailing [OR] ORs with nothing more
    const any: Json[] = [];
    // For %n: where the [OR] group is, and the last header condition that captures (a positive one).
    let anyAt = -1;
    let lastPositiveAt = -1;
    for (const [at, ch] of chains.entries()) {
      if (ch.some((i) => i.kind === 'always')) continue;
      const tests = ch.filter((i): i is Item & { kind: 'test'; name: string; pat: string; origin: Origin } => i.kind === 'test');
      if (tests.length === 0) return note(o, 'warning', 'this rule never applies (a condition on an undefined map never matches): no route is made for it');
      if (tests.length === 1) {
        const t = tests[0]!;
        if (header[t.name] !== undefined) return note(t.origin, 'error', `two conditions on ${t.name} in one rule are not supported yet: join them into one pattern`);
        header[t.name] = t.pat;
        if (!t.pat.startsWith('!')) lastPositiveAt = at;
      } else {
        if (any.length > 0) return note(tests[0]!.origin, 'error', 'more than one [OR] group in a rule is not supported yet: split the rule in two');
        any.push(...tests.map((t) => ({ header: { [t.name]: t.pat } })));
        if (tests.some((t) => !t.pat.startsWith('!'))) anyAt = at;
      }
    }
    // httpd's %n are the groups of the last condition that matched, in file order; wspass takes the [OR]
    // group's first, then the other conditions': the same unless a capturing condition precedes the group.
    if (varHeader === undefined && conditionRefs && anyAt !== -1 && lastPositiveAt !== -1 && lastPositiveAt < anyAt) {
      return note(o, 'error', 'with %n, a condition before the [OR] group would give wspass different groups than httpd: put the [OR] conditions first (the rule applies the same)');
    }
    if (varHeader !== undefined) {
      if (header[varHeader] !== undefined) return note(o, 'error', `${written} in the target of a rule with a RewriteCond on ${varHeader === 'host' ? 'the host' : varHeader} is not supported yet: capture the header in that condition and use its %n`);
      header[varHeader] = '^(.*)$';
      const who = varHeader === 'host' ? 'a host' : `a ${varHeader} header (without it the rule does not apply)`;
      remark(key, ` %1 is ${written}: the groups of the last condition, "${varHeader}: ^(.*)$", which every request with ${who} meets`);
    }
    const route: Json = { match: lookaheads.length === 0 ? pattern : `^${lookaheads.join('')}[\\s\\S]*?(?:${pattern})` };
    if (Object.keys(header).length > 0 || any.length > 0) route.when = { ...(Object.keys(header).length > 0 && { header }), ...(any.length > 0 && { any }) };
    let target = ruleTarget;
    let params: ReadonlyMap<string, string> = new Map();
    if (!fix && ONE_SLASH.test(target)) {
      const self = selfRequest(target, o);
      if (self === undefined) return;
      if ('respond' in self) return withTarget(route, self, params, o, extra, true);
      remark(key, self.why);
      target = self.url;
      params = self.params;
      route.upgrade = false;
    }
    if (!/\$[0-9]/.test(target)) {
      // mod_rewrite sends the target as written, while a regex route without $n appends the request
      // path (ProxyPassMatch): an empty group at the end, placed in the target, keeps the path as written.
      const exact = exactTarget(pattern, target);
      if (exact !== undefined) {
        route.match = exact.match;
        target = exact.target;
        remark(key, ` the empty group "()" and $${exact.group} keep the target path as written (mod_rewrite appends nothing)`);
      }
    }
    withTarget(route, target, params, o, extra, true);
  };

  const workerParams = (r: Json, params: ReadonlyMap<string, string>, o: Origin) => {
    for (const [k, v] of params) {
      if (k === 'upgrade') r.upgrade = v.toUpperCase() === 'ANY' ? 'ANY' : v.toUpperCase() === 'NONE' ? 'NONE' : v.split(',').length > 1 ? v.split(',') : v;
      else if (k === 'timeout' || k === 'connectiontimeout') {
        if (k === 'timeout' ? !/^\d+$/.test(v) : parseDurationMs(v) === undefined) note(o, 'error', `${k}=${v} expects seconds${k === 'connectiontimeout' ? ' (or milliseconds with "ms")' : ''}`);
      } else if (k === 'retry' || k === 'loadfactor' || k === 'status' || k === 'route' || k === 'redirect') {
        note(o, 'ignored', `${k}= on a backend outside a balancer: httpd does not use it there (a standalone backend is retried on every request)`);
      } else if (WORKER_IGNORED.has(k)) note(o, 'ignored', `${k}= (connection pooling and flushing are wspass's own: each tunnel has its own backend connection and is never buffered)`);
      else note(o, 'error', `ProxyPass parameter "${k}${v === '' ? '' : `=${v}`}" is not supported (httpd: unknown or a flag wspass does not emulate)`);
    }
  };

  const balancerExtra = new Map<string, Map<string, { v: string; o: Origin }>>();
  const balancerParams = (name: string, params: ReadonlyMap<string, string>, o: Origin) => {
    const m = balancerExtra.get(name) ?? new Map<string, { v: string; o: Origin }>();
    balancerExtra.set(name, m);
    for (const [k, v] of params) {
      if (BALANCER_KEYS.has(k)) m.set(k, { v, o });
      else if (k === 'timeout' || k === 'connectiontimeout' || k === 'upgrade') note(o, 'error', `${k}= on a balancer:// ProxyPass is not supported yet: put it on each BalancerMember`);
      else workerParams({}, new Map([[k, v]]), o);
    }
  };

  // Which contexts serve requests on which listeners: each group's routes, scoped to its listeners when
  // the groups differ (a <VirtualHost *:8080> serves only port 8080, as in httpd).
  const serveGroup = (served: ServerContext[]) => {
    if (served.length === 1) return scopedRoutes(served[0]!, undefined);
    // Name-based virtual hosts: the first is the default, so it goes last and unscoped; each other one
    // ends with an exclusion for its names, so its unmatched requests get 404 as in httpd.
    for (const v of served.slice(1)) {
      if (v.names.length === 0) {
        note(v.origin!, 'warning', 'a virtual host without ServerName never gets a request (the first one of its address is the default)');
        continue;
      }
      scopedRoutes(v, v.names);
      push({ host: v.names.length === 1 ? v.names[0]! : v.names, path: '/', exclude: true }, [v.origin!]);
    }
    scopedRoutes(served[0]!, undefined);
  };
  if (groups.size <= 1) serveGroup([...groups.values()][0]?.contexts ?? [main]);
  else {
    for (const { contexts, listeners } of groups.values()) {
      const first = routes.length;
      serveGroup(contexts);
      const listener = listeners.length === 1 ? listeners[0]! : listeners;
      for (let i = first; i < routes.length; i++) routes[i] = { listener, ...routes[i] };
    }
  }
  if (routes.length === 0) {
    notes.push({ file: '', line: 0, directive: '', level: 'error', message: 'no ProxyPass, ProxyPassMatch or RewriteRule [P] reaches a listener: nothing would be proxied' });
  }
  data.routes = routes;

  // ── balancers ──────────────────────────────────────────────────────────────────────────────────
  const balancers: Json = {};
  for (const spec of g.balancers.values()) {
    if (!usedBalancers.has(spec.name)) {
      note(spec.origin, 'ignored', `balancer://${spec.name} is used by no ProxyPass or RewriteRule`);
      continue;
    }
    balancers[spec.name] = mapBalancer(spec, balancerExtra.get(spec.name), effective(main, main));
    origins.set(`balancers.${spec.name}`, [spec.origin, ...spec.members.map((m) => m.origin), ...spec.paramOrigins]);
  }
  for (const name of usedBalancers) {
    if (!g.balancers.has(name)) notes.push({ file: '', line: 0, directive: '', level: 'error', message: `balancer://${name} is used but no <Proxy "balancer://${name}"> defines its members` });
  }
  if (Object.keys(balancers).length > 0) data.balancers = balancers;
  if (routes.some((r) => typeof r.backend === 'string' && /^balancer:/i.test(r.backend)) && mainSettings.sslProxyEngine === true) {
    defaults.tls = backendTls(mainSettings);
  }

  function mapBalancer(spec: BalancerSpec, extra: Map<string, { v: string; o: Origin }> | undefined, s: Settings): Json {
    const all = new Map<string, { v: string; o: Origin }>();
    for (const [k, v] of spec.params) all.set(k, { v, o: spec.paramOrigins[0] ?? spec.origin });
    for (const [k, v] of extra ?? []) all.set(k, v);
    const b: Json = {};
    let retryMs: number | undefined;
    const members = spec.members.map((m) => {
      const member: Json = { url: m.url };
      if (ONE_SLASH.test(m.url) || !SCHEME.test(m.url)) note(m.origin, 'error', `BalancerMember "${m.url}" must be a ws://, wss://, http:// or https:// URL`);
      if (SECURE.test(m.url) && s.sslProxyEngine !== true) note(m.origin, 'error', 'a TLS member without "SSLProxyEngine On" (httpd answers 500): add SSLProxyEngine On');
      for (const [k, v] of m.params) {
        if (k === 'loadfactor') {
          const n = Number(v);
          if (!(n >= 1 && n <= 100)) note(m.origin, 'error', 'loadfactor= must be 1 to 100');
          member.weight = Math.max(1, Math.round(n));
          if (!Number.isInteger(n)) note(m.origin, 'warning', `loadfactor=${v} rounded to ${String(member.weight)} (weights are whole numbers)`);
        } else if (k === 'route') member.route = v;
        else if (k === 'upgrade') member.upgrade = v.toUpperCase() === 'ANY' ? 'ANY' : v;
        else if (k === 'status') {
          const flags = v.replace(/^[+-]/, '').toUpperCase();
          if (v.startsWith('-')) continue;
          if (flags.includes('D') || flags.includes('S')) member.state = 'disabled';
          else if (flags.includes('H') || flags.includes('R')) member.state = 'standby';
          else if (flags.includes('N')) member.state = 'draining';
          else if (flags.includes('I') || flags.includes('E')) note(m.origin, 'ignored', `status=${v}: error state is tracked by wspass itself`);
        } else if (k === 'retry') {
          retryMs = Math.max(retryMs ?? 0, Number(v) * 1000);
          if (spec.members.length > 1) note(m.origin, 'warning', 'retry= is one value per balancer in wspass: the largest of the members is used');
        } else if (WORKER_IGNORED.has(k)) note(m.origin, 'ignored', `${k}= (connection pooling is wspass's own)`);
        else note(m.origin, 'error', `BalancerMember parameter "${k}" is not supported yet`);
      }
      return member;
    });
    let noFailover: Origin | undefined;
    for (const [k, { v, o }] of all) {
      if (k === 'lbmethod') {
        if (['byrequests', 'bybusyness', 'bytraffic'].includes(v.toLowerCase())) b.strategy = v.toLowerCase();
        else note(o, 'error', `lbmethod=${v} is not supported: byrequests, bybusyness or bytraffic`);
      } else if (k === 'stickysession') {
        // httpd reads the URL parameter (the cookie's name unless "COOKIE|param") before the cookie.
        const [cookie, param] = v.split('|');
        b.sticky = { cookie, ...(param !== undefined && param !== cookie && { param }) };
      } else if (k === 'maxattempts') b.maxAttempts = Math.min(20, Number(v) + 1);
      else if (k === 'nofailover') {
        if (v.toLowerCase() === 'on') noFailover = o;
      } else if (k === 'scolonpathdelim') {
        if (v.toLowerCase() === 'on') note(o, 'warning', 'scolonpathdelim=On is not emulated: a sticky URL parameter value runs to the next "?" or "&", not ";"');
      } else if (k === 'stickysessionsep') {
        if (v !== '.') note(o, 'error', 'stickysessionsep other than "." is not supported');
      } else if (k === 'timeout') note(o, 'warning', 'balancer timeout= is not emulated: with no usable member wspass answers 503 at once');
      else note(o, 'ignored', `${k}= (balancer-manager and recovery settings are wspass's own)`);
    }
    if (noFailover !== undefined) {
      if (b.sticky === undefined) note(noFailover, 'ignored', 'nofailover=On without stickysession: no request names a member');
      else (b.sticky as Json).noFailover = true;
    }
    b.members = members;
    // httpd tries one member then up to members−1 others.
    if (b.maxAttempts === undefined) b.maxAttempts = Math.max(1, Math.min(20, members.length));
    if (retryMs !== undefined) b.retryMs = retryMs;
    return b;
  }

  return { data, origins, corrections };
}

/** Whether a rule's regex finds `path` (false when it does not compile: the rule reports that itself). */
function testsPath(pattern: string, path: string, nc: boolean): boolean {
  try {
    return new RegExp(pattern, nc ? 'iu' : 'u').test(path);
  } catch {
    return false;
  }
}

/** Whether URL path `inner` lies in `outer` (a prefix at a segment boundary, as <Location> matches). */
function within(inner: string, outer: string): boolean {
  if (!inner.startsWith(outer)) return false;
  return outer.endsWith('/') || inner.length === outer.length || inner[outer.length] === '/';
}

/** `pattern` with an empty group appended and `target` with that group in its path; undefined past $9. */
function exactTarget(pattern: string, target: string): { match: string; target: string; group: number } | undefined {
  let groups: number;
  try {
    groups = new RegExp(`${pattern}|`, 'u').exec('')!.length - 1;
  } catch {
    return undefined; // the route table reports the pattern
  }
  const group = groups + 1;
  if (group > 9) return undefined;
  const q = target.indexOf('?');
  let base = q === -1 ? target : target.slice(0, q);
  if (/^[a-z]+:\/\/[^/]*$/i.test(base)) base += '/';
  return { match: `(?:${pattern})()`, target: `${base}$${group}${q === -1 ? '' : target.slice(q)}`, group };
}

/**
 * A RewriteCond %{REQUEST_URI} condition as a lookahead at the start of the rule's pattern: the URI is the
 * decoded path the pattern itself is matched on (server context). A message starting with "!" when it
 * cannot be one: in an [OR] chain, groups that would shift $n, %n (which would need its groups), flags.
 */
function uriLookahead(pattern: string, flags: readonly string[], inOrChain: boolean, dollarRefs: boolean, percentRefs: boolean): string {
  if (inOrChain) return '!a %{REQUEST_URI} condition in an [OR] chain is not supported yet: fold the paths into the RewriteRule pattern';
  const unknown = flags.filter((f) => f !== 'NC');
  if (unknown.length > 0) return `!RewriteCond flag [${unknown.join(',')}] on %{REQUEST_URI} is not supported yet: only [NC]`;
  if (percentRefs) return '!%n with a %{REQUEST_URI} condition is not supported yet: capture in the RewriteRule pattern and use $n';
  const negate = pattern.startsWith('!');
  let body = negate ? pattern.slice(1) : pattern;
  if (/^[<>]|^-[a-zA-Z]$/.test(body)) return `!condition pattern "${pattern}" is not supported: write a regular expression, "=value" or "!" before either`;
  body = body.startsWith('=') ? `^${escapeRegex(body.slice(1))}$` : body;
  if (flags.includes('NC')) {
    const folded = foldCase(body);
    if (folded === undefined) return '![NC] on a pattern with letters inside [...] or escapes is not supported: write the case variants out';
    body = folded;
  }
  let groups: number;
  try {
    groups = new RegExp(`${body}|`, 'u').exec('')!.length - 1;
  } catch (err) {
    return `!not a valid regular expression: ${(err as Error).message}`;
  }
  if (groups > 0 && dollarRefs) return '!groups in a %{REQUEST_URI} condition would renumber the rule\'s $n: write (?:...) there';
  return negate ? `(?![\\s\\S]*?(?:${body}))` : `(?=[\\s\\S]*?(?:${body}))`;
}

/** A RewriteCond pattern as a route header pattern ("!" negates; "=x" is an exact comparison). */
function headerPattern(p: string): string | undefined {
  const negate = p.startsWith('!');
  const body = negate ? p.slice(1) : p;
  if (/^[<>]|^-[a-zA-Z]$/.test(body)) return undefined;
  const regex = body.startsWith('=') ? `^${escapeRegex(body.slice(1))}$` : body;
  return negate ? `!${regex}` : regex;
}

function conditionOnEmpty(p: string): boolean | undefined {
  const pat = headerPattern(p);
  if (pat === undefined) return undefined;
  const negate = pat.startsWith('!');
  try {
    return new RegExp(negate ? pat.slice(1) : pat, 'i').test('') !== negate;
  } catch {
    return undefined;
  }
}

/**
 * The request header that the %{...} variables of a RewriteRule target name, lower-case: %{HTTP:Name}, or
 * %{HTTP_HOST} for Host. undefined: none; "!reason": one wspass cannot follow.
 */
function targetHeader(target: string): string | undefined {
  const vars = [...target.matchAll(/%\{([^}]*)\}/g)].map((m) => m[1]!);
  if (vars.length === 0) return undefined;
  const names = new Set<string>();
  for (const v of vars) {
    const m = /^HTTP:([A-Za-z0-9-]+)$/i.exec(v) ?? (/^HTTP_HOST$/i.test(v) ? [v, 'Host'] : null);
    if (m === null) return `!%{${v}} in the RewriteRule target is not supported yet: only request headers, %{HTTP:Name} and %{HTTP_HOST}; use $n from the rule pattern, or %n from a RewriteCond`;
    names.add(m[1].toLowerCase());
  }
  if (names.size > 1) return `!${[...names].map((n) => `%{HTTP:${n}}`).join(' and ')} in one RewriteRule target are not supported yet: wspass's %n are the groups of one condition, so a target can use one header`;
  return [...names][0]!;
}
