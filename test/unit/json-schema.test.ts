// The published JSON Schema must be what the code generates, and must describe the config as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildJsonSchema, jsonSchemaText, JSON_SCHEMA_ID } from '../../src/config/json-schema.js';

test('schema/wspass.schema.json matches buildJsonSchema()', () => {
  const committed = readFileSync(new URL('../../../schema/wspass.schema.json', import.meta.url), 'utf8');
  assert.ok(
    committed === jsonSchemaText(),
    'schema/wspass.schema.json is out of date with src/config/schema.ts: run `npm run schema` and commit the result',
  );
});

test('the schema has its id and title and describes the input form', () => {
  const schema = buildJsonSchema() as {
    $schema: string;
    $id: string;
    title: string;
    required: string[];
    additionalProperties: boolean;
    properties: Record<string, { default?: unknown; items?: { oneOf?: unknown } }>;
  };
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(schema.$id, JSON_SCHEMA_ID);
  assert.equal(schema.title, 'wspass configuration');
  // Keys with defaults are optional in the file; unknown keys are rejected as the loader does.
  assert.deepEqual(schema.required.sort(), ['listen', 'routes']);
  assert.equal(schema.additionalProperties, false);
  assert.equal(schema.properties.maxHeaderBytes?.default, 16384);
  assert.deepEqual(schema.properties.routes?.items?.oneOf, [{ required: ['path'] }, { required: ['match'] }]);
});

test('the file text is pretty-printed with a trailing newline', () => {
  const text = jsonSchemaText();
  assert.ok(text.endsWith('}\n'));
  assert.ok(text.startsWith('{\n  "$schema": '));
  assert.deepEqual(JSON.parse(text), buildJsonSchema());
});
