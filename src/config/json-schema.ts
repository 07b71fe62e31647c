// The published JSON Schema of a config file (schema/wspass.schema.json), generated from the one zod
// schema so editors offer completion and checks that agree with `wspass validate`. It describes the
// file as written (`io: 'input'`): keys with defaults are optional.
import { z } from 'zod';
import { configSchema, routeSchema } from './schema.js';

export const JSON_SCHEMA_ID = 'urn:wspass:config';
export const JSON_SCHEMA_TITLE = 'wspass configuration';

/** The JSON Schema (draft 2020-12) of a config file. */
export function buildJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, {
    io: 'input',
    override: ({ zodSchema, jsonSchema }) => {
      // The "exactly one of path or match" rule is a refinement, which JSON Schema cannot derive;
      // spell it out so editors flag a route with neither or both.
      if (zodSchema === routeSchema) {
        jsonSchema.oneOf = [{ required: ['path'] }, { required: ['match'] }];
      }
    },
  });
  const { $schema, ...rest } = generated as Record<string, unknown>;
  return { $schema, $id: JSON_SCHEMA_ID, title: JSON_SCHEMA_TITLE, ...rest };
}

/** The file's exact text: two-space indent and a trailing newline. */
export function jsonSchemaText(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}
