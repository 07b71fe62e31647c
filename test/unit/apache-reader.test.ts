// The Apache httpd config reader and mapper (src/config/apache/): syntax, Include/Define/<IfModule>,
// the mapping of each supported directive, and the classification of the rest (ignored with a note,
// or start-up stopped with file:line).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isApacheConfig, loadApache, type ApacheNote } from '../../src/config/apache/index.js';
import { apacheToYaml } from '../../src/config/apache/emit-yaml.js';
import { logicalLines, splitWords } from '../../src/config/apache/tokenize.js';
import { applyListenMap, parseListenMap } from '../../src/config/listen-map.js';
import { configSchema } from '../../src/config/schema.js';
import { composeRoutes } from '../../src/server/compose-routes.js';

function folder(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wspass-apache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function load(t: TestContext, text: string, more: Record<string, string> = {}, env: Record<string, string> = {}) {
  const dir = folder(t, { 'site.conf': text, ...more });
  return loadApache(join(dir, 'site.conf'), { env });
}

const errors = (notes: readonly ApacheNote[]) => notes.filter((n) => n.level === 'error');
const at = (notes: readonly ApacheNote[], level: ApacheNote['level']) => notes.filter((n) => n.level === level).map((n) => `${n.line} ${n.message}`);
type Route = Record<string, unknown>;
const routesOf = (r: ReturnType<typeof loadApache>) => r.data.routes as Route[];

test('logical lines: comments, blank lines, backslash continuation keeps the first line number', () => {
  assert.deepEqual(logicalLines('# c\n\n  Listen 80\nProxyPass /a \\\n   ws://b/\n'), [
    { line: 3, text: 'Listen 80' },
    { line: 4, text: 'ProxyPass /a    ws://b/' },
  ]);
});

test('words: double and single quotes group, an escaped quote stays, an open quote is an error', () => {
  assert.deepEqual(splitWords(`"/a b" 'c d' e "x\\"y"`), ['/a b', 'c d', 'e', 'x"y']);
  assert.equal(typeof splitWords('"open'), 'string');
});

test('sniffing: .conf always, .yaml/.yml/.json never, otherwise by the first directive', () => {
  assert.equal(isApacheConfig('a.conf', 'listen: ":1"'), true);
  assert.equal(isApacheConfig('a.yaml', 'Listen 80'), false);
  assert.equal(isApacheConfig('a.json', '<VirtualHost *:80>'), false);
  assert.equal(isApacheConfig('site', '# x\nListen 80\n'), true);
  assert.equal(isApacheConfig('site', '<VirtualHost *:80>\n'), true);
  assert.equal(isApacheConfig('site', 'listen: ":80"\n'), false);
});

test('Include with a glob relative to ServerRoot, IncludeOptional of nothing, a missing Include is an error', (t) => {
  const r = load(t, 'ServerRoot sub\nListen 80\nInclude conf.d/*.conf\nIncludeOptional none/*.conf\n', {
    'sub/conf.d/b.conf': 'ProxyPass /b ws://b:1/\n',
    'sub/conf.d/a.conf': 'ProxyPass /a ws://a:1/\n',
    'sub/conf.d/skip.txt': 'Bogus\n',
  });
  assert.deepEqual(errors(r.notes), []);
  assert.deepEqual(routesOf(r).map((x) => x.path), ['/a', '/b'], 'sorted, as httpd reads them');
  const missing = load(t, 'Listen 80\nInclude nothing.conf\nProxyPass / ws://b:1/\n');
  assert.match(at(missing.notes, 'error')[0] ?? '', /^2 no such file/);
});

test('Define and ${VAR}: Define wins over the environment; an undefined one warns (AH00111) and stays', (t) => {
  const r = load(t, 'Define HOST b.example:1\nListen 80\nProxyPass /a ws://${HOST}/\nProxyPass /b ws://${PORTLESS}/\nProxyPass /c ws://${FROM_ENV}/\n', {}, { FROM_ENV: 'c:2', HOST: 'env' });
  assert.deepEqual(routesOf(r).map((x) => x.backend), ['ws://b.example:1/', 'ws://${PORTLESS}/', 'ws://c:2/']);
  assert.match(at(r.notes, 'warning').join('\n'), /^4 AH00111: Config variable \$\{PORTLESS\} is not defined/m);
});

test('<IfModule> is true for built-in modules and those loaded before it; <IfDefine> reads Define', (t) => {
  const r = load(
    t,
    [
      'Listen 80',
      '<IfModule mod_proxy.c>',
      'ProxyPass /early ws://b:1/',
      '</IfModule>',
      'LoadModule proxy_module modules/mod_proxy.so',
      '<IfModule proxy_module>',
      'ProxyPass /late ws://b:1/',
      '</IfModule>',
      '<IfModule !log_config_module>',
      'ProxyPass /never ws://b:1/',
      '</IfModule>',
      'Define X',
      '<IfDefine X>',
      'ProxyPass /defined ws://b:1/',
      '</IfDefine>',
    ].join('\n'),
  );
  assert.deepEqual(routesOf(r).map((x) => x.path), ['/late', '/defined']);
  assert.match(at(r.notes, 'ignored').join('\n'), /^5 wspass has the proxy/m, 'LoadModule is listed as ignored');
});

test('classification: access control, header rewriting and ProxyRequests On stop start-up with their line', (t) => {
  const r = load(t, 'Listen 80\n<Location /x>\n  Require all granted\n</Location>\nHeader set X 1\nRequestHeader set Y 2\nProxyRequests On\nProxyPass / ws://b:1/\n');
  assert.deepEqual(
    errors(r.notes).map((n) => n.line),
    [3, 5, 6, 7],
  );
  assert.match(errors(r.notes)[0]!.message, /Require is not supported: access control/);
  assert.match(errors(r.notes)[3]!.message, /forward proxy/);
});

test('classification: logging, MPM and DocumentRoot are ignored with a note; an unknown directive stops', (t) => {
  const r = load(t, 'Listen 80\nErrorLog /var/log/x\nMaxRequestWorkers 10\nDocumentRoot /srv\nFrobnicate on\nProxyPass / ws://b:1/\n');
  assert.deepEqual(at(r.notes, 'ignored').map((l) => l.split(' ')[0]), ['2', '3', '4']);
  assert.match(at(r.notes, 'error').join('\n'), /^5 unknown directive Frobnicate/m);
});

test('an unsupported change of proxy behaviour stops start-up and says what to do', (t) => {
  const r = load(t, 'Listen 80\nRewriteEngine On\nRewriteCond %{REMOTE_ADDR} ^10\\.\nRewriteRule ^/(.*) ws://b:1/$1 [P]\nProxyPass / fcgi://b:1/\n');
  const e = at(r.notes, 'error').join('\n');
  assert.match(e, /^3 RewriteCond on "%\{REMOTE_ADDR\}" is not supported yet/m);
  assert.match(e, /^5 backend "fcgi:\/\/b:1\/" is not supported/m);
});

test('timeouts: idle is the larger of Timeout and ProxyTimeout, timeout= and connectiontimeout= per rule', (t) => {
  const r = load(t, 'Listen 80\nTimeout 10\nProxyTimeout 30\nRequestReadTimeout header=5-10,MinRate=500\nProxyPass /a ws://a:1/\nProxyPass /b ws://b:1/ timeout=90 connectiontimeout=500ms\n');
  assert.deepEqual(r.data.defaults, { idleTimeoutMs: 30_000, connectTimeoutMs: 30_000, handshakeTimeoutMs: 30_000, preserveHost: false, forwardedHeaders: true, async: false });
  assert.equal(r.data.headTimeoutMs, 5_000);
  const b = routesOf(r)[1]!;
  assert.equal(b.idleTimeoutMs, 90_000);
  assert.equal(b.handshakeTimeoutMs, 90_000);
  assert.equal(b.connectTimeoutMs, 500);
});

test('httpd defaults with nothing set: 60 s for connect, handshake and idle', (t) => {
  const r = load(t, 'Listen 80\nProxyPass / ws://b:1/\n');
  assert.deepEqual(r.data.defaults, { idleTimeoutMs: 60_000, connectTimeoutMs: 60_000, handshakeTimeoutMs: 60_000, preserveHost: false, forwardedHeaders: true, async: false });
});

test('worker parameters: upgrade maps, pooling ones are noted, an unknown one stops', (t) => {
  const r = load(t, 'Listen 80\nProxyPreserveHost On\nProxyAddHeaders Off\nProxyPass /a http://a:1/ upgrade=websocket disablereuse=On flushpackets=on\nProxyPass /b ws://b:1/ bogus=1\n');
  const a = routesOf(r)[0]!;
  assert.equal(a.upgrade, 'websocket');
  assert.equal((r.data.defaults as Route).preserveHost, true);
  assert.equal((r.data.defaults as Route).forwardedHeaders, false);
  assert.deepEqual(at(r.notes, 'ignored').map((l) => l.split(' ')[0]), ['4', '4']);
  assert.match(at(r.notes, 'error').join('\n'), /^5 ProxyPass parameter "bogus=1"/m);
});

test('RewriteRule [P] goes before every ProxyPass; <Location> ProxyPass before the server list; "!" excludes', (t) => {
  const r = load(
    t,
    'Listen 80\nProxyPass /skip !\nProxyPass / http://h:1/\n<Location /loc>\n  ProxyPass ws://l:1/\n</Location>\nRewriteEngine On\nRewriteCond %{HTTP:Upgrade} =websocket [NC]\nRewriteRule ^/rw/(.*)$ ws://r:1/$1 [P,L,NC]\n',
  );
  assert.deepEqual(errors(r.notes), []);
  const routes = routesOf(r);
  assert.deepEqual(routes[0], { match: '^/[Rr][Ww]/(.*)$', when: { header: { upgrade: '^websocket$' } }, backend: 'ws://r:1/$1' });
  assert.deepEqual(routes.slice(1).map((x) => x.path), ['/loc', '/skip', '/']);
  assert.equal(routes[2]!.exclude, true);
});

test('balancer: members with loadfactor, route and status; ProxySet lbmethod and stickysession', (t) => {
  const r = load(
    t,
    'Listen 80\n<Proxy "balancer://c">\n  BalancerMember ws://a:1 loadfactor=2 route=a\n  BalancerMember ws://b:1 status=+H\n  ProxySet lbmethod=bybusyness stickysession=ROUTEID\n</Proxy>\nProxyPass / balancer://c/\n',
  );
  assert.deepEqual(errors(r.notes), []);
  assert.deepEqual(r.data.balancers, {
    c: {
      strategy: 'bybusyness',
      sticky: { cookie: 'ROUTEID' },
      members: [{ url: 'ws://a:1', weight: 2, route: 'a' }, { url: 'ws://b:1', state: 'standby' }],
      maxAttempts: 2,
    },
  });
});

test('virtual hosts: TLS listener from SSLEngine; name-based hosts on one port, the first is the default', (t) => {
  const r = load(
    t,
    [
      'Listen 443',
      '<VirtualHost *:443>',
      '  ServerName a.example',
      '  SSLEngine on',
      '  SSLCertificateFile a.pem',
      '  SSLCertificateKeyFile a.key',
      '  ProxyPass / ws://a:1/',
      '</VirtualHost>',
      '<VirtualHost *:443>',
      '  ServerName b.example:443',
      '  ServerAlias *.b.example',
      '  SSLEngine on',
      '  SSLCertificateFile /abs/b.pem',
      '  SSLCertificateKeyFile /abs/b.key',
      '  ProxyPass /b ws://b:1/',
      '</VirtualHost>',
    ].join('\n'),
  );
  assert.deepEqual(errors(r.notes), []);
  const listen = r.data.listen as Route[];
  assert.equal(listen.length, 1);
  const tls = listen[0]!.tls as Route;
  assert.match(String(tls.certFile), /a\.pem$/);
  assert.deepEqual(tls.names, ['a.example']);
  assert.deepEqual(tls.hosts, [{ names: ['b.example', '*.b.example'], certFile: '/abs/b.pem', keyFile: '/abs/b.key' }]);
  assert.deepEqual(
    routesOf(r).map((x) => [x.host, x.path, x.exclude ?? x.backend]),
    [
      [['b.example', '*.b.example'], '/b', 'ws://b:1/'],
      [['b.example', '*.b.example'], '/', true],
      [undefined, '/', 'ws://a:1/'],
    ],
  );
});

test('TLS virtual hosts inherit SSL settings from the main server; a further one without ServerName is noted', (t) => {
  const r = load(
    t,
    [
      'Listen 443',
      'SSLEngine on',
      'SSLCertificateChainFile /abs/chain.pem',
      '<VirtualHost *:443>',
      '  ServerName a.example',
      '  SSLCertificateFile /abs/a.pem',
      '  SSLCertificateKeyFile /abs/a.key',
      '  ProxyPass / ws://a:1/',
      '</VirtualHost>',
      '<VirtualHost *:443>',
      '  ServerName b.example',
      '  SSLCertificateFile /abs/b.pem',
      '  SSLCertificateKeyFile /abs/b.key',
      '  SSLCertificateChainFile /abs/b-chain.pem',
      '  ProxyPass / ws://b:1/',
      '</VirtualHost>',
      '<VirtualHost *:443>',
      '  SSLCertificateFile /abs/c.pem',
      '  SSLCertificateKeyFile /abs/c.key',
      '</VirtualHost>',
    ].join('\n'),
  );
  const tls = (r.data.listen as Route[])[0]!.tls as Route;
  assert.deepEqual(tls, {
    names: ['a.example'],
    certFile: '/abs/a.pem',
    keyFile: '/abs/a.key',
    chainFile: '/abs/chain.pem',
    hosts: [{ names: ['b.example'], certFile: '/abs/b.pem', keyFile: '/abs/b.key', chainFile: '/abs/b-chain.pem' }],
  });
  assert.ok(at(r.notes, 'warning').some((n) => /^17 a TLS virtual host without ServerName is never chosen by SNI/.test(n)), at(r.notes, 'warning').join('\n'));
});

test('virtual hosts on different ports: each port\'s routes are scoped to its listener, named by its Listen', (t) => {
  const r = load(t, 'Listen 80\nListen 81\n<VirtualHost *:80>\nProxyPass / ws://a:1/\n</VirtualHost>\n<VirtualHost *:81>\nProxyPass / ws://b:1/\n</VirtualHost>\n');
  assert.deepEqual(errors(r.notes), []);
  assert.deepEqual(r.data.listen, [{ address: ':80', name: '80' }, { address: ':81', name: '81' }]);
  assert.deepEqual(routesOf(r).map((x) => [x.listener, x.backend]), [['80', 'ws://a:1/'], ['81', 'ws://b:1/']]);
});

test('a plain virtual host on :80 and TLS ones on :443: only the :443 listener gets TLS, each port its own routes', (t) => {
  const r = load(
    t,
    [
      'Listen 80',
      'Listen 443',
      '<VirtualHost *:80>',
      '  ServerName a.example',
      '  ProxyPass / ws://a:1/',
      '</VirtualHost>',
      '<VirtualHost *:443>',
      '  ServerName b.example',
      '  SSLEngine on',
      '  SSLCertificateFile /abs/b.pem',
      '  SSLCertificateKeyFile /abs/b.key',
      '  ProxyPass / ws://b:1/',
      '</VirtualHost>',
      '<VirtualHost *:443>',
      '  ServerName c.example',
      '  SSLEngine on',
      '  SSLCertificateFile /abs/c.pem',
      '  SSLCertificateKeyFile /abs/c.key',
      '  ProxyPass / ws://c:1/',
      '</VirtualHost>',
    ].join('\n'),
  );
  assert.deepEqual(errors(r.notes), []);
  assert.deepEqual(r.data.listen, [
    { address: ':80', name: '80' },
    {
      address: ':443',
      name: '443',
      tls: {
        names: ['b.example'],
        certFile: '/abs/b.pem',
        keyFile: '/abs/b.key',
        hosts: [{ names: ['c.example'], certFile: '/abs/c.pem', keyFile: '/abs/c.key' }],
      },
    },
  ]);
  assert.deepEqual(
    routesOf(r).map((x) => [x.listener, x.host, x.exclude ?? x.backend]),
    [
      ['80', undefined, 'ws://a:1/'],
      ['443', 'c.example', 'ws://c:1/'],
      ['443', 'c.example', true],
      ['443', undefined, 'ws://b:1/'],
    ],
  );
});

test('unbalanced sections are errors with their line', (t) => {
  const r = load(t, 'Listen 80\n<VirtualHost *:80>\nProxyPass / ws://a:1/\n</Location>\n');
  assert.deepEqual(errors(r.notes).map((n) => n.line), [2, 4]);
});

test('--listen-map: by port or by address; malformed maps are refused', () => {
  const map = parseListenMap('443=127.0.0.1:0,0.0.0.0:80=127.0.0.1:8080');
  assert.ok(typeof map !== 'string');
  assert.deepEqual(applyListenMap({ listen: [{ address: ':443', tls: {} }, '0.0.0.0:80', ':81'] }, map), {
    listen: [{ address: '127.0.0.1:0', tls: {} }, '127.0.0.1:8080', ':81'],
  });
  assert.equal(typeof parseListenMap('443'), 'string');
});

test('ProxyWebsocketFallbackToProxyHttp Off: a ws:// rule is skipped for requests without Upgrade (the veto only)', (t) => {
  const r = load(t, 'Listen 80\nProxyWebsocketFallbackToProxyHttp Off\nProxyPass / ws://b:1/\nProxyPass / http://h:1/\n');
  assert.deepEqual(routesOf(r).map((x) => x.when), [{ header: { upgrade: '' } }, undefined]);
});

test('RewriteCond %{HTTP_HOST} is a condition on the Host header; problems of the whole file name the main file', (t) => {
  const r = load(t, 'Listen 80\nRewriteEngine On\nRewriteCond %{HTTP_HOST} ^ws\\. [NC]\nRewriteRule ^/(.*) ws://b:1/$1 [P]\n');
  assert.deepEqual(routesOf(r)[0]!.when, { header: { host: '^ws\\.' } });
  const none = load(t, 'ErrorLog x\n');
  assert.ok(errors(none.notes).every((n) => n.file.endsWith('site.conf')), JSON.stringify(none.notes));
});

test('a line with a line separator or a lone CR inside is a directive like any other, never a crash', (t) => {
  const r = load(t, 'Listen 80\nFoo\u2028bar\rbaz\n<Bar\u2028x>\n</Bar>\nProxyPass / ws://b:1/\n');
  assert.deepEqual(errors(r.notes).map((n) => n.line), [2, 3]);
});

test('RewriteCond [OR]: a chain of alternatives becomes when.any, the rest stays in when.header', (t) => {
  const r = load(
    t,
    'Listen 80\nRewriteEngine On\nRewriteCond %{HTTP:Upgrade} =websocket [NC,OR]\nRewriteCond %{HTTP:Upgrade} =mqtt [NC]\nRewriteCond %{HTTP:Connection} upgrade [NC]\nRewriteRule ^/(.*) ws://b:1/$1 [P]\n',
  );
  assert.deepEqual(errors(r.notes), []);
  assert.deepEqual(routesOf(r)[0]!.when, { header: { connection: 'upgrade' }, any: [{ header: { upgrade: '^websocket$' } }, { header: { upgrade: '^mqtt$' } }] });
  const two = load(t, 'Listen 80\nRewriteEngine On\nRewriteCond %{HTTP:A} a [OR]\nRewriteCond %{HTTP:B} b\nRewriteCond %{HTTP:C} c [OR]\nRewriteCond %{HTTP:D} d\nRewriteRule ^/(.*) ws://b:1/$1 [P]\n');
  assert.match(at(two.notes, 'error').join('\n'), /^5 more than one \[OR\] group/m);
});

test('a RewriteRule [P] target without $n is used as written: the request path is not appended', (t) => {
  const r = load(t, 'Listen 80\nRewriteEngine On\nRewriteRule .* "ws://b:1/x" [P,L]\nRewriteRule ^/q "ws://c:1?a=1" [P]\n');
  assert.deepEqual(routesOf(r).map((x) => [x.match, x.backend]), [
    ['(?:.*)()', 'ws://b:1/x$1'],
    ['(?:^/q)()', 'ws://c:1/$1?a=1'],
  ]);
  const table = composeRoutes(configSchema.parse(r.data));
  const m = table.match({ url: '/deep/path?q=1', host: undefined, header: () => undefined });
  assert.ok(m !== null && m !== 'bad-request' && !('respond' in m));
  assert.equal(m.backendPath, '/x?q=1');
});

test('an imported config appends to X-Forwarded-For as httpd does, and its YAML says so', (t) => {
  const r = load(t, 'Listen 80\nProxyPass / ws://b:1/\n');
  assert.deepEqual(r.data.forwardedFor, { mode: 'append' });
  assert.equal(configSchema.parse(r.data).forwardedFor.mode, 'append');
  assert.match(apacheToYaml('site.conf', r), /# X-Forwarded-For is appended to what the client sent, as httpd does \(mode: append\)[^\n]*\n.*\nforwardedFor:\n {2}mode: append\n/);
});
