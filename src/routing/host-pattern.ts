// Host restrictions of routes: `example.com` (exact) or `*.example.com` (one or more labels before
// `.example.com`), compared case-insensitively with the request's host name (port stripped). Pure.

/** Tests a normalised host name (see hostName). */
export type HostMatcher = (name: string) => boolean;

/**
 * The host name of a Host header value or an authority: port and IPv6 brackets stripped, lower-cased,
 * one trailing dot (the fully-qualified form) removed.
 */
export function hostName(host: string): string {
  let name: string;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']');
    name = close === -1 ? host : host.slice(1, close);
  } else {
    const colon = host.indexOf(':');
    name = colon === -1 ? host : host.slice(0, colon);
  }
  name = name.toLowerCase();
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

const NAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/; // DNS-like labels
const IPV6 = /^[0-9a-f:.]+$/;

/** Compiles a route's `host` value; returns a message when it is not a usable pattern. */
export function compileHostPattern(pattern: string): HostMatcher | string {
  let p = pattern.toLowerCase();
  if (p.endsWith('.')) p = p.slice(0, -1);
  if (p.startsWith('[') && p.endsWith(']')) {
    const v6 = p.slice(1, -1);
    if (!IPV6.test(v6)) return `"${pattern}" is not an IPv6 literal`;
    return (name) => name === v6;
  }
  if ((p.match(/:/g)?.length ?? 0) >= 2 && IPV6.test(p)) return (name) => name === p;
  if (p.includes(':')) return `"${pattern}" must be a host name without a port`;
  if (p.startsWith('*.')) {
    const suffix = p.slice(1); // ".example.com"
    if (!NAME.test(suffix.slice(1))) return `"${pattern}" is not a host name pattern (only a leading "*." wildcard is allowed)`;
    // One or more labels before the suffix: "a.example.com" and "a.b.example.com", not "example.com".
    return (name) => name.length > suffix.length && name.endsWith(suffix) && name.charCodeAt(0) !== 0x2e;
  }
  if (!NAME.test(p)) return `"${pattern}" is not a host name (only a leading "*." wildcard is allowed)`;
  return (name) => name === p;
}
