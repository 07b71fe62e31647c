// Shapes shared by the Apache config reader, mapper and YAML writer. Pure.

/** Where something came from: a file, a line, and the line as written. */
export interface Origin {
  readonly file: string;
  readonly line: number;
  /** The directive as written (after `${VAR}` expansion). */
  readonly directive: string;
}

/** One directive, or a section with its children, in file order. */
export interface Directive extends Origin {
  readonly name: string;
  readonly args: readonly string[];
  /** Set for `<Section>` blocks. */
  readonly children?: Directive[];
}

/**
 * error: httpd would behave in a way wspass cannot reproduce (start-up stops);
 * warning: a likely mistake, or a difference, diagnosed (start-up goes on);
 * ignored: no effect on proxying, listed so nothing is dropped silently.
 */
export type NoteLevel = 'error' | 'warning' | 'ignored';

export interface ApacheNote extends Origin {
  readonly level: NoteLevel;
  readonly message: string;
}

export function formatNote(n: ApacheNote): string {
  const where = n.line > 0 ? `${n.file}:${n.line}` : n.file;
  return `${where}: ${n.level}: ${n.message}${n.directive !== '' ? `  [${n.directive}]` : ''}`;
}
