// The CLI on Apache configs: validate lists notes and stops on refused directives with file:line;
// import-apache output of every fixture passes `wspass validate`; `run --listen-map` serves a fixture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { APACHE_FIXTURES } from '../helpers/apache-fixture.js';
import { CLI, runCli, tempFile, waitForLine, type RunResult } from '../helpers/cli.js';
import { nextMessage, openWs, startWsBackend } from '../helpers/peers.js';

const ENV = {
  WS_BACKEND: '127.0.0.1:1',
  WSS_BACKEND: '127.0.0.1:2',
  HTTP_BACKEND: '127.0.0.1:3',
  TLS_BACKEND: '127.0.0.1:4',
  SERVER01: '127.0.0.1:5',
  SERVER02: '127.0.0.1:6',
  SERVER03: '127.0.0.1:7',
};

const cli = (args: string[]): Promise<RunResult> => runCli(args, ENV);

test('validate on a .conf: valid, with the ignored and diagnosed lines on stderr', async () => {
  const r = await cli(['validate', '--config', `${APACHE_FIXTURES}trunk-async.conf`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /trunk-async\.conf: valid \(1 route\(s\)\)/);
  assert.match(r.stderr, /trunk-async\.conf:7: ignored: .*\[LoadModule proxy_wstunnel_module/);
});

test('validate on a .conf with access control: exit 1, file:line, the directive and what to do', async (t) => {
  const file = tempFile(t, 'site.conf', 'Listen 80\nProxyPass / ws://b:1/\n<Location />\n  Require ip 10.0.0.0/8\n</Location>\n');
  const r = await cli(['validate', '--config', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /site\.conf:4: Require is not supported: access control: .*\[Require ip 10\.0\.0\.0\/8\]/);
});

test('an unknown extension is sniffed; a problem of the mapped config points at the Apache line', async (t) => {
  const file = tempFile(t, 'site.httpd', 'Listen 80\nProxyPassMatch "^/(x" ws://b:1/\n');
  const r = await cli(['validate', '--config', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /site\.httpd:2: routes\[0\]\.match: not a valid regular expression/);
});

test('import-apache output passes wspass validate, with and without --fix', async (t) => {
  // Every fixture's round trip is checked in-process (apache-fixtures.test.ts); here the commands themselves.
  const names = readdirSync(APACHE_FIXTURES).filter((n) => n === 'tutorial-vhost.conf');
  assert.equal(names.length, 1);
  await Promise.all(
    names.map(async (name) => {
      for (const fix of [false, true]) {
        const imported = await cli(['import-apache', `${APACHE_FIXTURES}${name}`, ...(fix ? ['--fix'] : [])]);
        assert.equal(imported.code, 0, `${name}: ${imported.stderr}`);
        assert.match(imported.stdout, /^\s*# \S+:\d+ (ProxyPass|RewriteRule|RewriteCond) /m, `${name}: blocks carry their Apache lines`);
        const yaml = tempFile(t, name.replace(/\.conf$/, fix ? '.fixed.yaml' : '.yaml'), imported.stdout);
        const valid = await cli(['validate', '--config', yaml]);
        assert.equal(valid.code, 0, `${name}${fix ? ' --fix' : ''}: ${valid.stderr}\n${imported.stdout}`);
      }
    }),
  );
});

test('import-apache needs a file; a refused config exits 1', async (t) => {
  const none = await cli(['import-apache']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /import-apache needs FILE/);
  const file = tempFile(t, 'site.conf', 'Listen 80\nHeader set X 1\nProxyPass / ws://b:1/\n');
  const refused = await cli(['import-apache', file]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /site\.conf:2: error: Header is not supported/);
});

test('wspass run --config site.conf --listen-map 80=127.0.0.1:0 serves the config', async (t) => {
  const backend = await startWsBackend(t);
  const child = spawn(
    process.execPath,
    [CLI, 'run', '--config', `${APACHE_FIXTURES}proxypass-ws.conf`, '--listen-map', '80=127.0.0.1:0', '--workers', '1'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...ENV, WS_BACKEND: `127.0.0.1:${backend.port}` } },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const m = await waitForLine(child, /"port":(\d+)[^\n]*"msg":"listening"/);
  const ws = await openWs(t, `ws://127.0.0.1:${m[1]!}/ws2/`);
  ws.send('over the cli');
  assert.equal((await nextMessage(ws)).data.toString(), 'over the cli');
  assert.match(stderr, /proxypass-ws\.conf:5: warning: .*SSLProxyEngine On/);
});
