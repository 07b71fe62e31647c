// Every configuration of the seeds, as an Apache fixture (test/fixtures/apache/), run as the .conf and as
// its import-apache YAML: the same assertions on both (httpd's outcome plus the README's listed
// differences). The tutorial's also runs as its `import-apache --fix` output.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type http from 'node:http';
import type { WebSocket } from 'ws';
import { apacheToYaml } from '../../src/config/apache/emit-yaml.js';
import { loadApache } from '../../src/config/apache/index.js';
import { loadAndCheckConfig } from '../../src/cli/load-config.js';
import { APACHE_FIXTURES, runFixture, type FixtureMode } from '../helpers/apache-fixture.js';
import { tempFile } from '../helpers/cli.js';
import { nextMessage, openWs, rawClient, readUntil, startHttpBackend, startWsBackend, statusOf, wsHandshake } from '../helpers/peers.js';

const fixtures = new URL('../../../test/fixtures/', import.meta.url);
const TLS = { cert: readFileSync(new URL('backend-cert.pem', fixtures)), key: readFileSync(new URL('backend-key.pem', fixtures)) };

async function echo(t: TestContext, url: string): Promise<WebSocket> {
  const ws = await openWs(t, url);
  ws.send('hello');
  assert.equal((await nextMessage(ws)).data.toString(), 'hello');
  return ws;
}

async function refused(t: TestContext, url: string): Promise<string> {
  const err = await openWs(t, url).then(
    () => assert.fail(`${url} should not open`),
    (e: unknown) => e as Error,
  );
  return err.message;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/** httpd's 500 for a TLS backend without SSLProxyEngine On: a fixed answer, on the plain and the upgrade path. */
async function answers500(t: TestContext, http: string, ws: string): Promise<void> {
  const res = await fetch(http);
  assert.equal(res.status, 500);
  assert.equal(res.headers.get('x-wspass-error'), 'WSP_FIXED_STATUS');
  assert.match(await res.text(), /^500 Internal Server Error: .*\(WSP_FIXED_STATUS\)/);
  assert.match(await refused(t, ws), /500/);
}

async function named(t: TestContext, label: string): Promise<number> {
  const b = await startHttpBackend(t, (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${label} ${req.url ?? ''}`);
  });
  return b.port;
}

const BOTH: FixtureMode[] = ['conf', 'yaml'];

for (const mode of BOTH) {
  test(`ProxyPass ws:// and wss:// (${mode}): ws echoes; wss without SSLProxyEngine answers 500 as httpd`, async (t) => {
    const ws = await startWsBackend(t);
    const wss = await startWsBackend(t, {}, undefined, { tls: TLS });
    const f = await runFixture(t, 'proxypass-ws.conf', { WS_BACKEND: `127.0.0.1:${ws.port}`, WSS_BACKEND: `127.0.0.1:${wss.port}` }, mode);
    await echo(t, `${f.ws}/ws2/room`);
    assert.equal(ws.requests[0]?.url, '/room');
    // httpd answers 500 (AH01961), and so does wspass, with no connection to the backend.
    await answers500(t, `${f.http}/wss2/room`, `${f.ws}/wss2/room`);
    assert.equal(wss.requests.length, 0);
    if (mode === 'yaml') assert.match(f.yaml, /- path: \/wss2\/\n\s+respond:\n\s+status: 500/);
    if (mode === 'conf') assert.ok(f.notices.some((n) => /proxypass-ws\.conf:5: warning: .*SSLProxyEngine On/.test(n)), f.notices.join('\n'));
  });

  test(`ProxyPassMatch before the HTTP catch-all (${mode})`, async (t) => {
    const ws = await startWsBackend(t);
    const plain = await named(t, 'http');
    const f = await runFixture(t, 'proxypassmatch.conf', { WS_BACKEND: `127.0.0.1:${ws.port}`, HTTP_BACKEND: `127.0.0.1:${plain}` }, mode);
    await echo(t, `${f.ws}/myApp/ws`);
    assert.equal(ws.requests[0]?.url, '/myApp/ws');
    assert.deepEqual(await get(`${f.http}/other/page?q=1`), { status: 200, body: 'http /other/page?q=1' });
  });

  test(`RewriteCond %{HTTP:Upgrade} + RewriteRule [P,L] runs before ProxyPass (${mode})`, async (t) => {
    const ws = await startWsBackend(t);
    const plain = await named(t, 'http');
    const f = await runFixture(t, 'rewrite-upgrade.conf', { WS_BACKEND: `127.0.0.1:${ws.port}`, HTTP_BACKEND: `127.0.0.1:${plain}` }, mode);
    await echo(t, `${f.ws}/chat/room`);
    assert.equal(ws.requests[0]?.url, '/chat/room');
    assert.deepEqual(await get(`${f.http}/chat/room`), { status: 200, body: 'http /chat/room' });
  });

  test(`two ProxyPass "/" lines (httpd 2.4.47+): the ws:// one serves both (${mode})`, async (t) => {
    const ws = await startWsBackend(t);
    const plain = await named(t, 'http');
    const f = await runFixture(t, 'two-proxypass.conf', { WS_BACKEND: `127.0.0.1:${ws.port}`, HTTP_BACKEND: `127.0.0.1:${plain}` }, mode);
    await echo(t, `${f.ws}/x`);
    assert.deepEqual(await get(`${f.http}/x`), { status: 200, body: 'plain from ws backend' });
  });

  test(`upgrade=ANY and upgrade=NONE, and a "!" exclusion (${mode})`, async (t) => {
    const ws = await startWsBackend(t);
    const f = await runFixture(t, 'upgrade-any-none.conf', { WS_BACKEND: `127.0.0.1:${ws.port}` }, mode);
    await echo(t, `${f.ws}/any/a`);
    await echo(t, `${f.ws}/none/b`);
    assert.equal((await get(`${f.http}/elsewhere`)).status, 404);
  });

  test(`trunk ProxyWebsocketIdleTimeout 400ms closes an idle tunnel; <IfModule> follows LoadModule (${mode})`, async (t) => {
    const ws = await startWsBackend(t);
    const f = await runFixture(t, 'trunk-async.conf', { WS_BACKEND: `127.0.0.1:${ws.port}` }, mode);
    assert.match(f.yaml, /idleTimeoutMs: 400\b/);
    assert.match(f.yaml, /async: true/);
    assert.doesNotMatch(f.yaml, /asyncDelayMs/, 'AsyncDelay never becomes a write hold');
    const client = await echo(t, `${f.ws}/ws/`);
    const opened = Date.now();
    await new Promise((resolve) => client.once('close', resolve));
    assert.ok(Date.now() - opened >= 300, 'closed by the idle timeout, not at once');
    assert.equal((await get(`${f.http}/skipped/`)).status, 404);
  });

  test(`the tutorial's virtual host, as written (${mode}): 500 for HTTP and WebSocket as httpd, every mistake diagnosed`, async (t) => {
    const tls = await startWsBackend(t, {}, undefined, { tls: TLS });
    const f = await runFixture(t, 'tutorial-vhost.conf', { TLS_BACKEND: `127.0.0.1:${tls.port}` }, mode);
    // httpd: the "${...}" conditions never match, so the one-slash rule never applies, and the https://
    // ProxyPass without SSLProxyEngine answers 500 to every request, upgrade or not.
    await answers500(t, `${f.http}/`, `${f.ws}/socket`);
    assert.equal(tls.requests.length, 0);
    for (const want of [
      /tutorial-vhost\.conf:7: warning: "\$\{HTTP:Upgrade\}" starts with "\$".*Likely meant: RewriteCond %\{HTTP:Upgrade\} websocket \[NC\]/,
      /tutorial-vhost\.conf:8: warning: "\$\{HTTP:Connection\}"/,
      /tutorial-vhost\.conf:9: warning: "wss:\/127\.0\.0\.1:\d+\/" has one slash.*to this server itself.*Likely meant: "wss:\/\/127\.0\.0\.1:\d+\/"/,
      /tutorial-vhost\.conf:11: warning: .*SSLProxyEngine On.*httpd answers 500/,
    ]) {
      const text = mode === 'conf' ? f.notices.join('\n') : f.yaml;
      assert.match(text, want);
    }
  });

  test(`a one-slash RewriteRule target (${mode}): the upgrade goes, as plain HTTP, where httpd's request to itself goes`, async (t) => {
    const ws = await startWsBackend(t);
    const plain = await named(t, 'inner');
    const f = await runFixture(t, 'one-slash.conf', { WS_BACKEND: `127.0.0.1:${ws.port}`, HTTP_BACKEND: `127.0.0.1:${plain}` }, mode);
    // httpd 2.4.71: "GET /inner/127.0.0.1:N/" reaches the http:// backend, whose 200 the client gets (no 101).
    const client = await rawClient(t, f.port);
    client.write(wsHandshake('/chat/room'));
    const answer = (await readUntil(client, (buf) => /inner \S+\/$/.test(buf.toString('latin1')))).toString('latin1');
    assert.equal(statusOf(answer), 200);
    assert.ok(answer.includes(`\r\ninner /inner/127.0.0.1:${ws.port}/`), answer);
    assert.equal(ws.requests.length, 0);
    // Without Upgrade the conditions do not hold: nothing proxies /chat/.
    assert.equal((await get(`${f.http}/chat/room`)).status, 404);
    assert.deepEqual(await get(`${f.http}/ws:/x`), { status: 200, body: 'inner /inner/x' });
    if (mode === 'conf') assert.ok(f.notices.some((n) => /one-slash\.conf:7: warning: .*to this server itself.*Likely meant: "ws:\/\/127\.0\.0\.1:\d+\/"/.test(n)), f.notices.join('\n'));
  });

  test(`the tutorial's balancer of three members (${mode}): HTTP is balanced, WebSocket is not tunnelled to http:// members`, async (t) => {
    const ports = [await named(t, 's1'), await named(t, 's2'), await named(t, 's3')];
    const f = await runFixture(t, 'tutorial-balancer.conf', { TLS_BACKEND: '127.0.0.1:9', SERVER01: `127.0.0.1:${ports[0]!}`, SERVER02: `127.0.0.1:${ports[1]!}`, SERVER03: `127.0.0.1:${ports[2]!}` }, mode);
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) seen.add((await get(`${f.http}/page`)).body);
    assert.deepEqual([...seen].sort(), ['s1 /page', 's2 /page', 's3 /page']);
    // httpd sends the upgrade to an http:// member as plain HTTP; the member answers 200.
    assert.match(await refused(t, `${f.ws}/socket`), /200/);
  });
}

test('the tutorial fixed by import-apache --fix: the WebSocket echoes through the wss:// backend, HTTP reaches https://', async (t) => {
  const tls = await startWsBackend(t, {}, undefined, { tls: TLS });
  const f = await runFixture(t, 'tutorial-vhost.conf', { TLS_BACKEND: `127.0.0.1:${tls.port}` }, 'fix');
  assert.match(f.yaml, /# fixed \S*tutorial-vhost\.conf:7: "\$\{HTTP:Upgrade\}" → "%\{HTTP:Upgrade\}"/);
  assert.match(f.yaml, /# fixed \S*tutorial-vhost\.conf:9: "wss:\/127\.0\.0\.1:\d+\/" → "wss:\/\/127\.0\.0\.1:\d+\/"/);
  assert.match(f.yaml, /# fixed \S*tutorial-vhost\.conf:11: added SSLProxyEngine On/);
  await echo(t, `${f.ws}/socket`);
  assert.deepEqual(await get(`${f.http}/`), { status: 200, body: 'plain from ws backend' });
});

test('the tutorial balancer fixed by --fix: WebSocket to the wss:// backend, HTTP still balanced', async (t) => {
  const tls = await startWsBackend(t, {}, undefined, { tls: TLS });
  const ports = [await named(t, 's1'), await named(t, 's2'), await named(t, 's3')];
  const f = await runFixture(t, 'tutorial-balancer.conf', { TLS_BACKEND: `127.0.0.1:${tls.port}`, SERVER01: `127.0.0.1:${ports[0]!}`, SERVER02: `127.0.0.1:${ports[1]!}`, SERVER03: `127.0.0.1:${ports[2]!}` }, 'fix');
  await echo(t, `${f.ws}/socket`);
  assert.match((await get(`${f.http}/p`)).body, /^s[123] \/p$/);
});

test('every fixture imports to YAML that validates, with and without --fix, each route commented with its lines', (t) => {
  const env = { WS_BACKEND: 'a:1', WSS_BACKEND: 'b:2', HTTP_BACKEND: 'c:3', TLS_BACKEND: 'd:4', SERVER01: 'e:5', SERVER02: 'f:6', SERVER03: 'g:7' };
  const names = readdirSync(APACHE_FIXTURES).filter((n) => n.endsWith('.conf'));
  assert.ok(names.length >= 8);
  for (const name of names) {
    for (const fix of [false, true]) {
      const result = loadApache(`${APACHE_FIXTURES}${name}`, { env, fix });
      const yaml = apacheToYaml(name, result);
      const routes = (result.data.routes as unknown[]).length;
      assert.equal(yaml.match(/^ {2}# \S+:\d+ (ProxyPass|ProxyPassMatch|RewriteRule|<VirtualHost) /gm)?.length, routes, `${name}: one commented block per route`);
      const config = loadAndCheckConfig(tempFile(t, name.replace(/\.conf$/, '.yaml'), yaml));
      assert.equal(config.routes.length, routes);
    }
  }
});
