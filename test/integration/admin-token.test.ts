// The admin bearer token: where it comes from (admin.token, admin.tokenFile), what `validate` says about a
// token file or endpoint address that cannot work, and the 401 a request without it gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { adminToken, TokenCheck } from '../../src/admin/admin-token.js';
import { ConfigError } from '../../src/config/config-error.js';
import { loadAndCheckConfig } from '../../src/cli/load-config.js';
import { tempFile } from '../helpers/cli.js';

const ROUTES = [{ path: '/', backend: 'ws://127.0.0.1:1/' }];
const LISTEN = '127.0.0.1:0';

function problems(t: test.TestContext, config: object): string {
  const file = tempFile(t, 'wspass.json', JSON.stringify(config));
  try {
    loadAndCheckConfig(file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  return '';
}

test('the token comes from admin.token or, trimmed, from admin.tokenFile', (t) => {
  const file = tempFile(t, 'token', '  from-a-file-0123456789\n');
  assert.equal(adminToken({ tokenFile: file }), 'from-a-file-0123456789');
  assert.equal(adminToken({ token: 'inline-token-0123456789' }), 'inline-token-0123456789');
  assert.equal(adminToken({}), undefined);
});

test('validate refuses a token file that is missing or empty, both token keys, a short token and a bad address', (t) => {
  const empty = tempFile(t, 'token', '\n');
  assert.match(problems(t, { listen: LISTEN, admin: { tokenFile: '/nonexistent/token' }, routes: ROUTES }), /admin\.tokenFile: "\/nonexistent\/token" does not exist/);
  assert.match(problems(t, { listen: LISTEN, admin: { tokenFile: empty }, routes: ROUTES }), /admin\.tokenFile: .* is empty/);
  assert.match(problems(t, { listen: LISTEN, admin: { token: 'x'.repeat(20), tokenFile: empty }, routes: ROUTES }), /token or tokenFile, not both/);
  assert.match(problems(t, { listen: LISTEN, admin: { token: 'short' }, routes: ROUTES }), /admin\.token/);
  assert.match(problems(t, { listen: LISTEN, health: { listen: 'nonsense' }, routes: ROUTES }), /health\.listen: invalid listen address/);
  assert.match(problems(t, { listen: LISTEN, admin: { listen: '127.0.0.1:99999' }, routes: ROUTES }), /admin\.listen: .*out of range/);
  assert.equal(problems(t, { listen: LISTEN, admin: { token: 'good-token-0123456789' }, health: { listen: '127.0.0.1:0' }, routes: ROUTES }), '');
});

test('a request without the token, or with another, gets 401 with WWW-Authenticate; with it, passes', async (t) => {
  const check = new TokenCheck('right-token-0123456789');
  const server = http.createServer((req, res) => {
    if (check.allows(req, res)) res.end('in');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const none = await fetch(url);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="wspass admin"');
  const wrong = await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789' } });
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  assert.equal((await fetch(url, { headers: { authorization: 'Basic cmlnaHQ=' } })).status, 401);
  const right = await fetch(url, { headers: { authorization: 'bearer right-token-0123456789' } });
  assert.equal(right.status, 200);
  assert.equal(await right.text(), 'in');
});
