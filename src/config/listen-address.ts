// Listener addresses: parses the "host:port" strings of `listen` and flattens the `listen` union
// (one string | a list of strings and { address, tls }) into one shape the server binds from.
// Pure: validates text only, never resolves names or touches sockets.
import type { Config, ListenerConfig } from './schema.js';

export interface ListenAddress {
  /** Host name or IP literal to bind, without brackets. */
  readonly host: string;
  /** 0..65535; 0 asks the kernel for a free port (tests use it). */
  readonly port: number;
}

export type ListenerTls = NonNullable<ListenerConfig['tls']>;

export interface ResolvedListener extends ListenAddress {
  /** The address as written in the config, for logs. */
  readonly address: string;
  readonly tls?: ListenerTls;
  readonly proxyProtocol?: ListenerConfig['proxyProtocol'];
}

/** What every listen-address error message ends with. */
export const LISTEN_ADDRESS_FORMS =
  'expected "host:port", "[ipv6]:port" or ":port" (all IPv4 interfaces) with a port from 0 to 65535 (0 picks a free port)';

/**
 * ":port" binds every IPv4 interface ("0.0.0.0"), which works on every host; "[::]:port" asks for every
 * IPv6 interface instead (dual-stack on Linux). The choice is explicit rather than Node's implicit
 * "::" with a silent fallback, so the same config binds the same sockets everywhere.
 */
export const ALL_INTERFACES = '0.0.0.0';

const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_NAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*\\.?$`);
const DOTTED_NUMBERS = /^[0-9.]+$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const ZONE_ID = /%[A-Za-z0-9_.-]+$/;

function fail(s: string, reason: string): never {
  throw new Error(`invalid listen address ${JSON.stringify(s)}: ${reason}; ${LISTEN_ADDRESS_FORMS}`);
}

function isIpv6(literal: string): boolean {
  // The WHATWG URL parser implements the full IPv6 grammar; a zone id ("%eth0") is not part of it.
  const bare = literal.replace(ZONE_ID, '');
  if (!bare.includes(':')) return false;
  try {
    new URL(`http://[${bare}]/`);
    return true;
  } catch {
    return false;
  }
}

function parsePort(s: string, text: string): number {
  if (text === '') fail(s, 'the port is missing');
  if (!/^\d{1,5}$/.test(text)) fail(s, `port ${JSON.stringify(text)} is not a number`);
  const port = Number(text);
  if (port > 65535) fail(s, `port ${port} is out of range`);
  return port;
}

/** Parses "host:port", "[ipv6]:port" or ":port"; throws an Error that says what is allowed. */
export function parseListenAddress(s: string): ListenAddress {
  if (s.trim() !== s || /\s/.test(s)) fail(s, 'it contains white space');
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) fail(s, 'the "[" of an IPv6 address is not closed');
    const host = s.slice(1, close);
    if (!isIpv6(host)) fail(s, `${JSON.stringify(host)} is not an IPv6 address`);
    if (s[close + 1] !== ':') fail(s, 'a ":port" must follow the "]"');
    return { host, port: parsePort(s, s.slice(close + 2)) };
  }
  const colon = s.lastIndexOf(':');
  if (colon < 0) {
    const hint = /^\d+$/.test(s) ? ` (write ":${s}" for every interface)` : '';
    fail(s, `the port is missing${hint}`);
  }
  const hostText = s.slice(0, colon);
  if (hostText.includes(':')) fail(s, 'an IPv6 address must be written in brackets, as "[::1]:8080"');
  const port = parsePort(s, s.slice(colon + 1));
  if (hostText === '') return { host: ALL_INTERFACES, port };
  if (DOTTED_NUMBERS.test(hostText) ? !IPV4.test(hostText) : !HOST_NAME.test(hostText)) {
    fail(s, `${JSON.stringify(hostText)} is not a host name or IPv4 address`);
  }
  return { host: hostText, port };
}

/** Every listener of the config as { address, host, port, tls? }, in config order. */
export function resolveListeners(config: Config): ResolvedListener[] {
  const entries = typeof config.listen === 'string' ? [config.listen] : config.listen;
  return entries.map((entry) => {
    if (typeof entry === 'string') return { address: entry, ...parseListenAddress(entry) };
    const parsed = { address: entry.address, ...parseListenAddress(entry.address) };
    return {
      ...parsed,
      ...(entry.tls !== undefined && { tls: entry.tls }),
      ...(entry.proxyProtocol !== undefined && { proxyProtocol: entry.proxyProtocol }),
    };
  });
}

/** Key path of the address text of listener `i`, as the config file spells it. */
export function listenAddressPath(config: Config, i: number): (string | number)[] {
  if (typeof config.listen === 'string') return ['listen'];
  return typeof config.listen[i] === 'string' ? ['listen', i] : ['listen', i, 'address'];
}
