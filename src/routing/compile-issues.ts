// Problems found while compiling a config's routes and balancers, collected with their key paths so that
// every one is reported at once (not only the first). Pure.
import { WspassError } from '../errors.js';

export interface RouteIssue {
  /** Key path in the config, e.g. ['routes', 2, 'match']. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** The routes cannot be compiled; `issues` lists every problem found, not only the first. */
export class RouteCompileError extends WspassError {
  readonly issues: readonly RouteIssue[];
  constructor(issues: readonly RouteIssue[]) {
    super('WSP_CONFIG_INVALID', 'invalid routes:\n' + issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`).join('\n'));
    this.name = 'RouteCompileError';
    this.issues = issues;
  }
}

/** `routes[2].when.header.upgrade` */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? key : `.${key}`;
  return out;
}

/** Collects problems; a key path is reported once (a shared `defaults` problem is not repeated per route). */
export class IssueList {
  readonly issues: RouteIssue[] = [];
  readonly #keys = new Set<string>();

  readonly report = (path: (string | number)[], message: string): void => {
    const key = formatPath(path);
    if (this.#keys.has(key)) return;
    this.#keys.add(key);
    this.issues.push({ path, message });
  };

  get count(): number {
    return this.issues.length;
  }

  /** Throws RouteCompileError listing every problem, when there is any. */
  throwIfAny(): void {
    if (this.issues.length !== 0) throw new RouteCompileError(this.issues);
  }
}
