// wspass on the machine's own (older) Node: it starts, says once what that runtime lacks, tunnels, answers
// an upgrade it will not tunnel with 400, and survives clients that reset right after such a request.
// This lane must not go quiet: it fails when the system `node` is new enough to have nothing to test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, realpathSync } from 'node:fs';
import net from 'node:net';
import { delimiter, join } from 'node:path';
import { runtimeSupport } from '../../src/workers/runtime-support.js';
import { CLI, tempFile, waitForLine } from '../helpers/cli.js';
import { nextMessage, openWs, rawExchange, startWsBackend, statusOf, wsHandshake } from '../helpers/peers.js';

/** The first `node` on PATH that is not the devDependency this test runs on (npm puts that one first). */
function systemNode(): string | undefined {
  const self = realpathSync(process.execPath);
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '' && !d.includes('node_modules'));
  for (const dir of [...dirs, '/usr/local/bin', '/usr/bin']) {
    const candidate = join(dir, 'node');
    try {
      accessSync(candidate, constants.X_OK);
      if (realpathSync(candidate) !== self) return candidate;
    } catch {
      // not there or not executable: try the next directory
    }
  }
  return undefined;
}

const DECLINED = 'GET / HTTP/1.1\r\nHost: proxy.test\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n';

test('on the system Node (< 22.21) wspass warns once, tunnels, refuses a declined upgrade with 400 and survives resets', async (t) => {
  const node = systemNode();
  assert.ok(node !== undefined, 'no system node on PATH outside node_modules');
  const version = execFileSync(node, ['-p', 'process.versions.node']).toString().trim();
  assert.equal(
    runtimeSupport(version).shouldUpgradeCallback,
    false,
    `${node} is Node ${version}, which has shouldUpgradeCallback: this lane needs an older system Node to test the fallback`,
  );

  const backend = await startWsBackend(t, {}, (ws) => ws.on('message', (d: Buffer) => ws.send(d)));
  const file = tempFile(t, 'old.json', JSON.stringify({
    listen: '127.0.0.1:0',
    log: { level: 'info' },
    shutdown: { tunnelDrainMs: 0, deadlineMs: 2000 },
    routes: [
      { path: '/fixed/', respond: { status: 500 } },
      { name: 'echo', path: '/', backend: `ws://127.0.0.1:${backend.port}/` },
    ],
  }));
  const child = spawn(node, [CLI, 'run', '--config', file, '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const m = await waitForLine(child, /"port":(\d+),"workers":(\d+),"msg":"listening"/);
  const port = Number(m[1]);
  assert.equal(m[2], '1', 'one worker without reusePort');

  const warnings = out.split('\n').filter((l) => l.includes('"level":40'));
  assert.equal(warnings.length, 1, `exactly one warning, got:\n${warnings.join('\n')}`);
  assert.match(warnings[0]!, /SO_REUSEPORT/);
  assert.match(warnings[0]!, /shouldUpgradeCallback/);

  const ws = await openWs(t, `ws://127.0.0.1:${port}/`);
  const echoed = nextMessage(ws);
  ws.send('through node 20');
  assert.equal((await echoed).data.toString(), 'through node 20');

  assert.equal(statusOf((await rawExchange(t, port, DECLINED)).head), 400);
  // An upgrade to a fixed answer gets its status here too, never a 101.
  const fixed = await rawExchange(t, port, wsHandshake('/fixed/x'));
  assert.equal(statusOf(fixed.head), 500);
  assert.match(fixed.head, /X-Wspass-Error: WSP_FIXED_STATUS/);

  // A client that resets right after its declined upgrade: the 400 is written on a dead socket.
  for (let i = 0; i < 20; i++) {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    await once(s, 'connect');
    s.write(DECLINED, () => s.resetAndDestroy());
    await once(s, 'close');
  }
  // Still the same worker, still answering.
  assert.equal(statusOf((await rawExchange(t, port, DECLINED)).head), 400);
  const again = nextMessage(ws);
  ws.send('still there');
  assert.equal((await again).data.toString(), 'still there');
  assert.doesNotMatch(out, /worker crashed|exited unexpectedly/);
  assert.equal(child.exitCode, null);

  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0, err);
});
