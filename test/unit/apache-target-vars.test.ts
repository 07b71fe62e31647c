// Request variables in RewriteRule [P] rules. %{HTTP_HOST} in the target: the Host header, put in the
// backend path or query per request (as a condition that every request with a host meets, whose group is
// %1); %{HTTP:Name} likewise for any request header. RewriteCond %{REQUEST_URI}: a lookahead on the path the rule's pattern matches. Where wspass cannot
// follow them start-up stops with the line.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApache } from '../../src/config/apache/index.js';
import { configSchema } from '../../src/config/schema.js';
import { composeRoutes } from '../../src/server/compose-routes.js';

function load(t: TestContext, text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'wspass-vars-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'site.conf'), `Listen 80\nRewriteEngine On\n${text}ProxyPass / http://c:2/\n`);
  return loadApache(join(dir, 'site.conf'));
}

test('%{HTTP_HOST} in the target path and query is the request Host, each request its own', (t) => {
  const r = load(t, 'RewriteCond %{HTTP:Upgrade} websocket [NC]\nRewriteRule ^/(.*) "ws://b:1/%{HTTP_HOST}/$1?h=%{HTTP:Host}" [P,L]\n');
  assert.deepEqual(r.notes.filter((n) => n.level === 'error'), []);
  assert.deepEqual((r.data.routes as unknown[])[0], { match: '^/(.*)', when: { header: { upgrade: 'websocket', host: '^(.*)$' } }, backend: 'ws://b:1/%1/$1?h=%1' });
  const table = composeRoutes(configSchema.parse(r.data));
  const facts = (host: string) => {
    const headers: Record<string, string> = { host, upgrade: 'websocket' };
    return { url: '/room?x=1', host, header: (name: string) => headers[name] };
  };
  for (const host of ['chat.example', 'other.example:8080']) {
    const m = table.match(facts(host));
    assert.ok(m !== null && m !== 'bad-request' && !('respond' in m));
    assert.equal(m.route.index, 0);
    assert.equal(m.backendPath, `/${host}/room?h=${host}&x=1`);
  }
});

test('%{HTTP_HOST} where a route cannot follow it stops start-up with the line', (t) => {
  const errors = (rule: string) => load(t, rule).notes.filter((n) => n.level === 'error').map((n) => `${n.line} ${n.message}`);
  assert.match(errors('RewriteRule ^/x "ws://%{HTTP_HOST}/" [P]\n')[0]!, /^3 %\{HTTP_HOST\} in the host of the RewriteRule target is not supported/);
  assert.match(errors('RewriteRule ^/x "ws://b/%{REMOTE_ADDR}/" [P]\n')[0]!, /^3 %\{REMOTE_ADDR\} in the RewriteRule target is not supported yet: only request headers/);
  assert.match(errors('RewriteCond %{HTTP:X} (a)\nRewriteRule ^/x "ws://b/%1/%{HTTP_HOST}" [P]\n')[0]!, /^4 %\{HTTP_HOST\} and %n in one RewriteRule target/);
  assert.match(errors('RewriteCond %{HTTP_HOST} ^a\nRewriteRule ^/x "ws://b/%{HTTP_HOST}" [P]\n')[0]!, /^4 %\{HTTP_HOST\} in the target of a rule with a RewriteCond on the host/);
});

test('RewriteCond %{REQUEST_URI}: the path must (or, with "!", must not) match, [NC] folds it; $n keep their numbers', (t) => {
  const r = load(t, 'RewriteCond %{REQUEST_URI} ^/socket [NC]\nRewriteCond %{REQUEST_URI} !=/socket/admin\nRewriteCond %{HTTP:Upgrade} websocket [NC]\nRewriteRule /(.*) "ws://b:1/$1" [P,L]\n');
  assert.deepEqual(r.notes.filter((n) => n.level === 'error'), []);
  const table = composeRoutes(configSchema.parse(r.data));
  const where = (url: string) => {
    const m = table.match({ url, host: 'h', header: (name) => (name === 'upgrade' ? 'websocket' : undefined) });
    assert.ok(m !== null && m !== 'bad-request' && !('respond' in m));
    return [m.route.index, m.backendPath];
  };
  assert.deepEqual(where('/socket.io/?EIO=4'), [0, '/socket.io/?EIO=4']);
  assert.deepEqual(where('/SOCKET/x'), [0, '/SOCKET/x']);
  assert.deepEqual(where('/socket/admin'), [1, '/socket/admin'], 'the negated condition holds no more: the ProxyPass serves it');
  assert.deepEqual(where('/other'), [1, '/other']);
});

test('RewriteCond %{REQUEST_URI} where a lookahead cannot follow it stops start-up with the line', (t) => {
  const errors = (rule: string) => load(t, rule).notes.filter((n) => n.level === 'error').map((n) => `${n.line} ${n.message}`);
  assert.match(errors('RewriteCond %{REQUEST_URI} ^/(a|b)\nRewriteRule ^/(.*) "ws://b/$1" [P]\n')[0]!, /^3 groups in a %\{REQUEST_URI\} condition would renumber/);
  assert.match(errors('RewriteCond %{REQUEST_URI} ^/a [OR]\nRewriteCond %{HTTP:X} y\nRewriteRule ^/ "ws://b/" [P]\n')[0]!, /^3 a %\{REQUEST_URI\} condition in an \[OR\] chain/);
  assert.match(errors('RewriteCond %{REQUEST_URI} ^/a\nRewriteCond %{HTTP:X} (y)\nRewriteRule ^/ "ws://b/%1" [P]\n')[0]!, /^3 %n with a %\{REQUEST_URI\} condition/);
});

test('%{HTTP:Name} in the target path and query is that request header; without it the rule does not apply', (t) => {
  const r = load(t, 'RewriteCond %{HTTP:Upgrade} websocket [NC]\nRewriteRule ^/(.*) "ws://b:1/%{HTTP:X-Tenant}/$1?t=%{http:x-tenant}" [P,L]\n');
  assert.deepEqual(r.notes.filter((n) => n.level === 'error'), []);
  assert.deepEqual((r.data.routes as unknown[])[0], { match: '^/(.*)', when: { header: { upgrade: 'websocket', 'x-tenant': '^(.*)$' } }, backend: 'ws://b:1/%1/$1?t=%1' });
  const table = composeRoutes(configSchema.parse(r.data));
  const where = (tenant: string | undefined) => {
    const headers: Record<string, string | undefined> = { host: 'h', upgrade: 'websocket', 'x-tenant': tenant };
    const m = table.match({ url: '/room', host: 'h', header: (name: string) => headers[name] });
    assert.ok(m !== null && m !== 'bad-request' && !('respond' in m));
    return [m.route.index, m.backendPath];
  };
  assert.deepEqual(where('acme'), [0, '/acme/room?t=acme']);
  assert.deepEqual(where(''), [0, '//room?t='], 'an empty header is the empty string, as in httpd');
  assert.deepEqual(where(undefined), [1, '/room'], 'without the header the rule does not apply: the ProxyPass serves it');
});

test('%{HTTP:Name} in the target after an [OR] group: its group is still %1', (t) => {
  const r = load(t, 'RewriteCond %{HTTP:A} (x) [OR]\nRewriteCond %{HTTP:B} (y)\nRewriteRule ^/ "ws://b:1/%{HTTP:C}" [P,L]\n');
  assert.deepEqual(r.notes.filter((n) => n.level === 'error'), []);
  const table = composeRoutes(configSchema.parse(r.data));
  const headers: Record<string, string> = { host: 'h', a: 'x', c: 'room7' };
  const m = table.match({ url: '/', host: 'h', header: (name: string) => headers[name] });
  assert.ok(m !== null && m !== 'bad-request' && !('respond' in m));
  assert.deepEqual([m.route.index, m.backendPath], [0, '/room7']);
});

test('%{HTTP:Name} where a route cannot follow it stops start-up with the line', (t) => {
  const errors = (rule: string) => load(t, rule).notes.filter((n) => n.level === 'error').map((n) => `${n.line} ${n.message}`);
  assert.match(errors('RewriteRule ^/x "ws://b-%{HTTP:X-Id}/" [P]\n')[0]!, /^3 %\{HTTP:X-Id\} in the host of the RewriteRule target is not supported/);
  assert.match(errors('RewriteRule ^/x "ws://b/%{HTTP:A}/%{HTTP:B}" [P]\n')[0]!, /^3 %\{HTTP:a\} and %\{HTTP:b\} in one RewriteRule target are not supported yet: wspass's %n are the groups of one condition/);
  assert.match(errors('RewriteRule ^/x "ws://b/%{HTTP_HOST}/%{HTTP:X}" [P]\n')[0]!, /^3 %\{HTTP:host\} and %\{HTTP:x\} in one RewriteRule target/);
  assert.match(errors('RewriteRule ^/x "ws://b/%{HTTP:X_Y}" [P]\n')[0]!, /^3 %\{HTTP:X_Y\} in the RewriteRule target is not supported yet/);
  assert.match(errors('RewriteCond %{HTTP:X} (a)\nRewriteRule ^/x "ws://b/%1/%{HTTP:Y}" [P]\n')[0]!, /^4 %\{HTTP:Y\} and %n in one RewriteRule target/);
  assert.match(errors('RewriteCond %{HTTP:X-Id} ^a\nRewriteRule ^/x "ws://b/%{HTTP:X-Id}" [P]\n')[0]!, /^4 %\{HTTP:X-Id\} in the target of a rule with a RewriteCond on x-id/);
});
