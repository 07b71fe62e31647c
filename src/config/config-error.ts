// The error a bad config file raises: every problem found, each with its key path, its position in
// the file when known, and a message that says what is allowed. Its message is the whole list, one
// line per issue, ready to print:  wspass.yaml:12:7: routes[2].backend: must be a ws://, ... URL
import { WspassError } from '../errors.js';

export interface ConfigIssue {
  /** Key path in the config, e.g. ['routes', 2, 'match']; [] for the document itself. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** 1-based position of the offending key or value in the file. */
  readonly line?: number;
  readonly column?: number;
  /** The file the position is in, when not the config file itself (an included Apache file). */
  readonly file?: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** "routes[2].when.header.upgrade"; keys that are not identifiers are quoted: sni["a.example"]. */
export function formatKeyPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

function formatIssue(file: string, issue: ConfigIssue): string {
  let where = issue.file ?? file;
  if (issue.line !== undefined) {
    where += `:${issue.line}`;
    if (issue.column !== undefined) where += `:${issue.column}`;
  }
  const keyPath = formatKeyPath(issue.path);
  return keyPath === '' ? `${where}: ${issue.message}` : `${where}: ${keyPath}: ${issue.message}`;
}

/** One line per issue: "file:line:col: key.path: message". */
export function formatIssues(file: string, issues: readonly ConfigIssue[]): string {
  return issues.map((issue) => formatIssue(file, issue)).join('\n');
}

export class ConfigError extends WspassError {
  readonly file: string;
  readonly issues: readonly ConfigIssue[];
  constructor(file: string, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super('WSP_CONFIG_INVALID', formatIssues(file, issues), options);
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}
