// Loads a config file: YAML or JSON text → schema validation (defaults applied) → listener address
// checks → caller's extra checks (route compilation) → one deeply frozen Config. Every problem found is
// collected, placed at its line and column, and thrown together as one ConfigError.
//
//   text ─parseDocument─▶ YAML document (positions) ─toJS─▶ data ─configSchema─▶ Config ─checks─▶ frozen
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { formatNote, isApacheConfig, loadApache, type ApacheOptions, type Origin } from './apache/index.js';
import { ConfigError, formatIssues } from './config-error.js';
import type { ConfigIssue } from './config-error.js';
import { parseListenAddress } from './listen-address.js';
import { applyListenMap, type ListenMap } from './listen-map.js';
import { configSchema } from './schema.js';
import type { Config } from './schema.js';
import { describeZodIssues } from './validation-messages.js';
import { locate } from './yaml-positions.js';

export { ConfigError, formatIssues };
export type { ConfigIssue };

export interface LoadOptions {
  /** Further checks on the validated config; issues carry key paths like ['routes', 2, 'match']. */
  extraChecks?: (config: Config) => readonly ConfigIssue[];
  /**
   * The same checks on the parsed document when the schema rejects it, as far as they can go on data of
   * unknown shape: so a file with a schema error and a bad backend URL shows both at once.
   */
  rawChecks?: (data: unknown) => readonly ConfigIssue[];
  /** Listeners bound elsewhere (`--listen-map`), applied before validation. */
  listenMap?: ListenMap;
  /** Apache httpd configs: ServerRoot, defines, environment. */
  apache?: ApacheOptions;
  /** Receives what the Apache reader says about lines it ignored or diagnosed (one line each). */
  onNotice?: (line: string) => void;
}

type Located = ConfigIssue & { at?: 'key' | 'value' };

const EMPTY_FILE =
  'the file is empty; a config needs at least "listen" and "routes" (see examples/basic.yaml)';

// Where the parser's own text names its API or leaves out the key, say the rule in config terms.
function yamlMessage(code: string, message: string, text: string): string {
  if (code === 'MULTIPLE_DOCS') return 'the file holds more than one YAML document (a second "---"); a config is one document';
  if (code === 'DUPLICATE_KEY') return `the key ${JSON.stringify(text)} appears twice in the same mapping; each key may appear once`;
  return `invalid YAML: ${message}`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function isJsonFile(file: string): boolean {
  return file.toLowerCase().endsWith('.json');
}

/** V8's JSON.parse message without its " in JSON at position N (line L column C)" tail, and that offset. */
function jsonSyntaxIssue(err: unknown, lineCounter: LineCounter): ConfigIssue {
  const raw = err instanceof Error ? err.message : String(err);
  const m = / in JSON at position (\d+)(?: \(line \d+ column \d+\))?$/.exec(raw);
  const message = `invalid JSON: ${m === null ? raw : raw.slice(0, m.index)}`;
  if (m === null) return { path: [], message };
  const { line, col } = lineCounter.linePos(Number(m[1]));
  return { path: [], message, line, column: col };
}

/** The key starting at `offset` (a duplicate-key error marks only its first character). */
function keyTextAt(source: string, offset: number): string {
  const m = /^(?:"([^"\n]*)"|'([^'\n]*)'|([^:\n]*))/.exec(source.slice(offset));
  return (m?.[1] ?? m?.[2] ?? m?.[3] ?? '').trim();
}

function syntaxIssues(doc: Document, lineCounter: LineCounter, json: boolean, source: string): ConfigIssue[] {
  // In a .json file JSON.parse has judged the syntax already; YAML only adds what JSON allows but
  // silently resolves (a repeated key, where the last one would win).
  const errors = json ? doc.errors.filter((e) => e.code === 'DUPLICATE_KEY') : doc.errors;
  return errors.map((e) => {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    return { path: [], message: yamlMessage(e.code, e.message, keyTextAt(source, e.pos[0])), line, column: col };
  });
}

/** Address checks on `listen` as written: it may come from a document the schema rejected elsewhere. */
function listenerIssues(listen: unknown): Located[] {
  const issues: Located[] = [];
  const entries: unknown[] = typeof listen === 'string' ? [listen] : Array.isArray(listen) ? listen : [];
  const seen = new Map<string, number>();
  entries.forEach((entry, i) => {
    const inline = typeof entry === 'string';
    const address = inline ? entry : (entry as { address?: unknown } | null)?.address;
    if (typeof address !== 'string') return;
    const path = typeof listen === 'string' ? ['listen'] : inline ? ['listen', i] : ['listen', i, 'address'];
    try {
      const { host, port } = parseListenAddress(address);
      const key = `${host.toLowerCase()}|${port}`;
      const first = seen.get(key);
      if (port !== 0 && first !== undefined) {
        issues.push({ path, message: `the same address as listen[${first}] (${JSON.stringify(address)}); each listener needs its own address` });
      } else {
        seen.set(key, i);
      }
    } catch (err) {
      issues.push({ path, message: err instanceof Error ? err.message : String(err) });
    }
  });
  return issues;
}

/** The checks beyond the schema find their problems too when the schema has some elsewhere. */
function besideSchemaIssues(schemaIssues: readonly Located[], data: unknown, opts: LoadOptions): Located[] {
  const taken = new Set(schemaIssues.map((i) => JSON.stringify(i.path)));
  const listen = (data as { listen?: unknown } | null)?.listen;
  const more = [...listenerIssues(listen), ...(opts.rawChecks?.(data) ?? [])];
  // One problem per key: where the schema already objects to a value, its message is the one shown.
  return more.filter((issue) => !taken.has(JSON.stringify(issue.path)));
}

function place(issues: Located[], doc: Document, lineCounter: LineCounter): ConfigIssue[] {
  const placed = issues.map(({ at, ...issue }) => {
    if (issue.line !== undefined) return issue;
    const pos = locate(doc, lineCounter, issue.path, at);
    return pos === undefined ? issue : { ...issue, line: pos.line, column: pos.column };
  });
  // Document order reads best; issues without a position (the whole file) come first.
  return placed
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => (a.issue.line ?? 0) - (b.issue.line ?? 0) || (a.issue.column ?? 0) - (b.issue.column ?? 0) || a.i - b.i)
    .map(({ issue }) => issue);
}

/** Parses and validates config text; `file` names it in messages and picks JSON mode for ".json". */
export function loadConfigText(text: string, file: string, opts: LoadOptions = {}): Config {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const json = isJsonFile(file);
  const lineCounter = new LineCounter();
  // `merge` lets routes share settings through "<<: *anchor", as many YAML configs do.
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });

  let data: unknown;
  if (json) {
    if (source.trim() === '') throw new ConfigError(file, [{ path: [], message: EMPTY_FILE }]);
    try {
      data = JSON.parse(source);
    } catch (err) {
      throw new ConfigError(file, [jsonSyntaxIssue(err, lineCounter)], { cause: err });
    }
  }
  const syntax = syntaxIssues(doc, lineCounter, json, source);
  if (syntax.length > 0) throw new ConfigError(file, syntax);
  if (doc.contents === null) throw new ConfigError(file, [{ path: [], message: EMPTY_FILE }]);
  if (!json) {
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // Unresolved aliases and alias bombs ("billion laughs") end here.
      const message = err instanceof Error ? err.message : String(err);
      throw new ConfigError(file, place([{ path: [], message }], doc, lineCounter), { cause: err });
    }
  }

  return validateData(applyListenMap(data, opts.listenMap), file, opts, (issues) => place(issues, doc, lineCounter));
}

/** Schema, listener and extra checks on parsed data; `place` gives each issue its position. */
function validateData(data: unknown, file: string, opts: LoadOptions, placeIssues: (issues: Located[]) => ConfigIssue[]): Config {
  const parsed = configSchema.safeParse(data);
  if (!parsed.success) {
    const issues: Located[] = describeZodIssues(parsed.error.issues, configSchema, data);
    throw new ConfigError(file, placeIssues([...issues, ...besideSchemaIssues(issues, data, opts)]));
  }
  // Frozen before the extra checks run, so no check can change what the caller gets.
  const config = deepFreeze(parsed.data);
  const issues: Located[] = [...listenerIssues(config.listen), ...(opts.extraChecks?.(config) ?? [])];
  if (issues.length > 0) throw new ConfigError(file, placeIssues(issues));
  return config;
}

/** An Apache httpd config: read and mapped (apache/), then validated like a YAML one. */
function loadApacheText(file: string, opts: LoadOptions): Config {
  const result = loadApache(file, opts.apache);
  const errors = result.notes.filter((n) => n.level === 'error');
  for (const n of result.notes) if (n.level !== 'error') opts.onNotice?.(formatNote(n));
  if (errors.length > 0) {
    throw new ConfigError(
      file,
      errors.map((n) => ({ path: [], message: `${n.message}${n.directive === '' ? '' : `  [${n.directive}]`}`, ...(n.line > 0 && { line: n.line, file: n.file }) })),
    );
  }
  // A problem in the mapped config is placed at the Apache line the offending part came from.
  const originOf = (path: readonly (string | number)[]): Origin | undefined => {
    const key = path[0] === 'routes' || path[0] === 'balancers' ? `${path[0]}.${String(path[1])}` : String(path[0]);
    return result.origins.get(key)?.[0];
  };
  return validateData(applyListenMap(result.data, opts.listenMap), file, opts, (issues) =>
    issues.map(({ at: _at, ...issue }) => {
      const o = originOf(issue.path);
      return o === undefined ? issue : { ...issue, file: o.file, line: o.line };
    }),
  );
}

function readError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'cannot read the config file: it does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot read the config file: permission denied';
  if (code === 'EISDIR') return 'cannot read the config file: it is a directory';
  return `cannot read the config file: ${err instanceof Error ? err.message : String(err)}`;
}

/** Reads and loads a config file; a file that cannot be read is a ConfigError naming it. */
export function loadConfigFile(file: string, opts: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: [], message: readError(err) }], { cause: err });
  }
  if (isApacheConfig(file, text)) return loadApacheText(file, opts);
  return loadConfigText(text, file, opts);
}
