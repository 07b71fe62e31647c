// `npm run schema`: writes schema/wspass.schema.json and the config reference section of README.md from the
// config schema. Unit tests fail when either committed file no longer matches, so docs cannot drift.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jsonSchemaText } from '../src/config/json-schema.js';
import { withReference } from '../src/config/reference.js';

// Compiled to dist/scripts/, two levels below the repository root.
const schemaFile = fileURLToPath(new URL('../../schema/wspass.schema.json', import.meta.url));
writeFileSync(schemaFile, jsonSchemaText());
console.log(`wrote ${schemaFile}`);
const readmeFile = fileURLToPath(new URL('../../README.md', import.meta.url));
writeFileSync(readmeFile, withReference(readFileSync(readmeFile, 'utf8')));
console.log(`updated the config reference in ${readmeFile}`);
