// Who the client is when proxies stand in front, and what X-Forwarded-For says on. Pure.
//
// X-Forwarded-For is believed only from trusted hops (the `proxy-addr` rule Express uses): start at the
// connection's peer; while the address at hand is a trusted hop, step one entry left in the header. The first
// untrusted address is the client; when every one is trusted, the leftmost is. An entry that is not an IP
// address ends the walk at the hop that passed it on: garbage is never taken for a client address.
import { isIP } from 'node:net';
import type { AddressMatcher } from '../config/cidr.js';

export interface ForwardedWalk {
  /** The client's address. */
  readonly client: string;
  /** The header's entries from the client rightwards: those that trusted hops vouch for. */
  readonly vouched: readonly string[];
}

/** Splits an X-Forwarded-For value (several lines joined with ", ") into trimmed, non-empty entries. */
export function forwardedEntries(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = part.trim();
    if (t !== '') out.push(t);
  }
  return out;
}

export function walkForwardedFor(peer: string, header: string | undefined, trusted: AddressMatcher): ForwardedWalk {
  if (header === undefined || !trusted(peer)) return { client: peer, vouched: [] };
  const entries = forwardedEntries(header);
  let client = peer;
  let from = entries.length;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    if (isIP(entry) === 0) break;
    client = entry;
    from = i;
    if (!trusted(entry)) break;
  }
  return { client, vouched: entries.slice(from) };
}
