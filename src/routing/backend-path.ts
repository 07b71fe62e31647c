// How a matched request path becomes the path sent to the backend: the ProxyPass prefix mapping, the
// ProxyPassMatch `$n` substitution and mod_rewrite's `%n` (the groups of the last condition that matched;
// without either, the request path is appended), and the query join.
// Templates are split once at compile time so a request only concatenates strings. Pure.
import { encodePath } from './normalize-path.js';

/** A `%n` placeholder: group n of the last condition that matched. */
export interface ConditionGroup {
  readonly cond: number;
}

/** Literal text, capture-group numbers of the route pattern (`$n`) and condition groups (`%n`), in order. */
export type Template = readonly (string | number | ConditionGroup)[];

// `%n` is a condition group unless it reads as a percent-encoded byte (`%2F`: a second hex digit follows).
const PLACEHOLDER = /\$([0-9])|%([0-9])(?![0-9A-Fa-f])/g;
const CONDITION_PLACEHOLDER = /%[0-9](?![0-9A-Fa-f])/;

/** True when `text` holds a `$0`..`$9` or `%0`..`%9` placeholder. */
export function hasPlaceholder(text: string): boolean {
  return /\$[0-9]/.test(text) || CONDITION_PLACEHOLDER.test(text);
}

/** True when `text` holds a `%0`..`%9` placeholder (mod_rewrite's RewriteCond back-reference). */
export function hasConditionPlaceholder(text: string): boolean {
  return CONDITION_PLACEHOLDER.test(text);
}

/**
 * Splits `text` at its `$0`..`$9` and `%0`..`%9` placeholders. A `$` not followed by a digit is literal
 * text. Returns a message when a placeholder names a group the pattern (or every condition) does not have.
 */
export function compileTemplate(text: string, groupCount: number, conditionGroups = 0): Template | string {
  const parts: (string | number | ConditionGroup)[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m[2] !== undefined) {
      const cond = Number(m[2]);
      if (cond > conditionGroups) {
        return `%${cond} refers to a capture group no \`when\` condition has (the most is ${conditionGroups})`;
      }
      if (m.index > last) parts.push(text.slice(last, m.index));
      parts.push({ cond });
      last = m.index + m[0].length;
      continue;
    }
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
 * Fills a template with the captures of a match, and `%n` with those of the last condition that matched
 * (none: ''). Captures are re-encoded (the path's come decoded, a header's as sent); a group that did
 * not take part in the match gives ''.
 */
export function expandTemplate(template: Template, captures: RegExpExecArray, conditions?: RegExpExecArray | null): string {
  let out = '';
  for (const part of template) {
    if (typeof part === 'string') out += part;
    else {
      const value = typeof part === 'number' ? captures[part] : conditions?.[part.cond];
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
