// A 32-bit string hash (MurmurHash3's mixing over UTF-16 code units) for consistent hashing. It depends
// only on its input and seed, never on process state (no random seed, unlike Map or V8's string hash), so
// every wspass instance with the same config maps a key to the same member. Pure.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

/** The final avalanche: every input bit affects every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of `text` with `seed`, an unsigned 32-bit integer. Two code units form one 32-bit block. */
export function hashString(text: string, seed = 0): number {
  let h = seed | 0;
  const n = text.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    h ^= mixK(text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) h ^= mixK(text.charCodeAt(i));
  return fmix32(h ^ (n * 2));
}
