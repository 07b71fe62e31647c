// Reads an httpd config the way httpd's config reader does, in order: `${VAR}` expanded from Define'd
// variables, then the environment (an undefined one is kept as written and warned about, as httpd's
// AH00111); `Define`/`UnDefine`; `Include`/`IncludeOptional` with globs relative to ServerRoot;
// `<IfModule>` (true for modules loaded so far with LoadModule or built in), `<IfDefine>`. What comes out
// is a tree of directives and sections, each with its file and line; conditional sections are dissolved.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { lineShape, logicalLines, splitWords } from './tokenize.js';
import type { ApacheNote, Directive } from './types.js';

export interface ReadOptions {
  /** ServerRoot when the config sets none (default: the main file's folder). */
  readonly serverRoot?: string;
  /** Variables for `${VAR}` after the Define'd ones (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Names passed as `-D NAME` to httpd. */
  readonly defines?: readonly string[];
}

export interface ReadResult {
  readonly directives: Directive[];
  readonly notes: ApacheNote[];
  /** Modules httpd would have loaded (LoadModule, and the built-in ones), by module id. */
  readonly modules: ReadonlySet<string>;
}

/** Compiled into Debian's and the upstream default httpd binary: `<IfModule>` is true for these. */
const BUILT_IN = ['core', 'so', 'http', 'log_config', 'logio', 'version', 'unixd', 'watchdog', 'mpm_event'];

const MAX_DEPTH = 128; // httpd's own limit on nested Includes
const CONDITIONALS = new Set(['ifmodule', 'ifdefine']);

/** `mod_proxy.c` and `proxy_module` name the same module. */
function moduleKey(name: string): string {
  const n = name.toLowerCase();
  if (n.endsWith('.c')) return n.replace(/^mod_/, '').slice(0, -2);
  return n.replace(/_module$/, '');
}

const hasWildcard = (s: string): boolean => /[*?[]/.test(s);

function wildcardRegex(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export function readApache(mainFile: string, opts: ReadOptions = {}): ReadResult {
  const notes: ApacheNote[] = [];
  const defines = new Map<string, string | undefined>((opts.defines ?? []).map((d) => [d, undefined]));
  const env = opts.env ?? process.env;
  const modules = new Set(BUILT_IN);
  let serverRoot = opts.serverRoot ?? dirname(mainFile);
  const display = (file: string): string => {
    const rel = relative(process.cwd(), file);
    return rel.startsWith('..') ? file : rel;
  };

  const expand = (text: string, file: string, line: number): string =>
    text.replace(/\$\{([A-Za-z0-9_.:-]+)\}/g, (whole, name: string) => {
      if (defines.has(name)) return defines.get(name) ?? '';
      const value = env[name];
      if (value !== undefined) return value;
      notes.push({
        file,
        line,
        level: 'warning',
        directive: text,
        message: `AH00111: Config variable \${${name}} is not defined (httpd keeps the text "${whole}" as written)`,
      });
      return whole;
    });

  const resolveFrom = (path: string): string => (isAbsolute(path) ? path : join(serverRoot, path));

  const includeFiles = (pattern: string, optional: boolean, at: Directive): string[] => {
    const path = resolveFrom(pattern);
    const dir = dirname(path);
    if (hasWildcard(dir)) {
      notes.push({ ...at, level: 'error', message: 'a wildcard in a folder of an Include path is not supported; name the folder' });
      return [];
    }
    let files: string[];
    try {
      if (hasWildcard(basename(path))) {
        const re = wildcardRegex(basename(path));
        files = readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f));
        files = files.filter((f) => statSync(f).isFile());
      } else if (statSync(path).isDirectory()) {
        files = readdirSync(path).sort().map((f) => join(path, f)).filter((f) => statSync(f).isFile());
      } else {
        files = [path];
      }
    } catch {
      files = [];
    }
    if (files.length === 0 && !optional) {
      const what = hasWildcard(basename(path)) ? 'no file matches' : 'no such file';
      notes.push({ ...at, level: 'error', message: `${what}: ${path} (relative paths start at ServerRoot ${serverRoot}); use IncludeOptional where none is fine` });
    }
    return files;
  };

  const readFile = (file: string, into: Directive[], depth: number, from?: Directive): void => {
    if (depth > MAX_DEPTH) {
      notes.push({ ...(from ?? { file, line: 0, directive: '' }), level: 'error', message: `Includes nested deeper than ${MAX_DEPTH} (a file includes itself?)` });
      return;
    }
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (err) {
      const where = from ?? { file: display(file), line: 0, directive: '' };
      notes.push({ ...where, level: 'error', message: `cannot read ${file}: ${(err as Error).message}` });
      return;
    }
    const name = display(file);
    // Open sections of this file, innermost last; `skip` counts the false conditionals we are inside.
    const stack: { dir: Directive | undefined; name: string; children: Directive[]; active: boolean }[] = [];
    let children = into;
    let active = true;

    for (const { line, text: raw } of logicalLines(source)) {
      const text = active ? expand(raw, name, line) : raw;
      const shape = lineShape(text);
      const at = { file: name, line, directive: text };
      if (shape.kind === 'bad') {
        if (active) notes.push({ ...at, level: 'error', message: shape.message });
        continue;
      }
      if (shape.kind === 'close') {
        const open = stack.pop();
        if (open === undefined || open.name.toLowerCase() !== shape.name.toLowerCase()) {
          notes.push({ ...at, level: 'error', message: open === undefined ? `</${shape.name}> without a matching <${shape.name}>` : `</${shape.name}> closes <${open.name}>` });
          if (open !== undefined) stack.push(open);
          continue;
        }
        children = open.children;
        active = open.active;
        continue;
      }
      const words = splitWords(shape.rest);
      if (typeof words === 'string') {
        if (active) notes.push({ ...at, level: 'error', message: words });
        continue;
      }
      if (shape.kind === 'open') {
        const lower = shape.name.toLowerCase();
        stack.push({ dir: undefined, name: shape.name, children, active });
        if (CONDITIONALS.has(lower)) {
          // A conditional section's contents belong to the enclosing scope.
          if (active) active = conditionHolds(lower, words[0] ?? '');
          continue;
        }
        const section: Directive = { ...at, name: shape.name, args: words, children: [] };
        if (active) children.push(section);
        stack[stack.length - 1]!.dir = section;
        children = section.children!;
        continue;
      }
      if (!active) continue;
      const d: Directive = { ...at, name: shape.name, args: words };
      const lower = shape.name.toLowerCase();
      if (lower === 'define') {
        if (words[0] !== undefined) defines.set(words[0], words[1]);
        continue;
      }
      if (lower === 'undefine') {
        if (words[0] !== undefined) defines.delete(words[0]);
        continue;
      }
      if (lower === 'serverroot' && words[0] !== undefined) {
        serverRoot = isAbsolute(words[0]) ? words[0] : join(dirname(file), words[0]);
        continue;
      }
      if (lower === 'include' || lower === 'includeoptional') {
        for (const f of includeFiles(words[0] ?? '', lower === 'includeoptional', d)) readFile(f, children, depth + 1, d);
        continue;
      }
      if (lower === 'loadmodule' && words[0] !== undefined) modules.add(moduleKey(words[0]));
      children.push(d);
    }
    for (const open of stack.reverse()) {
      notes.push({ file: name, line: open.dir?.line ?? 0, directive: `<${open.name}>`, level: 'error', message: `<${open.name}> is never closed (missing </${open.name}>)` });
    }
  };

  function conditionHolds(kind: string, arg: string): boolean {
    const negate = arg.startsWith('!');
    const name = negate ? arg.slice(1) : arg;
    const holds = kind === 'ifmodule' ? modules.has(moduleKey(name)) : defines.has(name);
    return holds !== negate;
  }

  const directives: Directive[] = [];
  readFile(mainFile, directives, 0);
  return { directives, notes, modules };
}
