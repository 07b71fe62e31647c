// IP addresses as the bytes the PROXY protocol v2 carries, and back to the text node:net reports (so an
// address from a PROXY header compares equal to a socket's remoteAddress). Pure.
import { isIPv4, isIPv6 } from 'node:net';

/** `a.b.c.d` → 4 bytes. The caller has checked isIPv4. */
function v4Bytes(text: string): number[] {
  return text.split('.').map((p) => Number(p));
}

/** IPv6 text (with `::`, an embedded IPv4 tail or a `%zone`) → 16 bytes; undefined when it is not one. */
export function ipv6Bytes(text: string): Uint8Array | undefined {
  const bare = text.split('%')[0]!;
  if (!isIPv6(bare)) return undefined;
  const halves = bare.split('::');
  const words = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a, b, c, d] = v4Bytes(piece) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(piece, 16));
    }
    return out;
  };
  const head = words(halves[0]!);
  const tail = halves.length > 1 ? words(halves[1]!) : [];
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

/** 4 bytes of `text` (IPv4 dotted quad), or undefined. */
export function ipv4Bytes(text: string): Uint8Array | undefined {
  return isIPv4(text) ? Uint8Array.from(v4Bytes(text)) : undefined;
}

/** An IPv4 address written as the IPv4-mapped IPv6 address `::ffff:a.b.c.d`, as 16 bytes. */
export function mappedV6Bytes(v4: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.set(v4, 12);
  return bytes;
}

export function formatIpv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text (what node:net reports): lower-case hex, the longest run of zero words as `::`. */
export function formatIpv6(b: Uint8Array, at: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[at + i * 2]! << 8) | b[at + i * 2 + 1]!);
  if (w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff) return `::ffff:${formatIpv4(b, at + 12)}`;
  let bestAt = -1;
  let bestLen = 1; // a single zero word is not compressed
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestAt === -1) return hex(w);
  return `${hex(w.slice(0, bestAt))}::${hex(w.slice(bestAt + bestLen))}`;
}
