// How a matched request path becomes the path sent to the backend: the ProxyPass prefix mapping, the
// ProxyPassMatch `$n` substitution (or, without `$n`, the request path appended), and the query join.
// Templates are split once at compile time so a request only concatenates strings. Pure.
import { encodePath } from './normalize-path.js';

/** Literal text and capture-group numbers, in order. */
export type Template = readonly (string | number)[];

const PLACEHOLDER = /\$([0-9])/g;

/** True when `text` holds a `$0`..`$9` placeholder. */
export function hasPlaceholder(text: string): boolean {
  return /\$[0-9]/.test(text);
}

/**
 * Splits `text` at its `$0`..`$9` placeholders. A `$` not followed by a digit is literal text. Returns a
 * message when a placeholder names a group the pattern does not have.
 */
export function compileTemplate(text: string, groupCount: number): Template | string {
  const parts: (string | number)[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const group = Number(m[1]);
    if (group > groupCount) {
      return `$${group} refers to a capture group the pattern does not have (it has ${groupCount})`;
    }
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(group);
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/**
 * Fills a template with the captures of a match. Captures come from the decoded path, so they are
 * re-encoded; a group that did not take part in the match gives ''.
 */
export function expandTemplate(template: Template, captures: RegExpExecArray): string {
  let out = '';
  for (const part of template) {
    if (typeof part === 'string') out += part;
    else {
      const value = captures[part];
      if (value !== undefined) out += encodePath(value);
    }
  }
  return out;
}

/** `?a&b` from the backend URL's query and the request's query (either may be empty); '' when both are. */
export function joinQuery(backendQuery: string | undefined, requestQuery: string): string {
  if (backendQuery === undefined || backendQuery === '') return requestQuery === '' ? '' : '?' + requestQuery;
  return requestQuery === '' ? '?' + backendQuery : `?${backendQuery}&${requestQuery}`;
}

/**
 * ProxyPass mapping: the backend path plus what follows the prefix, with exactly one `/` between them
 * (Apache concatenates blindly and warns when the trailing slashes differ; joining on one slash gives the
 * mapping the author meant: `/ws/` → `ws://b/chat` sends `/ws/room` to `/chat/room`, not `/chatroom`).
 * `rest` is the decoded remainder after the prefix without its leading `/`; null when the path equals the
 * prefix.
 */
export function prefixBackendPath(basePathTrimmed: string, basePathOrSlash: string, rest: string | null): string {
  if (rest === null) return basePathOrSlash;
  return basePathTrimmed + '/' + encodePath(rest);
}

/**
 * ProxyPassMatch without `$n`: the backend path followed by the whole request path (`ws://b/static` and
 * `/nb/x` give `/static/nb/x`). Apache concatenates blindly, so a backend path ending in `/` gives
 * `/static//nb/x`; the slash is merged here, as prefixBackendPath does, since no backend means the `//`.
 * `path` is the decoded, normalised request path (it starts with `/`).
 */
export function appendBackendPath(basePathTrimmed: string, path: string): string {
  return basePathTrimmed + encodePath(path);
}
