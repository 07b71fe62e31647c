// The address a native backend leg dials for a backend given by name: the one net.connect would dial,
// or none, which keeps net.connect for that attempt.
//
// net.connect (Node 22, autoSelectFamily on by default) looks a name up with dns.lookup, `all: true` and
// AI_ADDRCONFIG, keeps each IPv4/IPv6 address once, and dials the only one directly; with several it
// tries them in turn, alternating families, 250 ms per attempt ("happy eyeballs"). The leg takes the
// first case, which is what a backend name usually resolves to (a container's service name, a host in
// /etc/hosts); a name with several addresses, or one that fails to resolve, goes to net.connect, which
// resolves it again and behaves (and fails) exactly as before. The lookup counts against the connect
// timeout, as it does inside net.connect.
import dns from 'node:dns';
import { isIP } from 'node:net';

/** Where to dial: one address, net.connect's turn, or the connect timeout spent on the lookup. */
export type LegAddress = { readonly kind: 'address'; readonly address: string } | { readonly kind: 'net' | 'timeout' };

const NET: LegAddress = { kind: 'net' };
const TIMEOUT: LegAddress = { kind: 'timeout' };

/** The single address of the name `hostname`, as net.connect would pick it; `timeoutMs` 0: no timer. */
export function legAddress(hostname: string, timeoutMs: number): Promise<LegAddress> {
  return new Promise<LegAddress>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        resolve(TIMEOUT);
      }, timeoutMs);
    }
    dns.lookup(hostname, { all: true, hints: dns.ADDRCONFIG }, (err, addresses) => {
      if (timeoutMs > 0 && timer === undefined) return; // timed out already
      if (timer !== undefined) clearTimeout(timer);
      const address = err ? undefined : single(addresses);
      resolve(address === undefined ? NET : { kind: 'address', address });
    });
  });
}

/** The one distinct IPv4/IPv6 address among `addresses`, or undefined (none, or several to try in turn). */
function single(addresses: readonly dns.LookupAddress[]): string | undefined {
  let only: string | undefined;
  for (const { address, family } of addresses) {
    if ((family !== 4 && family !== 6) || isIP(address) === 0 || address === only) continue;
    if (only !== undefined) return undefined;
    only = address;
  }
  return only;
}
