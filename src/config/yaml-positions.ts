// Maps a config key path (['routes', 2, 'match']) to a line and column in the YAML/JSON source, so
// every validation message can point into the file. Where the path leaves the document (a missing
// key), it points at the nearest enclosing node that exists.
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';

export interface SourcePosition {
  line: number;
  column: number;
}

function startOf(node: unknown): number | undefined {
  if (node === null || typeof node !== 'object' || !('range' in node)) return undefined;
  const range = (node as Node).range;
  return range === null || range === undefined ? undefined : range[0];
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null;
}

/**
 * Position of the value at `path` (or of its key when `at` is 'key', or when the value is empty, as in
 * "defaults:" with nothing after it). Undefined only for a document with no content at all.
 */
export function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly (string | number)[],
  at: 'key' | 'value' = 'value',
): SourcePosition | undefined {
  let node: unknown = doc.contents;
  let offset = startOf(node);
  for (let i = 0; i < path.length; i++) {
    // A path through an alias points at the alias: the anchored value may be fine where it is defined.
    if (isAlias(node)) break;
    const key = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (pair === undefined) break;
      const keyOffset = startOf(pair.key);
      if ((last && at === 'key') || pair.value === null || isEmptyScalar(pair.value)) {
        offset = keyOffset ?? offset;
        break;
      }
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (item === undefined) break;
      node = item;
    } else {
      break;
    }
    offset = startOf(node) ?? offset;
  }
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
