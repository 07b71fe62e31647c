// The Apache mapping of LimitRequest*, RewriteRule targets with %n, and stickysession's URL parameter.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApache, type ApacheNote } from '../../src/config/apache/index.js';

function load(t: TestContext, text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'wspass-apache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'site.conf'), text);
  return loadApache(join(dir, 'site.conf'));
}

const said = (notes: readonly ApacheNote[], level: ApacheNote['level']) => notes.filter((n) => n.level === level).map((n) => `${n.line} ${n.message}`);

test('LimitRequest*: mapped to the three keys, maxHeaderBytes to what they allow together; bad values stop start-up', (t) => {
  const r = load(t, 'Listen 80\nLimitRequestLine 4000\nLimitRequestFields 50\nProxyPass / ws://a:1/\n');
  assert.deepEqual(said(r.notes, 'error'), []);
  assert.equal(r.data.maxRequestLineBytes, 4000);
  assert.equal(r.data.maxHeaderFields, 50);
  assert.equal(r.data.maxHeaderFieldBytes, undefined, "httpd's default is wspass's");
  assert.equal(r.data.maxHeaderBytes, 4000 + 50 * 8190);
  assert.equal(load(t, 'Listen 80\nProxyPass / ws://a:1/\n').data.maxHeaderBytes, 8190 + 100 * 8190);
  const unlimited = load(t, 'Listen 80\nLimitRequestFields 0\nProxyPass / ws://a:1/\n');
  assert.equal(unlimited.data.maxHeaderBytes, 1024 * 1024);
  assert.match(said(unlimited.notes, 'warning').join('\n'), /^2 these limits allow a request head of any size/);
  assert.match(said(load(t, 'Listen 80\nLimitRequestLine lots\nProxyPass / ws://a:1/\n').notes, 'error').join('\n'), /^2 LimitRequestLine expects a number/);
  const inVhost = load(t, 'Listen 80\n<VirtualHost *:80>\nLimitRequestFieldSize 9000\nProxyPass / ws://a:1/\n</VirtualHost>\n');
  assert.equal(inVhost.data.maxHeaderFieldBytes, 9000);
  assert.match(said(inVhost.notes, 'warning').join('\n'), /^3 LimitRequestFieldSize in a virtual host applies to every request/);
});

test('RewriteRule %n: kept in the target; an [OR] group after a capturing condition, %n in the host, or %1a stop start-up', (t) => {
  const ok = load(t, 'Listen 80\nRewriteEngine On\nRewriteCond %{HTTP:X-A} (a) [NC,OR]\nRewriteCond %{HTTP:X-B} (b) [NC]\nRewriteCond %{HTTP_HOST} ^(\\w+) [NC]\nRewriteRule ^/(.*) ws://b:1/%1/$1 [P]\n');
  assert.deepEqual(said(ok.notes, 'error'), []);
  assert.deepEqual((ok.data.routes as Record<string, unknown>[])[0], {
    match: '^/(.*)',
    when: { header: { host: '^(\\w+)' }, any: [{ header: { 'x-a': '(a)' } }, { header: { 'x-b': '(b)' } }] },
    backend: 'ws://b:1/%1/$1',
  });
  const before = load(t, 'Listen 80\nRewriteEngine On\nRewriteCond %{HTTP_HOST} ^(\\w+) [NC]\nRewriteCond %{HTTP:X-A} (a) [NC,OR]\nRewriteCond %{HTTP:X-B} (b) [NC]\nRewriteRule ^/(.*) ws://b:1/%1/$1 [P]\n');
  assert.match(said(before.notes, 'error').join('\n'), /^6 with %n, a condition before the \[OR\] group .* put the \[OR\] conditions first/m);
  const host = load(t, 'Listen 80\nRewriteEngine On\nRewriteCond %{HTTP_HOST} ^(\\w+) [NC]\nRewriteRule ^/(.*) ws://%1.b/$1 [P]\n');
  assert.match(said(host.notes, 'error').join('\n'), /^4 a %n in the host/m);
  const hex = load(t, 'Listen 80\nRewriteEngine On\nRewriteCond %{HTTP_HOST} ^(\\w+) [NC]\nRewriteRule ^/(.*) ws://b/%1a [P]\n');
  assert.match(said(hex.notes, 'error').join('\n'), /^4 a %n followed by a hex digit/m);
});

test('stickysession: the URL parameter is the cookie name unless COOKIE|param says otherwise', (t) => {
  const conf = (sticky: string) =>
    `Listen 80\n<Proxy "balancer://c">\n  BalancerMember ws://a:1 route=a\n  ProxySet stickysession=${sticky}\n</Proxy>\nProxyPass / balancer://c/\n`;
  const plain = load(t, conf('ROUTEID'));
  assert.deepEqual(said(plain.notes, 'warning'), []);
  assert.deepEqual((plain.data.balancers as Record<string, Record<string, unknown>>).c!.sticky, { cookie: 'ROUTEID' });
  const split = load(t, conf('JSESSIONID|jsessionid'));
  assert.deepEqual((split.data.balancers as Record<string, Record<string, unknown>>).c!.sticky, { cookie: 'JSESSIONID', param: 'jsessionid' });
  const strict = load(t, conf('ROUTEID nofailover=On'));
  assert.deepEqual((strict.data.balancers as Record<string, Record<string, unknown>>).c!.sticky, { cookie: 'ROUTEID', noFailover: true });
  assert.deepEqual(said(strict.notes, 'error'), []);
  const alone = load(t, conf('ROUTEID').replace('stickysession=ROUTEID', 'nofailover=On'));
  assert.deepEqual(said(alone.notes, 'ignored'), ['4 nofailover=On without stickysession: no request names a member']);
});
