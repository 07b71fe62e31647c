// The ProxyPassReverse fixture (test/fixtures/apache/reverse.conf) run by `wspass run` as the .conf, and
// in-process as its import-apache YAML: the same assertions on both. Redirects into the backend, a
// <Location> one-argument ProxyPassReverse on the upgrade path, a balancer's members, the cookie maps, and
// X-Forwarded-Server from the virtual host's ServerName.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type net from 'node:net';
import { APACHE_FIXTURES, runFixture } from '../helpers/apache-fixture.js';
import { CLI, waitForLine } from '../helpers/cli.js';
import { rawExchange, statusOf, wsHandshake } from '../helpers/peers.js';
import { headerValues, rawRequest } from '../helpers/recording-backend.js';
import { scriptedBackend, type ScriptedBackend } from '../helpers/scripted-backend.js';

/** Redirects every request (upgrade or not) to `http://<itself>/<first path segment>/login`, with a cookie of its own. */
async function redirecting(t: TestContext): Promise<ScriptedBackend> {
  const self = { port: 0 };
  const backend = await scriptedBackend(t, (s: net.Socket, head: string) => {
    const segment = /^\S+ (\/[^/ ]*\/)/.exec(head)?.[1] ?? '/';
    s.end(
      `HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:${self.port}${segment}login\r\n` +
        'Set-Cookie: sid=1; Domain=backend.internal; Path=/app/deep\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
  });
  self.port = backend.port;
  return backend;
}

interface Backends {
  readonly app: ScriptedBackend;
  readonly chat: ScriptedBackend;
  readonly members: readonly ScriptedBackend[];
  readonly env: Record<string, string>;
}

async function backends(t: TestContext): Promise<Backends> {
  const [app, chat, m1, m2] = [await redirecting(t), await redirecting(t), await redirecting(t), await redirecting(t)];
  const env = {
    HTTP_BACKEND: `127.0.0.1:${app.port}`,
    WS_BACKEND: `127.0.0.1:${chat.port}`,
    SERVER01: `127.0.0.1:${m1.port}`,
    SERVER02: `127.0.0.1:${m2.port}`,
  };
  return { app, chat, members: [m1, m2], env };
}

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n`;

async function assertReverse(t: TestContext, port: number, b: Backends): Promise<void> {
  const app = await rawRequest(t, port, GET('/app/page'));
  assert.equal(statusOf(app.head), 302);
  assert.deepEqual(headerValues(app.head, 'location'), ['http://proxy.test/app/login']);
  assert.deepEqual(headerValues(app.head, 'set-cookie'), ['sid=1; Domain=proxy.test; Path=/']);
  assert.deepEqual(headerValues(b.app.heads[0]!, 'x-forwarded-server'), ['proxy.test'], "the virtual host's ServerName");

  // <Location /chat/> ProxyPassReverse http://.../chat/ on the upgrade path: the backend refuses with 302.
  const chat = await rawExchange(t, port, wsHandshake('/chat/room'));
  assert.equal(statusOf(chat.head), 302);
  assert.deepEqual(headerValues(chat.head, 'location'), ['http://proxy.test/chat/login']);
  assert.match(b.chat.heads[0]!, /^upgrade: websocket/im, 'the backend was asked to upgrade');

  for (let i = 0; i < 2; i++) {
    const lb = await rawRequest(t, port, GET('/lb/page'));
    assert.deepEqual(headerValues(lb.head, 'location'), ['http://proxy.test/lb/login']);
  }
  assert.deepEqual(b.members.map((m) => m.heads.length), [1, 1], 'each member answered once');
}

test('ProxyPassReverse fixture through `wspass run` on the .conf', async (t) => {
  const b = await backends(t);
  const child = spawn(process.execPath, [CLI, 'run', '--config', `${APACHE_FIXTURES}reverse.conf`, '--listen-map', '80=127.0.0.1:0', '--workers', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...b.env },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const m = await waitForLine(child, /"port":(\d+)[^\n]*"msg":"listening"/);
  await assertReverse(t, Number(m[1]), b);
  assert.doesNotMatch(stderr, /ProxyPassReverse/, 'nothing said about the ProxyPassReverse lines');
});

test('ProxyPassReverse fixture as its import-apache YAML', async (t) => {
  const b = await backends(t);
  const f = await runFixture(t, 'reverse.conf', b.env, 'yaml');
  assert.match(f.yaml, /# \S*reverse\.conf:15 ProxyPassReverse http:\/\/127\.0\.0\.1:\d+\/chat\//);
  await assertReverse(t, f.port, b);
});
