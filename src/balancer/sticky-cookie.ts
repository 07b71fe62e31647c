// Cookie stickiness (Apache stickysession= + route=): the request's cookie names a member route; the
// response of a request that did not name the member it reached sets the cookie. Apache leaves setting the
// cookie to the admin (mod_headers) or the application; wspass sets it itself whenever the chosen member
// differs from the one the request named, so stickiness works without touching the application. Pure.
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

export class StickyCookie {
  readonly name: string;
  readonly #attributes: string;

  constructor(config: BalancerStickyConfig) {
    this.name = config.cookie;
    let attributes = `; Path=${config.path}; HttpOnly; SameSite=Lax`;
    if (config.secure) attributes += '; Secure';
    if (config.maxAgeS !== undefined) attributes += `; Max-Age=${config.maxAgeS}`;
    this.#attributes = attributes;
  }

  /**
   * The routes a cookie value may name, in the order to try them: the whole value, then (Apache's
   * `JSESSIONID=abc.route` convention) the part after its last dot.
   */
  static routesIn(value: string): [string] | [string, string] {
    const dot = value.lastIndexOf('.');
    return dot === -1 || dot === value.length - 1 ? [value] : [value, value.slice(dot + 1)];
  }

  /** The Set-Cookie value that sends later requests to `route`. */
  setCookie(route: string): string {
    return `${this.name}=${route}${this.#attributes}`;
  }
}
