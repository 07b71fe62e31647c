#!/usr/bin/env node
// Runs the compiled tests: every dist/test/**/*.test.js, or only the lanes named on the command line
// (unit, integration, serial). The serial lane runs with concurrency 1 (multi-worker and soak tests).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../dist/test/', import.meta.url).pathname;
const lanes = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'integration', 'serial'];

function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return find(p);
    return name.endsWith('.test.js') ? [p] : [];
  }).sort();
}

let failed = false;
for (const lane of lanes) {
  const files = find(join(root, lane));
  if (files.length === 0) continue;
  const concurrency = lane === 'serial' ? '1' : '2';
  const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=120000', ...files], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
