// Address ranges in the config ("10.0.0.0/8", "::1/128", or a bare address for one host): checked when the
// config is read, and compiled into a matcher the listener and the X-Forwarded-For walk ask "is this peer
// trusted?". node:net's BlockList does the matching (IPv4-mapped IPv6 addresses match IPv4 ranges). Pure: a
// BlockList holds rules, it opens nothing.
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Why `text` is not an address range, or undefined when it is one. */
export function cidrProblem(text: string): string | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const v4 = isIPv4(address);
  if (!v4 && !isIPv6(address)) return 'must be an IPv4 or IPv6 address, optionally with "/prefix" (e.g. 10.0.0.0/8, ::1/128)';
  if (slash === -1) return undefined;
  const prefix = text.slice(slash + 1);
  const max = v4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `the prefix length must be 0 to ${max}`;
  return undefined;
}

/** True when the address is in one of the ranges. */
export type AddressMatcher = (address: string) => boolean;

export const NOTHING_TRUSTED: AddressMatcher = () => false;

/** A matcher for ranges that passed cidrProblem. */
export function compileCidrs(ranges: readonly string[]): AddressMatcher {
  if (ranges.length === 0) return NOTHING_TRUSTED;
  const list = new BlockList();
  for (const r of ranges) {
    const slash = r.indexOf('/');
    const address = slash === -1 ? r : r.slice(0, slash);
    const type = isIPv4(address) ? 'ipv4' : 'ipv6';
    const prefix = slash === -1 ? (type === 'ipv4' ? 32 : 128) : Number(r.slice(slash + 1));
    list.addSubnet(address, prefix, type);
  }
  return (address) => {
    if (isIPv4(address)) return list.check(address, 'ipv4');
    return isIPv6(address) && list.check(address, 'ipv6');
  };
}
