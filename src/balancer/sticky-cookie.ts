// Stickiness (Apache stickysession= + route=): a URL parameter, else a cookie, names a member route in
// the part of its value after the first "." (`<session>.<route>`); the response of a request that did not
// name the member it reached sets the cookie, in the form of Apache's recipe (`NAME=.<route>`). Apache
// leaves setting the cookie to the admin (mod_headers) or the application; wspass sets it itself whenever
// the chosen member differs from the one the request named, so stickiness works without touching the
// application. Pure.
import type { BalancerStickyConfig } from '../config/schema.js';

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4 syntax), unquoted; undefined when absent. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let from = 0;
  while (from < header.length) {
    let end = header.indexOf(';', from);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', from);
    if (eq !== -1 && eq < end && header.slice(from, eq).trim() === name) {
      const raw = header.slice(eq + 1, end).trim();
      return raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
    }
    from = end + 1;
  }
  return undefined;
}

/**
 * The value of URL parameter `name` in a request target, as mod_proxy_balancer finds it: the first
 * `name=` anywhere in the target (a query parameter, or a `;name=` path parameter) with a non-empty
 * value, which runs to the next `?` or `&`; undefined when there is none.
 */
export function urlParamValue(target: string, name: string): string | undefined {
  const key = `${name}=`;
  for (let at = target.indexOf(key); at !== -1; at = target.indexOf(key, at + 1)) {
    const from = at + key.length;
    let end = from;
    while (end < target.length && target[end] !== '?' && target[end] !== '&') end++;
    if (end > from) return target.slice(from, end);
  }
  return undefined;
}

export class StickyCookie {
  readonly name: string;
  /** The URL parameter read before the cookie. */
  readonly param: string;
  /** A named member that is not usable means no member (Apache nofailover=On). */
  readonly noFailover: boolean;
  readonly #attributes: string;

  constructor(config: Omit<BalancerStickyConfig, 'noFailover'> & { readonly noFailover?: boolean }) {
    this.name = config.cookie;
    this.param = config.param ?? config.cookie;
    this.noFailover = config.noFailover ?? false;
    let attributes = `; Path=${config.path}; HttpOnly; SameSite=Lax`;
    if (config.secure) attributes += '; Secure';
    if (config.maxAgeS !== undefined) attributes += `; Max-Age=${config.maxAgeS}`;
    this.#attributes = attributes;
  }

  /** The route a sticky value names: what follows its first "." (none without one, as in Apache). */
  static routeIn(value: string): string | undefined {
    const dot = value.indexOf('.');
    return dot === -1 || dot === value.length - 1 ? undefined : value.slice(dot + 1);
  }

  /** The sticky value of a request: its URL parameter, else its cookie (Apache looks in that order). */
  valueOf(target: string, cookie: (name: string) => string | undefined): string | undefined {
    return urlParamValue(target, this.param) ?? cookie(this.name);
  }

  /** The Set-Cookie value that sends later requests to `route` (Apache's recipe: `NAME=.route`). */
  setCookie(route: string): string {
    return `${this.name}=.${route}${this.#attributes}`;
  }
}
