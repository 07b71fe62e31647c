// The Apache httpd config input format: read (files, Include, Define, <IfModule>) → gather (server
// contexts, balancers, classification) → map (the config object the YAML loader produces). Nothing
// downstream knows a config came from here.
//
//   site.conf ─readApache─▶ directives ─gather─▶ contexts ─mapApache─▶ { listen, defaults, routes, ... }
import { dirname, relative } from 'node:path';
import { gather } from './contexts.js';
import { mapApache, type Mapped } from './map.js';
import { readApache, type ReadOptions } from './read.js';
import { lineShape, logicalLines } from './tokenize.js';
import type { ApacheNote } from './types.js';

export { formatNote } from './types.js';
export type { ApacheNote, Origin } from './types.js';

export interface ApacheOptions extends ReadOptions {
  /** Map the diagnosed tutorial mistakes as their intended form (import-apache --fix). */
  readonly fix?: boolean;
}

export interface ApacheResult extends Mapped {
  /** Everything said about the file: errors stop start-up, warnings and ignored lines are listed. */
  readonly notes: readonly ApacheNote[];
}

export function loadApache(file: string, opts: ApacheOptions = {}): ApacheResult {
  const read = readApache(file, opts);
  const notes = [...read.notes];
  const gathered = gather(read.directives, notes);
  const mapped = mapApache(gathered, notes, { fix: opts.fix ?? false, serverRoot: opts.serverRoot ?? dirname(file) });
  // Problems of the whole config (no Listen, nothing proxied) are the main file's.
  const shown = relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file);
  // A main-server rule is mapped once per listener group it serves: say what it does once.
  const seen = new Set<string>();
  const placed = notes
    .map((n) => (n.file === '' ? { ...n, file: shown } : n))
    .filter((n) => {
      const key = `${n.file}:${n.line}:${n.level}:${n.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  placed.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return { ...mapped, notes: placed };
}

const NOT_SNIFFED = /\.(ya?ml|json)$/i;

/**
 * Whether a config file is Apache httpd syntax: `.conf`, or another extension (never .yaml/.yml/.json)
 * whose first directive reads as one (`<Section ...>` or a capitalised word followed by arguments, where
 * YAML would have a `key:`).
 */
export function isApacheConfig(file: string, text: string): boolean {
  if (/\.conf$/i.test(file)) return true;
  if (NOT_SNIFFED.test(file)) return false;
  const first = logicalLines(text)[0];
  if (first === undefined) return false;
  const shape = lineShape(first.text);
  if (shape.kind === 'open' || shape.kind === 'close') return true;
  return shape.kind === 'directive' && /^[A-Z][A-Za-z]+$/.test(shape.name) && !shape.name.endsWith(':') && shape.rest !== '' && !shape.rest.startsWith(':');
}
