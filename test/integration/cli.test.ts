// The `wspass` command as users run it: validate's exit codes and messages, run with a bad config, the
// demo (what `npm start` runs) answering a WebSocket echo, and SIGTERM exiting 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { CLI, runCli, spawnProxy, tempFile, waitForLine } from '../helpers/cli.js';
import { nextMessage, openWs, startWsBackend } from '../helpers/peers.js';

test('validate: a good config exits 0', async (t) => {
  const file = tempFile(t, 'ok.yaml', 'listen: 127.0.0.1:8080\nroutes:\n  - path: /ws/\n    backend: ws://127.0.0.1:9001/\n');
  const r = await runCli(['validate', '--config', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /valid/);
});

test('validate: a bad config exits 1 naming the file, line, key and what is allowed', async (t) => {
  const typo = tempFile(t, 'typo.yaml', 'listen: 127.0.0.1:8080\nroutes:\n  - path: /ws/\n    backend: ws://127.0.0.1:9001/\n    idleTimeout: 5\n');
  const r = await runCli(['validate', '--config', typo]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /typo\.yaml:5:5: routes\[0\]\.idleTimeout: unknown key/);
  assert.match(r.stderr, /did you mean idleTimeoutMs/);
  const scheme = tempFile(t, 'scheme.yaml', 'listen: 127.0.0.1:8080\nroutes:\n  - path: /ws/\n    backend: ftp://127.0.0.1:9001/\n');
  const r2 = await runCli(['validate', '--config', scheme]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /scheme\.yaml:4:\d+: routes\[0\]\.backend: .*ws:\/\//);
});

test('run: a bad config never starts', async (t) => {
  const file = tempFile(t, 'bad.json', '{"listen": "127.0.0.1:0", "routes": []}');
  const r = await runCli(['run', '--config', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.json.*routes/);
});

test('unknown command and missing --config are usage errors', async () => {
  assert.equal((await runCli(['frobnicate'])).code, 2);
  assert.equal((await runCli(['validate'])).code, 2);
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /wspass run --config FILE/);
});

test('demo (npm start) answers a WebSocket echo and stops on SIGINT', async (t) => {
  const child = spawn(process.execPath, [CLI, 'demo', '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const m = await waitForLine(child, /(ws:\/\/127\.0\.0\.1:\d+\/echo)[\s\S]*self-check: ([^\n]*)/);
  assert.match(m[2]!, /got "hello through wspass" back/);
  const ws = await openWs(t, m[1]!);
  ws.send('from the test');
  assert.equal((await nextMessage(ws)).data.toString(), 'from the test');
  ws.close();
  child.kill('SIGINT');
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0);
});

test('run: SIGTERM closes the listener and exits 0', async (t) => {
  const backend = await startWsBackend(t);
  const { child, port } = await spawnProxy(t, {
    listen: '127.0.0.1:0',
    log: { level: 'info' },
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
  });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  t.after(() => ws.terminate());
  await once(ws, 'open');
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0);
});
