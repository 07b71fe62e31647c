// httpd config syntax, line level: logical lines (a `\` at the end of a line continues it on the next),
// comments (a line whose first non-blank character is `#`), `<Section args>` / `</Section>` and the words
// of a directive (ap_getword_conf: blank-separated, "double" or 'single' quotes group a word, a backslash
// inside quotes escapes the quote). Pure; every line keeps the number of its first physical line.

export interface LogicalLine {
  /** 1-based number of the first physical line. */
  readonly line: number;
  /** The text with continuations joined and leading/trailing blanks removed. */
  readonly text: string;
}

/** The non-empty, non-comment logical lines of a file's text. */
export function logicalLines(source: string): LogicalLine[] {
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const physical = text.split(/\r?\n/);
  const out: LogicalLine[] = [];
  for (let i = 0; i < physical.length; i++) {
    const first = i + 1;
    let joined = physical[i]!;
    // httpd joins a line ending in a backslash with the next one (the backslash and newline dropped).
    while (joined.trimEnd().endsWith('\\') && i + 1 < physical.length) {
      joined = joined.trimEnd().slice(0, -1) + physical[++i]!;
    }
    const trimmed = joined.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    out.push({ line: first, text: trimmed });
  }
  return out;
}

/** Splits directive arguments into words; returns a message for an unterminated quote. */
export function splitWords(text: string): string[] | string {
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    const quote = text[i];
    if (quote === '"' || quote === "'") {
      let word = '';
      i++;
      for (;;) {
        if (i >= text.length) return `unterminated ${quote} quote`;
        const c = text[i]!;
        if (c === '\\' && text[i + 1] === quote) {
          word += quote;
          i += 2;
        } else if (c === quote) {
          i++;
          break;
        } else {
          word += c;
          i++;
        }
      }
      words.push(word);
    } else {
      const start = i;
      while (i < text.length && !/\s/.test(text[i]!)) i++;
      words.push(text.slice(start, i));
    }
  }
  return words;
}

export type LineShape =
  | { readonly kind: 'open'; readonly name: string; readonly rest: string }
  | { readonly kind: 'close'; readonly name: string }
  | { readonly kind: 'directive'; readonly name: string; readonly rest: string }
  | { readonly kind: 'bad'; readonly message: string };

/** What one logical line is: a section start, a section end, or a directive. */
export function lineShape(text: string): LineShape {
  if (text.startsWith('</')) {
    const m = /^<\/([A-Za-z][\w-]*)\s*>$/.exec(text);
    return m === null ? { kind: 'bad', message: `malformed section end "${text}"` } : { kind: 'close', name: m[1]! };
  }
  if (text.startsWith('<')) {
    const m = /^<([A-Za-z][\w-]*)([\s\S]*)>$/.exec(text);
    if (m === null) return { kind: 'bad', message: `a section start needs a closing ">": "${text}"` };
    return { kind: 'open', name: m[1]!, rest: m[2]!.trim() };
  }
  const m = /^(\S+)([\s\S]*)$/.exec(text)!;
  return { kind: 'directive', name: m[1]!, rest: m[2]!.trim() };
}
