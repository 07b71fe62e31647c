// Turns schema validation issues into messages a person can act on: each says what was written and
// what is allowed (the type with its unit, the allowed values or keys, the bound), and an unknown key
// gets a "did you mean" from the keys the schema accepts there.
import type { z } from 'zod';
import { allowedKeys, schemaAt, schemaDescription, valueAt } from './schema-walk.js';
import { closestName } from './suggest.js';

type Schema = z.ZodType;
type Issue = z.core.$ZodIssue;
type Path = (string | number)[];

/** An issue with its key path; `at: 'key'` asks the locator to point at the key, not its value. */
export interface PathIssue {
  path: Path;
  message: string;
  at: 'key' | 'value';
}

const MAX_QUOTED = 60;

function toPath(path: readonly PropertyKey[]): Path {
  return path.map((k) => (typeof k === 'symbol' ? String(k) : k));
}

/** The unit a key name carries (units are in the names: idleTimeoutMs, maxHeaderBytes). */
function unitOf(path: Path): string | undefined {
  const key = path.at(-1);
  if (typeof key !== 'string') return undefined;
  if (key.endsWith('Ms')) return 'milliseconds';
  if (key.endsWith('Bytes')) return 'bytes';
  return undefined;
}

function quote(s: string): string {
  return JSON.stringify(s.length > MAX_QUOTED ? `${s.slice(0, MAX_QUOTED)}…` : s);
}

/** What was written, for "got …": string "5s", number 5, a list, a mapping, an empty value. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (typeof v === 'string') return `string ${quote(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

function describeExpected(expected: string, path: Path): string {
  const unit = unitOf(path);
  const inUnit = unit === undefined ? '' : ` in ${unit}`;
  switch (expected) {
    case 'string':
      return 'a string';
    case 'number':
      return `a number${inUnit}`;
    case 'int':
      return `a whole number${inUnit}`;
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a mapping (key: value)';
    default:
      return `a ${expected}`;
  }
}

/** "write 5000" when a duration was written with a unit suffix, as Apache's "5s" or "500ms". */
function durationHint(value: unknown, path: Path): string {
  if (unitOf(path) !== 'milliseconds' || typeof value !== 'string') return '';
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(value.trim());
  if (m === null) return '';
  const scale = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return ` (write ${Math.round(Number(m[1]) * scale)})`;
}

function withDescription(message: string, root: Schema, data: unknown, path: Path): string {
  const schema = schemaAt(root, data, path);
  const description = schema === undefined ? undefined : schemaDescription(schema);
  return description === undefined ? message : `${message} — ${description}`;
}

function expectedMessage(expected: string, root: Schema, data: unknown, path: Path): string {
  const value = valueAt(data, path);
  if (value === undefined) {
    const key = path.at(-1);
    const name = typeof key === 'string' ? `required key ${quote(key)}` : 'a required value';
    return withDescription(`${name} is missing; expected ${expected}`, root, data, path);
  }
  return `expected ${expected}, got ${describeValue(value)}${durationHint(value, path)}`;
}

function boundMessage(issue: Issue & { code: 'too_small' | 'too_big' }, value: unknown, path: Path): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? issue.minimum : issue.maximum);
  const got = ` (got ${describeValue(value)})`;
  if (issue.origin === 'string') {
    if (small && bound === 1) return 'must not be empty';
    return `must be ${small ? 'at least' : 'at most'} ${bound} characters long${got}`;
  }
  if (issue.origin === 'array') {
    if (small && bound === 1) return `must have at least one entry${got}`;
    return `must have ${small ? 'at least' : 'at most'} ${bound} entries`;
  }
  const inclusive = issue.inclusive !== false;
  const relation = small ? (inclusive ? 'at least' : 'more than') : inclusive ? 'at most' : 'less than';
  const unit = unitOf(path);
  return `must be ${relation} ${bound}${unit === undefined ? '' : ` ${unit}`}${got}`;
}

function formatMessage(issue: Issue & { code: 'invalid_format' }, value: unknown): string {
  const got = ` (got ${describeValue(value)})`;
  if (issue.format === 'starts_with' && 'prefix' in issue) return `must start with ${quote(String(issue.prefix))}${got}`;
  // A message written in the schema ("must be a header name") beats zod's generic "Invalid string: …".
  if (!issue.message.startsWith('Invalid')) return `${issue.message}${got}`;
  if (issue.format === 'regex' && issue.pattern !== undefined) return `must match ${issue.pattern}${got}`;
  return `must be a valid ${issue.format}${got}`;
}

/** A union failed in every member: go into the member the value's shape was meant for, if any. */
function unionIssues(
  issue: Issue & { code: 'invalid_union' },
  root: Schema,
  data: unknown,
  path: Path,
): PathIssue[] {
  if (issue.inclusive === false) {
    return [{ path, message: 'matches more than one of the allowed forms', at: 'value' }];
  }
  const typeOnly = (branch: readonly Issue[]) =>
    branch.every((i) => i.code === 'invalid_type' && i.path.length === 0);
  const meant = issue.errors.filter((branch) => !typeOnly(branch));
  const nearest = meant.reduce<readonly Issue[] | undefined>(
    (best, branch) => (best === undefined || branch.length < best.length ? branch : best),
    undefined,
  );
  if (nearest !== undefined) {
    return nearest.flatMap((i) => describeIssue({ ...i, path: [...path, ...i.path] }, root, data));
  }
  const forms = issue.errors.flatMap((branch) =>
    branch.flatMap((i) => (i.code === 'invalid_type' ? [describeExpected(i.expected, path)] : [])),
  );
  const expected = [...new Set(forms)].join(' or ') || 'another form';
  const message = expectedMessage(expected, root, data, path);
  // A missing key's message carries the description already; a wrong form gets it here.
  const full = valueAt(data, path) === undefined ? message : withDescription(message, root, data, path);
  return [{ path, message: full, at: 'value' }];
}

function describeIssue(issue: Issue, root: Schema, data: unknown): PathIssue[] {
  const path = toPath(issue.path);
  const value = valueAt(data, path);
  const one = (message: string, at: 'key' | 'value' = 'value'): PathIssue[] => [{ path, message, at }];
  switch (issue.code) {
    case 'invalid_type':
      return one(expectedMessage(describeExpected(issue.expected, path), root, data, path));
    case 'invalid_union':
      return unionIssues(issue, root, data, path);
    case 'unrecognized_keys': {
      const schema = schemaAt(root, data, path);
      const allowed = (schema === undefined ? undefined : allowedKeys(schema, value)) ?? [];
      return issue.keys.map((key) => {
        const suggestion = closestName(key, allowed);
        const mean = suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`;
        const list = allowed.length === 0 ? '' : `; allowed keys: ${allowed.join(', ')}`;
        return { path: [...path, key], message: `unknown key ${quote(key)}${mean}${list}`, at: 'key' };
      });
    }
    case 'invalid_value':
      return one(
        `must be one of ${issue.values.map((v) => (typeof v === 'string' ? quote(v) : String(v))).join(', ')}` +
          ` (got ${describeValue(value)})`,
      );
    case 'too_small':
    case 'too_big':
      return one(boundMessage(issue, value, path));
    case 'invalid_format':
      return one(formatMessage(issue, value));
    case 'not_multiple_of':
      return one(`must be a multiple of ${issue.divisor} (got ${describeValue(value)})`);
    case 'invalid_key': {
      const key = path.at(-1);
      const why = issue.issues.map((i) => i.message).join('; ');
      return one(`invalid key ${quote(String(key))}: ${why}`, 'key');
    }
    default:
      return one(issue.message);
  }
}

/** One or more readable issues per schema issue (an unknown-keys issue yields one per key). */
export function describeZodIssues(issues: readonly Issue[], root: Schema, data: unknown): PathIssue[] {
  return issues.flatMap((issue) => describeIssue(issue, root, data));
}
