// bench/gate-accept.json: regressions a review accepted (a deliberate cost increase, a trade-off), each
// with the ratio it may reach and why. An entry names the base commit it was measured against, so it
// stops applying once the baseline moves past the change (re-recording the base makes it moot).

export interface AcceptEntry {
  figure: string;
  /** The head ÷ base ratio accepted for this figure (the gate fails only above it). */
  ratio: number;
  reason: string;
  /** The base commit this acceptance is measured against (full or abbreviated hash). */
  baseCommit: string;
}

export interface AcceptFile {
  format: 'wspass-gate-accept/1';
  accepted: AcceptEntry[];
}

/** JSON.parse with the error said as "not JSON: …" (the gate's own files). */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
}

/** Validates the file's JSON text; throws an Error naming the first problem. */
export function parseAcceptFile(text: string, knownFigures: readonly string[]): AcceptFile {
  const o = parseJsonText(text) as Partial<AcceptFile> | null;
  if (!o || o.format !== 'wspass-gate-accept/1' || !Array.isArray(o.accepted)) {
    throw new Error('expected {"format": "wspass-gate-accept/1", "accepted": [...]}');
  }
  o.accepted.forEach((e: Partial<AcceptEntry>, i) => {
    const at = `accepted[${i}]`;
    if (typeof e.figure !== 'string' || !knownFigures.includes(e.figure)) {
      throw new Error(`${at}.figure: "${String(e.figure)}" is not a gated figure; use one of ${knownFigures.join(', ')}`);
    }
    if (typeof e.ratio !== 'number' || !(e.ratio >= 1 && e.ratio <= 10)) throw new Error(`${at}.ratio: a number from 1 to 10 (head ÷ base)`);
    if (typeof e.reason !== 'string' || e.reason.trim().length < 10) throw new Error(`${at}.reason: say why this cost is accepted`);
    if (typeof e.baseCommit !== 'string' || !/^[0-9a-f]{7,40}$/.test(e.baseCommit)) {
      throw new Error(`${at}.baseCommit: the base commit hash this ratio was measured against`);
    }
  });
  return o as AcceptFile;
}

/** The entry for a figure that applies against this base commit (full hash), if any. */
export function acceptanceFor(entries: readonly AcceptEntry[], figure: string, baseCommit: string | null): AcceptEntry | undefined {
  if (baseCommit === null) return undefined;
  return entries.find((e) => e.figure === figure && baseCommit.startsWith(e.baseCommit));
}
