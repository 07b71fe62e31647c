// Comparing a field name as received with a known lower-case name, without lower-casing (allocating) it:
// the upgrade and plain paths look for a few names (host, connection, content-length, ...) in every
// request's header list, and most names arrive capitalised, so `name.toLowerCase() === 'host'` made a new
// string for almost every field of every request, once per rule. Pure.

/**
 * Whether field name `name` is `lower` (an ASCII name in lower case), letter case ignored: the same answer
 * as `name.toLowerCase() === lower` for any name of latin1 characters (what node:http, undici and the
 * backend head parser decode names as), where only an ASCII letter lower-cases to an ASCII letter.
 */
export function isHeaderName(name: string, lower: string): boolean {
  const n = lower.length;
  if (name.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    const want = lower.charCodeAt(i);
    if (c !== want && (c < 0x41 || c > 0x5a || c + 0x20 !== want)) return false;
  }
  return true;
}
