// What the Apache reader makes of the two mistakes where httpd answers by itself (checked against httpd
// 2.4.71): a TLS backend without SSLProxyEngine On (500 to every request of the rule), and a RewriteRule
// [P] target with one slash (proxied to the server itself at "/wss:/host/", routed again there); a
// ProxyPass URL with one slash stops httpd. --fix writes the intended form instead.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApache, type ApacheNote } from '../../src/config/apache/index.js';
import { configSchema } from '../../src/config/schema.js';
import { composeRoutes } from '../../src/server/compose-routes.js';

function load(t: TestContext, text: string, fix = false) {
  const dir = mkdtempSync(join(tmpdir(), 'wspass-fixed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'site.conf'), text);
  const result = loadApache(join(dir, 'site.conf'), { fix });
  return { ...result, routes: result.data.routes as Record<string, unknown>[] };
}

const lines = (notes: readonly ApacheNote[], level: ApacheNote['level']) => notes.filter((n) => n.level === level).map((n) => `${n.line} ${n.message}`);

const UPGRADE = 'RewriteEngine On\nRewriteCond %{HTTP:Upgrade} websocket [NC]\n';

test('a TLS backend without SSLProxyEngine On answers 500, for ProxyPass and RewriteRule alike; the config compiles', (t) => {
  const r = load(t, `Listen 80\n${UPGRADE}RewriteRule ^/ws/ "wss://b:1/" [P,L]\nProxyPass / https://b:1/\n`);
  assert.deepEqual(r.routes, [
    { match: '(?:^/ws/)()', when: { header: { upgrade: 'websocket' } }, respond: { status: 500 } },
    { path: '/', respond: { status: 500 } },
  ]);
  assert.deepEqual(lines(r.notes, 'warning').map((l) => l.slice(0, 2)), ['4 ', '5 ']);
  assert.match(lines(r.notes, 'warning')[1]!, /httpd answers 500 \(AH01961\).*Likely meant: add "SSLProxyEngine On"/);
  assert.equal(composeRoutes(configSchema.parse(r.data)).routes.length, 0, 'fixed answers proxy nowhere');
  const fixed = load(t, `Listen 80\nProxyPass / https://b:1/\n`, true);
  assert.deepEqual(fixed.routes.map((x) => x.backend), ['https://b:1/']);
  assert.deepEqual(fixed.corrections.get('routes.0'), [`fixed ${fixed.notes[0]!.file}:2: added SSLProxyEngine On for this backend`]);
});

test('a one-slash RewriteRule target goes where the request httpd sends to itself goes', (t) => {
  const r = load(
    t,
    `Listen 80\n${UPGRADE}RewriteRule ^/a "ws:/b:1/x" [P,L]\nRewriteRule ^/none "ws:/elsewhere/" [P,L]\nRewriteRule ^/off "ws:/off/" [P,L]\nRewriteRule ^/tls "https:/c:3/" [P,L]\n` +
      'ProxyPass "/ws:/off" !\nProxyPass "/ws:/" "http://c:2/inner/"\nProxyPass "/https:/" "https://c:3/"\n',
  );
  const [a, none, off, tls] = r.routes;
  // The path as written (the empty group keeps mod_rewrite's "nothing appended"), no Upgrade toward it.
  assert.deepEqual(a, { match: '(?:^/a)()', when: { header: { upgrade: 'websocket' } }, upgrade: false, backend: 'http://c:2/inner/b:1/x$1' });
  assert.deepEqual(none, { match: '(?:^/none)()', upgrade: false, backend: 'http://c:2/inner/elsewhere/$1' });
  assert.deepEqual(off, { match: '^/off', respond: { status: 404 } });
  assert.deepEqual(tls, { match: '^/tls', respond: { status: 500 } });
  assert.match(lines(r.notes, 'warning')[0]!, /^4 "ws:\/b:1\/x" has one slash after the scheme: mod_rewrite reads it as the local path "\/ws:\/b:1\/x" and \[P\] sends the request to this server itself.*Likely meant: "ws:\/\/b:1\/x"$/);
  assert.deepEqual(lines(r.notes, 'error'), []);
  composeRoutes(configSchema.parse(r.data));
});

test('one slash: nothing takes the path → 404; a TLS server without SSLProxyEngine → 500; what is not emulated stops start-up', (t) => {
  assert.deepEqual(load(t, `Listen 80\n${UPGRADE}RewriteRule ^/a "ws:/b:1/" [P,L]\nProxyPass /other/ http://c:2/\n`).routes[0], { match: '^/a', when: { header: { upgrade: 'websocket' } }, respond: { status: 404 } });
  const tls = load(t, `Listen 443\n<VirtualHost *:443>\nSSLEngine on\nSSLCertificateFile c.pem\nSSLCertificateKeyFile k.pem\n${UPGRADE}RewriteRule ^/a "wss:/b:1/" [P,L]\nProxyPass / http://c:2/\n</VirtualHost>\n`);
  assert.deepEqual(tls.routes[0], { match: '^/a', when: { header: { upgrade: 'websocket' } }, respond: { status: 500 } });
  const regex = load(t, `Listen 80\n${UPGRADE}RewriteRule ^/a "ws:/b:1/" [P,L]\nProxyPassMatch ^/ws:(.*) http://c:2/$1\n`);
  assert.match(lines(regex.notes, 'error')[0]!, /^4 the request httpd sends to this server itself \("\/ws:\/b:1\/"\) would be proxied by the ProxyPassMatch at \S+:5/);
  const rewrite = load(t, `Listen 80\n${UPGRADE}RewriteRule ^/a "ws:/b:1/" [P,L]\nRewriteRule ^/ws: http://c:2/ [P]\n`);
  assert.match(lines(rewrite.notes, 'error')[0]!, /^4 the request httpd sends to this server itself .* RewriteRule at \S+:5/);
  const captures = load(t, `Listen 80\nRewriteEngine On\nRewriteRule ^/(.*) "ws:/b:1/$1" [P,L]\nProxyPass /x http://c:2/\n`);
  assert.match(lines(captures.notes, 'error')[0]!, /^3 a one-slash target with \$n or %n is not emulated/);
});

test('a ProxyPass URL with one slash stops start-up as httpd does; --fix corrects it', (t) => {
  const r = load(t, 'Listen 80\nProxyPass /a/ "ws:/b:1/"\nProxyPass /x http://c:2/\n');
  assert.deepEqual(lines(r.notes, 'error'), ['2 "ws:/b:1/" has one slash after the scheme: httpd does not start ("ProxyPass URL must be absolute!"). Likely meant: "ws://b:1/"']);
  const fixed = load(t, 'Listen 80\nProxyPass /a/ "ws:/b:1/"\nProxyPass /x http://c:2/\n', true);
  assert.deepEqual(fixed.routes, [{ path: '/a/', backend: 'ws://b:1/' }, { path: '/x', backend: 'http://c:2/' }]);
  assert.deepEqual(lines(fixed.notes, 'error'), []);
});

test('with SSLProxyEngine On the TLS backend is proxied, verified as SSLProxyVerify and SSLProxyCACertificateFile say', (t) => {
  const r = load(t, 'Listen 80\nSSLProxyEngine On\nSSLProxyVerify require\nSSLProxyCACertificateFile /etc/ca.pem\nProxyPass /a/ wss://b:1/\nProxyPass / https://b:1/\n');
  assert.deepEqual(r.routes, [
    { path: '/a/', backend: 'wss://b:1/', tls: { rejectUnauthorized: true, caFile: '/etc/ca.pem' } },
    { path: '/', backend: 'https://b:1/', tls: { rejectUnauthorized: true, caFile: '/etc/ca.pem' } },
  ]);
  const byDefault = load(t, 'Listen 80\nSSLProxyEngine On\nProxyPass / https://b:1/\n');
  assert.deepEqual(byDefault.routes[0]!.tls, { rejectUnauthorized: false }, "httpd's default is SSLProxyVerify none");
});
