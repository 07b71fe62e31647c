// Rewrites a backend's answer headers as Apache's ProxyPassReverse and ProxyPassReverseCookieDomain/Path do
// (mod_proxy_http's process_proxy_header): Location, Content-Location, URI and Destination values that point
// into the backend are made to point at this proxy, and Set-Cookie Domain and Path attributes are mapped.
// The rules come from routing/reverse-map.ts. Pure: header lists in, header lists out.
//
//   Location: http://backend:8080/app/next  ──rule "http://backend:8080/app" → "/public"──▶
//   Location: https://proxy.example/public/next   (the scheme and Host the client used)
import type { ReverseMap, ReverseRule } from '../routing/reverse-map.js';

/** The response headers whose value is a URL Apache maps back. */
const URL_HEADERS: ReadonlySet<string> = new Set(['location', 'content-location', 'uri', 'destination']);

/** `scheme:` at the start: the value is already an absolute URL (Apache's ap_is_url). */
const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * `scheme://host[:port]` of this proxy as the client addressed it: the request's host (the Host header, or
 * the authority of an absolute-form target), lower-cased, without the scheme's default port. `fallback`
 * (the listener's address) serves a request that named no host (HTTP/1.0).
 */
export function publicOrigin(proto: 'http' | 'https', host: string | undefined, fallback: string): string {
  const h = host === undefined || host === '' ? fallback : host.toLowerCase();
  const port = /:(\d+)$/.exec(h);
  const defaultPort = proto === 'https' ? '443' : '80';
  const bare = port !== null && port[1] === defaultPort && !h.endsWith(']') ? h.slice(0, -port[0].length) : h;
  return `${proto}://${bare}`;
}

/** `address:port` of a socket end, IPv6 bracketed: the fallback host of publicOrigin. */
export function socketAuthority(address: string | undefined, port: number | undefined): string {
  const a = address ?? '';
  return `${a.includes(':') ? `[${a}]` : a}:${port ?? 0}`;
}

/**
 * The rewrite for answers to one request on a route with `reverse`, or undefined when the route has none.
 * `host` is the request's host (requestHost); `local` is the client socket's local end.
 */
export function answerRewrite(
  map: ReverseMap | undefined,
  proto: 'http' | 'https',
  host: string | undefined,
  local: { readonly localAddress?: string | undefined; readonly localPort?: number | undefined },
): ((headers: string[]) => void) | undefined {
  if (map === undefined) return undefined;
  const origin = publicOrigin(proto, host, socketAuthority(local.localAddress, local.localPort));
  return (headers) => reverseResponseHeaders(headers, map, origin);
}

function startsWithFolded(value: string, prefix: string, foldLength: number): boolean {
  if (value.length < prefix.length) return false;
  if (foldLength > 0 && value.slice(0, foldLength).toLowerCase() !== prefix.slice(0, foldLength).toLowerCase()) return false;
  return value.startsWith(prefix.slice(foldLength), foldLength);
}

/** The public path for `value` under one rule, or undefined when the rule does not match. */
function applyRule(value: string, rule: ReverseRule): string | undefined {
  let part = value;
  if (rule.pathOnly) {
    // A path-only rule looks at the path of an absolute URL (any host), or at a relative value as it is.
    const scheme = value.indexOf('://');
    if (scheme !== -1) {
      const slash = value.indexOf('/', scheme + 3);
      if (slash !== -1) part = value.slice(slash);
    }
  }
  if (!startsWithFolded(part, rule.prefix, rule.foldLength)) return undefined;
  const rest = part.slice(rule.prefix.length);
  switch (rule.join) {
    case 'concat':
      return rule.to + rest;
    case 'root':
      return rule.to === '/' && rest.startsWith('/') ? rest : rule.to + rest;
    case 'segment':
      if (rest === '') return rule.to;
      if (rest.startsWith('/')) return (rule.to.endsWith('/') ? rule.to.slice(0, -1) : rule.to) + rest;
      return rest.startsWith('?') || rest.startsWith('#') ? rule.to + rest : undefined;
  }
}

/** A URL-valued header mapped back to the proxy, or undefined when no rule matches it. */
export function reverseUrl(value: string, rules: readonly ReverseRule[], origin: string): string | undefined {
  for (const rule of rules) {
    const mapped = applyRule(value, rule);
    if (mapped !== undefined) return ABSOLUTE.test(mapped) ? mapped : origin + mapped;
  }
  return undefined;
}

/**
 * A Set-Cookie value with its Domain and Path attributes mapped, or undefined when nothing changed. Domain
 * is replaced when it equals a backend domain (any letter case), Path when it starts with a backend path
 * (the first in order); the whole attribute value is replaced, as Apache does. The cookie's own name=value
 * (the part before the first ";") is never an attribute.
 */
export function reverseCookie(value: string, map: Pick<ReverseMap, 'cookieDomains' | 'cookiePaths'>): string | undefined {
  const parts = value.split(';');
  let changed = false;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    const lead = part.length - part.trimStart().length;
    const attr = part.slice(lead);
    const eq = attr.indexOf('=');
    if (eq === -1) continue;
    const name = attr.slice(0, eq).toLowerCase();
    const current = attr.slice(eq + 1);
    let next: string | undefined;
    if (name === 'path') next = map.cookiePaths.find(([from]) => current.startsWith(from))?.[1];
    else if (name === 'domain') next = map.cookieDomains.find(([from]) => current.toLowerCase() === from)?.[1];
    if (next === undefined) continue;
    parts[i] = part.slice(0, lead + eq + 1) + next;
    changed = true;
  }
  return changed ? parts.join(';') : undefined;
}

/** Applies `map` to a flat [name, value, ...] response header list, in place. */
export function reverseResponseHeaders(headers: string[], map: ReverseMap, origin: string): void {
  const cookies = map.cookieDomains.length > 0 || map.cookiePaths.length > 0;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    let next: string | undefined;
    if (URL_HEADERS.has(name)) {
      if (map.rules.length > 0) next = reverseUrl(headers[i + 1]!, map.rules, origin);
    } else if (cookies && name === 'set-cookie') next = reverseCookie(headers[i + 1]!, map);
    if (next !== undefined) headers[i + 1] = next;
  }
}
