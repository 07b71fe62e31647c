// The container image definition, checked by reading it (no container engine runs here): its stages, what
// each copies, the user, PID 1 and the entrypoint; and the two facts it relies on: build-native.mjs builds
// against the headers WSPASS_NODEDIR names, and no production dependency has an install script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyParts, instructions, parseDockerfile, type Stage } from '../helpers/dockerfile.js';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const stages = parseDockerfile(read('Dockerfile'));

function stage(name: string): Stage {
  const s = stages.find((x) => x.name === name);
  assert.ok(s, `the Dockerfile has no stage "${name}"`);
  return s;
}

function json<T>(args: string): T {
  return JSON.parse(args) as T;
}

test('three stages: the full build, production dependencies, and the runtime on Node 22 Debian slim last', () => {
  assert.deepEqual(stages.map((s) => s.name), ['build', 'prod-deps', 'runtime']);
  assert.match(stage('build').base, /^node:22(-bookworm)?$/);
  assert.match(stage('runtime').base, /^node:22-(bookworm|trixie)-slim$/);
});

test('the build stage runs the full npm ci against the image\'s own Node headers and checks the addon was built', () => {
  const build = stage('build');
  const runs = instructions(build, 'RUN');
  assert.ok(runs.includes('npm ci'), `build runs ${runs.join(' / ')}`);
  assert.ok(instructions(build, 'ENV').includes('WSPASS_NODEDIR=/usr/local'), 'WSPASS_NODEDIR is not /usr/local');
  const envAt = build.instructions.findIndex((i) => i.keyword === 'ENV' && i.args.startsWith('WSPASS_NODEDIR='));
  const ciAt = build.instructions.findIndex((i) => i.keyword === 'RUN' && i.args === 'npm ci');
  assert.ok(envAt < ciAt, 'WSPASS_NODEDIR is set after npm ci');
  assert.ok(runs.some((r) => r.includes('test -f build/Release/wspass_native.node')), 'the build does not fail without the addon');
  // What `prepare` (tsc) and `install` (build-native.mjs) need is in the stage before npm ci.
  const copied = instructions(build, 'COPY').flatMap((c) => copyParts(c).sources);
  for (const need of ['package.json', 'package-lock.json', 'tsconfig.json', 'binding.gyp', 'scripts/', 'src/']) {
    assert.ok(copied.includes(need), `the build stage does not copy ${need}`);
  }
});

test('build-native.mjs uses the headers WSPASS_NODEDIR names, and says so when they are missing', () => {
  const r = spawnSync(process.execPath, [new URL('scripts/build-native.mjs', root).pathname], {
    env: { ...process.env, WSPASS_NODEDIR: '/nonexistent-node' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /not built \(no Node headers found in \/nonexistent-node\/include\/node\)/);
});

test('production node_modules come from npm ci --omit=dev --ignore-scripts, and no production package needs a script', () => {
  assert.deepEqual(instructions(stage('prod-deps'), 'RUN'), ['npm ci --omit=dev --ignore-scripts']);
  const lock = json<{ packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }> }>(read('package-lock.json'));
  const scripted = Object.entries(lock.packages).filter(([path, p]) => path !== '' && !p.dev && p.hasInstallScript);
  assert.deepEqual(scripted.map(([path]) => path), [], 'these production packages have install scripts');
  const pkg = json<{ dependencies: Record<string, string>; devDependencies: Record<string, string> }>(read('package.json'));
  assert.ok(!('node' in pkg.dependencies) && 'node' in pkg.devDependencies, 'the node package must stay a devDependency');
});

test('the runtime copies dist/, the addon and production node_modules only, runs as non-root under tini', () => {
  const runtime = stage('runtime');
  const copies = instructions(runtime, 'COPY').map(copyParts);
  const from = (s: string) => copies.filter((c) => c.from === s).map((c) => `${c.sources.join(' ')} -> ${c.dest}`);
  assert.deepEqual(from('build').sort(), ['/src/build/Release/wspass_native.node -> build/Release/wspass_native.node', '/src/dist/ -> dist/']);
  assert.deepEqual(from('prod-deps'), ['/src/node_modules/ -> node_modules/']);
  assert.ok(!instructions(runtime, 'RUN').some((r) => /\bnpm\b/.test(r)), 'the runtime stage must not run npm');
  assert.ok(instructions(runtime, 'RUN').some((r) => /apt-get install .*\btini\b/.test(r)), 'tini is not installed');

  const users = instructions(runtime, 'USER');
  assert.equal(users.length, 1);
  const [uid] = users[0]!.split(':');
  assert.match(uid!, /^[1-9]\d*$/, 'USER must be a numeric non-root uid (runAsNonRoot checks numbers)');
  assert.equal(instructions(runtime, 'WORKDIR').at(-1), '/app');

  const [entrypoint] = instructions(runtime, 'ENTRYPOINT');
  const argv = json<string[]>(entrypoint!);
  assert.deepEqual(argv.slice(0, 2), ['/usr/bin/tini', '--'], 'tini must be PID 1 (exec form)');
  const script = argv[2]!;
  const scriptCopy = copies.find((c) => c.dest === script && c.from === undefined);
  assert.ok(scriptCopy, `${script} is not copied from the context`);
  const source = scriptCopy.sources[0]!;
  assert.ok((statSync(new URL(source, root)).mode & 0o111) !== 0, `${source} is not executable`);
  const text = read(source);
  const pkg = json<{ bin: { wspass: string } }>(read('package.json'));
  assert.ok(text.includes(`exec node /app/${pkg.bin.wspass} "$@"`), 'the entrypoint does not exec wspass (signals would stop at the shell)');
  assert.deepEqual(json<string[]>(instructions(runtime, 'CMD')[0]!), ['run', '--config', '/etc/wspass/wspass.yaml']);
});

test('every file the Dockerfile copies from the context exists and is not excluded by .dockerignore', () => {
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  for (const s of stages) {
    for (const c of instructions(s, 'COPY').map(copyParts).filter((x) => x.from === undefined)) {
      for (const src of c.sources) {
        assert.ok(existsSync(new URL(src, root)), `${s.name}: COPY ${src}: no such file`);
        const top = src.replace(/\/$/, '').split('/')[0]!;
        assert.ok(!ignored.includes(top), `${s.name}: COPY ${src} is excluded by .dockerignore`);
      }
    }
  }
});
