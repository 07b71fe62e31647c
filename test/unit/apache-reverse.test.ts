// The Apache reader on ProxyPassReverse, its cookie variants and ServerName: which routes each line
// applies to (httpd merges them per request: main server, virtual host, <Location>), what they become in
// the config, and the lines it refuses or warns about.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { loadApache, type ApacheNote } from '../../src/config/apache/index.js';
import { configSchema } from '../../src/config/schema.js';
import { composeRoutes } from '../../src/server/compose-routes.js';
import { tempFile } from '../helpers/cli.js';

type Route = Record<string, unknown>;

function load(t: TestContext, lines: string[]) {
  const r = loadApache(tempFile(t, 'site.conf', lines.join('\n')));
  return { ...r, routes: r.data.routes as Route[] };
}

const said = (notes: readonly ApacheNote[], level: ApacheNote['level']) => notes.filter((n) => n.level === level).map((n) => `${n.line} ${n.message}`).join('\n');

test('ProxyPassReverse of the main server and of a virtual host, in merge order; ServerName gives serverName', (t) => {
  const r = load(t, [
    'Listen 80',
    'ServerName main.example',
    'ProxyPassReverse / http://shared:1/',
    'ProxyPassReverseCookieDomain shared.internal main.example',
    '<VirtualHost *:80>',
    '  ServerName a.example',
    '  ProxyPass / http://a:1/',
    '</VirtualHost>',
    '<VirtualHost *:80>',
    '  ServerName b.example',
    '  ProxyPass /b/ ws://b:1/',
    '  ProxyPassReverse /b/ http://b:1/',
    '  ProxyPassReverseCookiePath /internal/ /b/',
    '</VirtualHost>',
  ]);
  assert.equal(said(r.notes, 'error'), '');
  assert.equal((r.data.defaults as Route).serverName, 'main.example');
  const b = r.routes.find((x) => x.path === '/b/')!;
  assert.equal(b.serverName, 'b.example');
  assert.deepEqual(b.reverse, {
    urls: [{ url: 'http://shared:1/', path: '/' }, { url: 'http://b:1/', path: '/b/' }],
    cookieDomain: { 'shared.internal': 'main.example' },
    cookiePath: { '/internal/': '/b/' },
  });
  const a = r.routes.find((x) => x.backend === 'http://a:1/')!;
  assert.equal(a.serverName, 'a.example');
  assert.deepEqual(a.reverse, { urls: [{ url: 'http://shared:1/', path: '/' }], cookieDomain: { 'shared.internal': 'main.example' } });
  // The mapped config compiles.
  assert.equal(composeRoutes(configSchema.parse(r.data)).routes.find((x) => x.name.startsWith('/b/'))?.serverName, 'b.example');
});

test('<Location> ProxyPassReverse: the one-argument form, applied to the routes under it, a warning for the others', (t) => {
  const r = load(t, [
    'Listen 80',
    '<Location /x/>',
    '  ProxyPass ws://x:1/',
    '  ProxyPassReverse http://x:1/',
    '</Location>',
    'ProxyPass /x/deep/ http://deep:1/',
    'ProxyPassMatch ^/re/(.*)$ http://re:1/$1',
    'ProxyPass / http://root:1/',
  ]);
  const reverse = Object.fromEntries(r.routes.map((x) => [String(x.path ?? x.match), x.reverse]));
  assert.deepEqual(reverse['/x/'], { urls: [{ url: 'http://x:1/', path: '/x/' }] });
  assert.deepEqual(reverse['/x/deep/'], { urls: [{ url: 'http://x:1/', path: '/x/' }] });
  assert.equal(reverse['^/re/(.*)$'], undefined);
  assert.equal(reverse['/'], undefined);
  // One warning for the line, naming the first route it cannot follow.
  assert.match(said(r.notes, 'warning'), /^4 applies to routes whose path lies in <Location \/x\/>; requests under it that routes\.2 \(\^\/re\/\(\.\*\)\$\) proxies are not rewritten/m);
  assert.equal(r.notes.filter((n) => n.line === 4).length, 1);
});

test('ProxyPassReverse mistakes: interpolate, a missing path, a public URL, a cookie map without its value, an unknown balancer', (t) => {
  const r = load(t, [
    'Listen 80',
    'ProxyPass / balancer://known/',
    '<Proxy balancer://known>',
    '  BalancerMember http://m:1',
    '</Proxy>',
    '<Proxy balancer://reverse-only>',
    '  BalancerMember http://r:1',
    '</Proxy>',
    'ProxyPassReverse / http://b:1/ interpolate',
    'ProxyPassReverse http://b:1/',
    'ProxyPassReverse http://public/ http://b:1/',
    'ProxyPassReverseCookiePath /a/',
    'ProxyPassReverse / balancer://nowhere/',
    'ProxyPassReverse / balancer://reverse-only/',
  ]);
  const errors = said(r.notes, 'error');
  assert.match(errors, /^9 ProxyPassReverse \.\.\. interpolate .* is not supported/m);
  assert.match(errors, /^10 ProxyPassReverse needs a path and a URL outside <Location>/m);
  assert.match(errors, /^11 ProxyPassReverse to "http:\/\/public\/" is not supported: write the public path/m);
  assert.match(errors, /^12 ProxyPassReverseCookiePath needs the backend's value and the public one/m);
  assert.match(said(r.notes, 'warning'), /^13 no <Proxy "balancer:\/\/nowhere"> defines this balancer/m);
  // A balancer named only by ProxyPassReverse is kept: its members are what the rule maps back.
  assert.deepEqual(Object.keys(r.data.balancers as Route), ['known', 'reverse-only']);
  assert.deepEqual(r.routes[0]!.reverse, { urls: [{ url: 'balancer://reverse-only/', path: '/' }] });
});
