// Finds the part of the config schema that governs a key path, so validation messages can list the
// allowed keys and quote the schema's own description. Unions are resolved by the shape of the value
// actually written (a string picks the string form of `listen`, a mapping the { address, tls } form).
import { z } from 'zod';

type Schema = z.ZodType;

/** The schema inside an optional/default/nullable/... wrapper, or undefined when `s` is no wrapper. */
function innerOf(s: Schema): Schema | undefined {
  if (
    s instanceof z.ZodOptional ||
    s instanceof z.ZodDefault ||
    s instanceof z.ZodPrefault ||
    s instanceof z.ZodNullable ||
    s instanceof z.ZodNonOptional ||
    s instanceof z.ZodReadonly ||
    s instanceof z.ZodCatch ||
    s instanceof z.ZodLazy
  ) {
    return s.unwrap() as Schema;
  }
  if (s instanceof z.ZodPipe) return s.in as Schema;
  return undefined;
}

/** Strips every wrapper down to the schema that checks the value. */
export function unwrapSchema(schema: Schema): Schema {
  let s = schema;
  for (let inner = innerOf(s); inner !== undefined; inner = innerOf(s)) s = inner;
  return s;
}

/** The first `.describe()` text met while unwrapping (it may sit on a wrapper or on the inner schema). */
export function schemaDescription(schema: Schema): string | undefined {
  for (let s: Schema | undefined = schema; s !== undefined; s = innerOf(s)) {
    if (s.description !== undefined) return s.description;
  }
  return undefined;
}

function fits(schema: Schema, value: unknown): boolean {
  const s = unwrapSchema(schema);
  if (Array.isArray(value)) return s instanceof z.ZodArray;
  if (value !== null && typeof value === 'object') return s instanceof z.ZodObject || s instanceof z.ZodRecord;
  if (typeof value === 'string') return s instanceof z.ZodString || s instanceof z.ZodEnum || s instanceof z.ZodLiteral;
  if (typeof value === 'number') return s instanceof z.ZodNumber;
  if (typeof value === 'boolean') return s instanceof z.ZodBoolean;
  return false;
}

/** Unwraps, and for a union picks the member matching the value's shape (else the first). */
export function resolveSchema(schema: Schema, value: unknown): Schema {
  let s = unwrapSchema(schema);
  while (s instanceof z.ZodUnion) {
    const options = s.options as readonly Schema[];
    const chosen = options.find((o) => fits(o, value)) ?? options[0];
    if (chosen === undefined) return s;
    s = unwrapSchema(chosen);
  }
  return s;
}

function childOf(schema: Schema, value: unknown, key: string | number): Schema | undefined {
  const s = resolveSchema(schema, value);
  if (s instanceof z.ZodObject && typeof key === 'string') {
    return Object.hasOwn(s.shape, key) ? (s.shape[key] as Schema) : undefined;
  }
  if (s instanceof z.ZodArray && typeof key === 'number') return s.element as Schema;
  if (s instanceof z.ZodRecord) return s.valueType as Schema;
  return undefined;
}

/** Reads the value at a key path of the parsed document (undefined where the path leaves it). */
export function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    if (typeof key === 'symbol' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

/** The (still wrapped) schema for the value at `path`, or undefined when the path is not in the schema. */
export function schemaAt(root: Schema, data: unknown, path: readonly PropertyKey[]): Schema | undefined {
  let s: Schema | undefined = root;
  for (let i = 0; i < path.length && s !== undefined; i++) {
    const key = path[i];
    if (typeof key === 'symbol' || key === undefined) return undefined;
    s = childOf(s, valueAt(data, path.slice(0, i)), key);
  }
  return s;
}

/** Keys an object schema accepts, in schema order; undefined when the schema is not an object. */
export function allowedKeys(schema: Schema, value: unknown): string[] | undefined {
  const s = resolveSchema(schema, value);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
}
