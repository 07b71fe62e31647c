// The README is part of the product: its option table is the generated one, and it documents every error
// code of the catalogue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS } from '../../src/errors.js';
import { configReference, REFERENCE_END, REFERENCE_START } from '../../src/config/reference.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

test('the README option table is the one generated from the schema', () => {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  assert.ok(start >= 0 && end > start, 'README.md lacks the config-reference markers');
  assert.ok(
    readme.slice(start, end + REFERENCE_END.length) === configReference(),
    'the option table in README.md is stale: run `npm run schema` and commit the result',
  );
});

test('every error code is documented in the README with its status', () => {
  const section = readme.slice(readme.indexOf('<!-- error-codes:start -->'), readme.indexOf('<!-- error-codes:end -->'));
  for (const [code, spec] of Object.entries(ERRORS)) {
    const row = section.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
    assert.ok(row, `${code} is not in the README's error table`);
    const status = spec.status === 0 ? '—' : String(spec.status);
    assert.ok(row.includes(`| ${status} |`), `${code}: README says ${row}, catalogue says ${status}`);
  }
});
