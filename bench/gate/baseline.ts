// bench/baseline.json: the commit the gate compares against. No figures are stored: base and head are
// measured together in every gate run, so a faster or slower machine changes nothing.
import { parseJsonText } from './accept.js';

export interface BaselineFile {
  format: 'wspass-bench-baseline/2';
  /** A commit on main; the gate builds it in a temporary worktree. Absent: not recorded yet. */
  baseCommit?: string;
  recordedAt?: string;
  note?: string;
}

/** Validates the file's JSON text; throws an Error naming the problem. */
export function parseBaseline(text: string): BaselineFile {
  const b = parseJsonText(text) as Partial<BaselineFile> | null;
  if (!b || b.format !== 'wspass-bench-baseline/2') {
    throw new Error('expected {"format": "wspass-bench-baseline/2", "baseCommit": "<hash>"}; re-record it with `npm run bench:baseline`');
  }
  if (b.baseCommit !== undefined && (typeof b.baseCommit !== 'string' || !/^[0-9a-f]{7,40}$/.test(b.baseCommit))) {
    throw new Error(`baseCommit: "${String(b.baseCommit)}" is not a commit hash`);
  }
  return b as BaselineFile;
}

export function baselineText(commit: string, note: string, now = new Date()): string {
  const b: BaselineFile = { format: 'wspass-bench-baseline/2', baseCommit: commit, recordedAt: now.toISOString(), note };
  return `${JSON.stringify(b, null, 2)}\n`;
}
