// Gathers the directives httpd would apply into server contexts (the main server and each
// <VirtualHost>), balancers (<Proxy "balancer://...">) and listeners, classifying everything else (see
// classify.ts). Nothing is decided about wspass routes here: that is map.ts. Pure.
import { classify, fileSectionNote } from './classify.js';
import type { ApacheNote, Directive, Origin } from './types.js';

export interface ProxyPassRule {
  readonly regex: boolean;
  readonly pattern: string;
  /** The backend URL, or '!' for an exclusion. */
  readonly target: string;
  readonly params: ReadonlyMap<string, string>;
  readonly origin: Origin;
}

export interface RewriteCondition {
  /** The test string as written, e.g. %{HTTP:Upgrade}. */
  readonly test: string;
  readonly pattern: string;
  readonly flags: readonly string[];
  readonly origin: Origin;
}

export interface RewriteRuleSpec {
  readonly pattern: string;
  readonly target: string;
  readonly flags: readonly string[];
  readonly conditions: readonly RewriteCondition[];
  readonly origin: Origin;
}

/** One ProxyPassReverse (fake = the public path, real = the backend URL) or cookie map (from → to). */
export interface ReverseSpec {
  readonly kind: 'url' | 'cookieDomain' | 'cookiePath';
  /** ProxyPassReverse: the public path; cookie maps: the backend's domain or path. */
  readonly from: string;
  /** ProxyPassReverse: the backend URL; cookie maps: the public domain or path. */
  readonly to: string;
  /** Set when the directive is inside <Location>: it applies to requests under this path. */
  readonly location: string | undefined;
  readonly origin: Origin;
}

/** Settings a virtual host takes from the main server unless it sets them. */
export interface Settings {
  serverName?: string;
  timeoutS?: number;
  proxyTimeoutS?: number;
  preserveHost?: boolean;
  addHeaders?: boolean;
  sslProxyEngine?: boolean;
  sslProxyVerify?: boolean;
  sslProxyCaFile?: string;
  wsIdleMs?: number;
  wsAsync?: boolean;
  wsFallbackOff?: boolean;
  /** Where each setting was made, for comments. */
  origins: Origin[];
}

export interface ServerContext {
  /** Undefined for the main server. */
  readonly origin: Origin | undefined;
  readonly ports: number[];
  readonly names: string[];
  readonly settings: Settings;
  readonly passes: ProxyPassRule[];
  readonly locationPasses: ProxyPassRule[];
  /** ProxyPassReverse and its cookie variants, in file order (server level and <Location>). */
  readonly reverses: ReverseSpec[];
  rewriteEngine: boolean;
  readonly rewrites: RewriteRuleSpec[];
  /** SSL settings as written here; a virtual host inherits what it leaves unset from the main server. */
  tls: { engine?: boolean; certFile?: string; keyFile?: string; chainFile?: string; origins: Origin[] };
}

export interface BalancerSpec {
  readonly name: string;
  readonly origin: Origin;
  readonly members: { url: string; params: Map<string, string>; origin: Origin }[];
  readonly params: Map<string, string>;
  readonly paramOrigins: Origin[];
}

export interface Gathered {
  readonly main: ServerContext;
  readonly vhosts: ServerContext[];
  readonly balancers: Map<string, BalancerSpec>;
  readonly listens: { address: string; origin: Origin }[];
  /** Whether RequestReadTimeout header= was set, and to how many seconds. */
  headTimeoutS?: { seconds: number; origin: Origin };
  /** LimitRequestLine / LimitRequestFieldSize / LimitRequestFields, when set. */
  readonly limits: Partial<Record<RequestLimitKey, { value: number; origin: Origin }>>;
}

/** The config keys httpd's LimitRequest* directives set. */
export type RequestLimitKey = 'maxRequestLineBytes' | 'maxHeaderFieldBytes' | 'maxHeaderFields';

const LIMIT_DIRECTIVES: Readonly<Record<string, { key: RequestLimitKey; min: number; max: number }>> = {
  limitrequestline: { key: 'maxRequestLineBytes', min: 64, max: 1024 * 1024 },
  limitrequestfieldsize: { key: 'maxHeaderFieldBytes', min: 64, max: 1024 * 1024 },
  limitrequestfields: { key: 'maxHeaderFields', min: 0, max: 10_000 },
};

function newContext(origin: Origin | undefined, ports: number[]): ServerContext {
  return {
    origin,
    ports,
    names: [],
    settings: { origins: [] },
    passes: [],
    locationPasses: [],
    reverses: [],
    rewriteEngine: false,
    rewrites: [],
    tls: { origins: [] },
  };
}

const onOff = (v: string | undefined): boolean | undefined => {
  const l = v?.toLowerCase();
  return l === 'on' ? true : l === 'off' ? false : undefined;
};

/** `key=value` words after a ProxyPass/BalancerMember URL; flags without `=` are kept with value ''. */
export function parseParams(words: readonly string[]): Map<string, string> {
  const params = new Map<string, string>();
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq === -1) params.set(w.toLowerCase(), '');
    else params.set(w.slice(0, eq).toLowerCase(), w.slice(eq + 1));
  }
  return params;
}

/** Seconds, or milliseconds with an `ms` suffix (the ProxyWebsocket* syntax); undefined when malformed. */
export function parseDurationMs(text: string | undefined, unitless: 'seconds' = 'seconds'): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)(ms)?$/i.exec(text.trim());
  if (m === null) return undefined;
  return m[2] !== undefined ? Number(m[1]) : Number(m[1]) * (unitless === 'seconds' ? 1000 : 1);
}

export function gather(directives: readonly Directive[], notes: ApacheNote[]): Gathered {
  const main = newContext(undefined, []);
  const out: Gathered = { main, vhosts: [], balancers: new Map(), listens: [], limits: {} };
  const note = (d: Origin, level: ApacheNote['level'], message: string) => notes.push({ file: d.file, line: d.line, directive: d.directive, level, message });

  const walk = (list: readonly Directive[], ctx: ServerContext, inLocation: string | undefined) => {
    for (const d of list) {
      const lower = d.name.toLowerCase();
      if (d.children !== undefined) {
        section(d, lower, ctx, inLocation);
        continue;
      }
      directive(d, lower, ctx, inLocation);
    }
  };

  const section = (d: Directive, lower: string, ctx: ServerContext, inLocation: string | undefined) => {
    if (lower === 'virtualhost') {
      if (ctx !== main) return note(d, 'error', '<VirtualHost> inside a <VirtualHost>: httpd refuses this');
      const ports: number[] = [];
      for (const a of d.args) {
        const m = /:(\d+|\*)$/.exec(a);
        ports.push(m === null || m[1] === '*' ? 80 : Number(m[1]));
      }
      const vh = newContext(d, ports);
      out.vhosts.push(vh);
      walk(d.children!, vh, undefined);
      return;
    }
    if (lower === 'location') {
      if (inLocation !== undefined) return note(d, 'error', '<Location> inside a <Location>: httpd refuses this');
      const path = d.args[0];
      if (path === undefined) return note(d, 'error', '<Location> needs a path');
      walk(d.children!, ctx, path);
      return;
    }
    if (lower === 'proxy') {
      const url = d.args[0] ?? '';
      if (/^balancer:\/\//i.test(url)) {
        const name = url.replace(/^balancer:\/\//i, '').replace(/\/.*$/, '');
        const spec = out.balancers.get(name) ?? { name, origin: d, members: [], params: new Map<string, string>(), paramOrigins: [] };
        out.balancers.set(name, spec);
        for (const c of d.children!) {
          const cl = c.name.toLowerCase();
          if (cl === 'balancermember') {
            const [memberUrl, ...rest] = c.args;
            if (memberUrl === undefined) note(c, 'error', 'BalancerMember needs a URL');
            else spec.members.push({ url: memberUrl, params: parseParams(rest), origin: c });
          } else if (cl === 'proxyset') {
            for (const [k, v] of parseParams(c.args)) spec.params.set(k, v);
            spec.paramOrigins.push(c);
          } else if (c.children === undefined) {
            directive(c, cl, ctx, inLocation);
          } else {
            section(c, cl, ctx, inLocation);
          }
        }
        return;
      }
      // <Proxy *> or a URL: only access control goes in there, which wspass refuses item by item.
      walk(d.children!, ctx, inLocation);
      return;
    }
    if (lower === 'locationmatch' || lower === 'proxymatch' || lower === 'if' || lower === 'elseif' || lower === 'else') {
      return note(d, 'error', `<${d.name}> is not supported: use <Location> with a fixed path, or ProxyPassMatch`);
    }
    const fileNote = fileSectionNote(lower);
    if (fileNote !== undefined) {
      // Its contents are classified too: a Require in a <Directory> is still access control.
      walk(d.children!, ctx, inLocation);
      return note(d, 'ignored', `<${d.name}> (${fileNote}); its directives are listed one by one`);
    }
    note(d, 'error', `unknown section <${d.name}>: httpd would need a module wspass does not emulate; remove it or move what it does into the backend`);
  };

  const setting = <K extends keyof Settings>(ctx: ServerContext, d: Directive, key: K, value: Settings[K] | undefined, what: string) => {
    if (value === undefined) return note(d, 'error', `${d.name} expects ${what}`);
    ctx.settings[key] = value;
    ctx.settings.origins.push(d);
  };

  const directive = (d: Directive, lower: string, ctx: ServerContext, inLocation: string | undefined) => {
    const a = d.args;
    switch (lower) {
      case 'listen':
        if (ctx !== main) return note(d, 'error', 'Listen is allowed only outside <VirtualHost>');
        out.listens.push({ address: a[0] ?? '', origin: d });
        if (a[1] !== undefined) note(d, 'ignored', `the protocol argument "${a[1]}" (TLS comes from SSLEngine On in the virtual host)`);
        return;
      case 'servername': {
        if (a[0] === undefined) return note(d, 'error', 'ServerName needs a host name');
        const name = a[0].replace(/^[a-z]+:\/\//i, '').replace(/:\d+$/, '');
        ctx.names.unshift(name);
        // X-Forwarded-Server carries it (a virtual host without one has the main server's).
        return setting(ctx, d, 'serverName', name, 'a host name');
      }
      case 'serveralias':
        ctx.names.push(...a);
        return;
      case 'proxypass':
      case 'proxypassmatch': {
        const regex = lower === 'proxypassmatch';
        // Inside <Location> the path is the location's and the first argument is the URL (the short form).
        const [pattern, target, ...rest] = inLocation !== undefined ? [inLocation, ...a] : a;
        if (pattern === undefined || target === undefined) return note(d, 'error', `${d.name} needs a path and a URL (or "!")`);
        const rule: ProxyPassRule = { regex, pattern, target, params: parseParams(rest), origin: d };
        (inLocation !== undefined ? ctx.locationPasses : ctx.passes).push(rule);
        return;
      }
      case 'proxypassreverse':
      case 'proxypassreversecookiedomain':
      case 'proxypassreversecookiepath':
        return reverse(d, lower, ctx, inLocation);
      case 'proxypreservehost':
        return setting(ctx, d, 'preserveHost', onOff(a[0]), 'On or Off');
      case 'proxyaddheaders':
        return setting(ctx, d, 'addHeaders', onOff(a[0]), 'On or Off');
      case 'proxyrequests':
        if (onOff(a[0]) === false) return note(d, 'ignored', 'ProxyRequests Off is what wspass always does (reverse proxy only)');
        return note(d, 'error', 'ProxyRequests On makes httpd an open forward proxy; wspass is a reverse proxy only: remove the line or set it Off');
      case 'timeout':
        return setting(ctx, d, 'timeoutS', /^\d+$/.test(a[0] ?? '') ? Number(a[0]) : undefined, 'a number of seconds');
      case 'proxytimeout':
        return setting(ctx, d, 'proxyTimeoutS', /^\d+$/.test(a[0] ?? '') ? Number(a[0]) : undefined, 'a number of seconds');
      case 'requestreadtimeout': {
        for (const w of a) {
          const m = /^header=(\d+)(?:-\d+)?(?:,minrate=\d+)?$/i.exec(w);
          if (m !== null) out.headTimeoutS = { seconds: Number(m[1]), origin: d };
          else if (/^(body|handshake)=/i.test(w)) note(d, 'ignored', `"${w}": only the header= part is mapped (headTimeoutMs)`);
          else note(d, 'error', `RequestReadTimeout "${w}" is not understood: write header=SECONDS`);
        }
        if (/-\d+|minrate/i.test(a.join(' '))) note(d, 'warning', 'the header= range and MinRate are not emulated: the first number is the whole time allowed for a request head');
        return;
      }
      case 'limitrequestline':
      case 'limitrequestfieldsize':
      case 'limitrequestfields': {
        const { key, min, max } = LIMIT_DIRECTIVES[lower]!;
        const n = /^\d+$/.test(a[0] ?? '') ? Number(a[0]) : NaN;
        if (!(n >= min && n <= max)) return note(d, 'error', `${d.name} expects a number from ${min} to ${max}`);
        if (ctx !== main) note(d, 'warning', `${d.name} in a virtual host applies to every request in wspass (${key} is one limit for the process)`);
        out.limits[key] = { value: n, origin: d };
        return;
      }
      case 'rewriteengine':
        ctx.rewriteEngine = onOff(a[0]) ?? false;
        return;
      case 'rewritecond':
        pendingConds(ctx).push({ test: a[0] ?? '', pattern: a[1] ?? '', flags: flagList(a[2]), origin: d });
        return;
      case 'rewriterule': {
        const conds = pendingConds(ctx).splice(0);
        if (inLocation !== undefined) return note(d, 'error', 'RewriteRule inside <Location> (per-folder rules) is not supported: put it in the server or virtual host');
        ctx.rewrites.push({ pattern: a[0] ?? '', target: a[1] ?? '', flags: flagList(a[2]), conditions: conds, origin: d });
        return;
      }
      case 'sslengine':
        ctx.tls.engine = onOff(a[0]) ?? false;
        ctx.tls.origins.push(d);
        return;
      case 'sslcertificatefile':
        ctx.tls.certFile = a[0];
        ctx.tls.origins.push(d);
        return;
      case 'sslcertificatekeyfile':
        ctx.tls.keyFile = a[0];
        ctx.tls.origins.push(d);
        return;
      case 'sslcertificatechainfile':
        ctx.tls.chainFile = a[0];
        ctx.tls.origins.push(d);
        return;
      case 'sslproxyengine':
        return setting(ctx, d, 'sslProxyEngine', onOff(a[0]), 'On or Off');
      case 'sslproxyverify': {
        const v = a[0]?.toLowerCase();
        return setting(ctx, d, 'sslProxyVerify', v === 'require' ? true : v === 'none' ? false : undefined, 'none or require');
      }
      case 'sslproxycacertificatefile':
        return setting(ctx, d, 'sslProxyCaFile', a[0], 'a file');
      case 'proxywebsocketidletimeout':
        return setting(ctx, d, 'wsIdleMs', parseDurationMs(a[0]), 'seconds, or milliseconds with "ms"');
      case 'proxywebsocketasync':
        return setting(ctx, d, 'wsAsync', onOff(a[0]), 'On or Off');
      case 'proxywebsocketasyncdelay':
        if (parseDurationMs(a[0]) === undefined) return note(d, 'error', 'ProxyWebsocketAsyncDelay expects seconds, or milliseconds with "ms"');
        return note(d, 'ignored', 'how long a quiet tunnel keeps its httpd thread before being parked; wspass tunnels never hold a thread, so there is nothing to delay (it is not turned into a write hold)');
      case 'proxywebsocketfallbacktoproxyhttp':
        return setting(ctx, d, 'wsFallbackOff', onOff(a[0]) === undefined ? undefined : onOff(a[0]) === false, 'On or Off');
      case 'balancermember':
      case 'proxyset':
        return note(d, 'error', `${d.name} outside <Proxy "balancer://name">: put it in the balancer's <Proxy> section`);
      default: {
        const c = classify(d.name);
        if (lower === 'servername') return;
        if (c.kind === 'ignored') return note(d, 'ignored', c.why);
        if (c.kind === 'refused') return note(d, 'error', `${d.name} is not supported: ${c.what}`);
        return note(d, 'error', `unknown directive ${d.name}: httpd would say "Invalid command" unless a module wspass does not emulate defines it; remove it, or do what it does in the backend`);
      }
    }
  };

  /** ProxyPassReverse [path] url, ProxyPassReverseCookieDomain/Path internal public; `interpolate` is refused. */
  const reverse = (d: Directive, lower: string, ctx: ServerContext, inLocation: string | undefined) => {
    const words = [...d.args];
    if (words.length > 1 && words[words.length - 1]!.toLowerCase() === 'interpolate') {
      return note(d, 'error', `${d.name} ... interpolate (environment variables in the mapping) is not supported: write the values out`);
    }
    if (lower !== 'proxypassreverse') {
      if (words.length !== 2) return note(d, 'error', `${d.name} needs the backend's value and the public one`);
      const kind = lower === 'proxypassreversecookiedomain' ? 'cookieDomain' : 'cookiePath';
      ctx.reverses.push({ kind, from: words[0]!, to: words[1]!, location: inLocation, origin: d });
      return;
    }
    // Inside <Location> the one-argument form takes the location as the public path (as ProxyPass does).
    const [fake, real] = words.length === 1 && inLocation !== undefined ? [inLocation, words[0]!] : words;
    if (words.length > 2 || fake === undefined || real === undefined) {
      return note(d, 'error', inLocation === undefined ? 'ProxyPassReverse needs a path and a URL outside <Location>' : 'ProxyPassReverse takes a URL (or a path and a URL)');
    }
    if (!fake.startsWith('/')) return note(d, 'error', `ProxyPassReverse to "${fake}" is not supported: write the public path (the answer gets the scheme and host the client used)`);
    ctx.reverses.push({ kind: 'url', from: fake, to: real, location: inLocation, origin: d });
  };

  const conds = new WeakMap<ServerContext, RewriteCondition[]>();
  const pendingConds = (ctx: ServerContext): RewriteCondition[] => {
    let list = conds.get(ctx);
    if (list === undefined) conds.set(ctx, (list = []));
    return list;
  };

  walk(directives, main, undefined);
  for (const ctx of [main, ...out.vhosts]) {
    for (const c of conds.get(ctx) ?? []) note(c.origin, 'warning', 'RewriteCond with no RewriteRule after it: httpd ignores it');
  }
  return out;
}

function flagList(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text.replace(/^\[|\]$/g, '').split(',').map((f) => f.trim().toUpperCase()).filter((f) => f !== '');
}
