// `wspass import-apache`: the mapped config as wspass YAML, each block preceded by the Apache lines it
// came from, and (with --fix) one comment per correction. Ignored and diagnosed lines are listed at the
// top so the file says everything the Apache one did. Its output passes `wspass validate`.
import { Document, isMap, isSeq, type Node } from 'yaml';
import type { ApacheResult } from './index.js';
import { formatNote, type Origin } from './types.js';

const from = (o: Origin): string => ` ${o.file}:${o.line} ${o.directive}`;

function comment(node: unknown, lines: readonly string[]): void {
  if (lines.length === 0 || node === null || typeof node !== 'object') return;
  const n = node as Node;
  n.commentBefore = [n.commentBefore, ...lines].filter((l) => l !== undefined && l !== null).join('\n');
}

export function apacheToYaml(source: string, result: ApacheResult): string {
  const doc = new Document(result.data);
  const top = doc.contents;
  const header = [` wspass config imported from ${source} (wspass import-apache)`];
  const notes = result.notes.filter((n) => n.level !== 'error');
  if (notes.length > 0) header.push('', ' What the Apache file says that this file does not:', ...notes.map((n) => ` ${formatNote(n)}`));
  doc.commentBefore = header.join('\n');
  if (!isMap(top)) return doc.toString();
  for (const pair of top.items) {
    const key = String((pair.key as { value?: unknown }).value ?? pair.key);
    if (key === 'routes' && isSeq(pair.value)) {
      pair.value.items.forEach((item, i) => {
        comment(item, [...(result.corrections.get(`routes.${i}`) ?? []).map((c) => ` ${c}`), ...(result.origins.get(`routes.${i}`) ?? []).map(from)]);
      });
    } else if (key === 'balancers' && isMap(pair.value)) {
      for (const b of pair.value.items) {
        const name = String((b.key as { value?: unknown }).value ?? b.key);
        comment(b.key, (result.origins.get(`balancers.${name}`) ?? []).map(from));
      }
    } else {
      const lines = (result.origins.get(key) ?? []).map(from);
      if (key === 'defaults') lines.unshift(' timeouts: httpd Timeout (60 s unless set) and ProxyTimeout; idle = the larger of the two');
      if (key === 'forwardedFor') {
        lines.unshift(
          ' X-Forwarded-For is appended to what the client sent, as httpd does (mode: append); wspass\'s own default',
          ' (mode: replace) sends only what forwardedFor.trustedHops vouch for, so a client cannot plant addresses',
        );
      }
      if (key === 'maxHeaderBytes') lines.unshift(' httpd has no limit on the whole head: LimitRequestLine + LimitRequestFields × LimitRequestFieldSize');
      comment(pair.key, lines);
    }
  }
  return doc.toString({ lineWidth: 0 });
}
