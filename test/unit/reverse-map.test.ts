// ProxyPassReverse rules: how `reverse` compiles (route-relative, literal Apache pairs, balancer members)
// and how answers' URL headers and Set-Cookie attributes are mapped back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { publicOrigin, reverseCookie, reverseResponseHeaders, reverseUrl } from '../../src/http/reverse-headers.js';
import type { ReverseMap } from '../../src/routing/reverse-map.js';
import { composeRoutes } from '../../src/server/compose-routes.js';

const ORIGIN = 'https://proxy.example';

function mapOf(route: ConfigInput['routes'][number], balancers?: ConfigInput['balancers']): ReverseMap {
  const table = composeRoutes(configSchema.parse({ listen: ':0', routes: [route], ...(balancers !== undefined && { balancers }) }));
  const map = table.routes[0]!.reverse;
  assert.ok(map !== undefined, 'the route has a reverse map');
  return map;
}

const rev = (map: ReverseMap, value: string): string | undefined => reverseUrl(value, map.rules, ORIGIN);

test('reverse: true maps the backend URL back to the route path at segment boundaries', () => {
  const map = mapOf({ path: '/app', backend: 'http://b:8080/', reverse: true });
  assert.equal(rev(map, 'http://b:8080/login?next=1'), `${ORIGIN}/app/login?next=1`);
  assert.equal(rev(map, 'http://b:8080/'), `${ORIGIN}/app/`);
  assert.equal(rev(map, 'HTTP://B:8080/x'), `${ORIGIN}/app/x`, 'scheme and host in any case');
  assert.equal(rev(map, 'http://b:8080/X'), `${ORIGIN}/app/X`);
  assert.equal(rev(map, 'http://b:80801/x'), undefined, 'another port is another backend');
  assert.equal(rev(map, 'http://b.evil:8080/x'), undefined);
  assert.equal(rev(map, '/relative'), undefined);

  const sub = mapOf({ path: '/pub/', backend: 'http://b/app/', reverse: true });
  assert.equal(rev(sub, 'http://b/app/x/y'), `${ORIGIN}/pub/x/y`);
  assert.equal(rev(sub, 'http://b/app'), `${ORIGIN}/pub/`);
  assert.equal(rev(sub, 'http://b/app?q'), `${ORIGIN}/pub/?q`);
  assert.equal(rev(sub, 'http://b/apple'), undefined, '/apple is not under /app');
});

test('reverse: true on a ws:// route also maps its http:// twin (what the backend writes in a redirect)', () => {
  const map = mapOf({ path: '/ws/', backend: 'ws://b:9000/chat/', reverse: true });
  assert.equal(rev(map, 'http://b:9000/chat/room'), `${ORIGIN}/ws/room`);
  assert.equal(rev(map, 'ws://b:9000/chat/room'), `${ORIGIN}/ws/room`);
  assert.equal(rev(map, 'https://b:9000/chat/room'), undefined);
});

test('{ url, path } pairs are Apache literal prefixes: replaced by the path, the rest appended as written', () => {
  const map = mapOf({
    path: '/',
    backend: 'http://b/',
    reverse: { urls: [{ url: 'http://b/app/', path: '/public/' }, { url: 'http://other/', path: '/o' }] },
  });
  assert.equal(rev(map, 'http://b/app/x'), `${ORIGIN}/public/x`);
  assert.equal(rev(map, 'http://other/y'), `${ORIGIN}/oy`, 'no slash is added: Apache concatenates');
  assert.equal(rev(map, 'HTTP://b/app/x'), undefined, 'a plain URL prefix is compared literally');
  assert.equal(rev(map, 'ws://b/app/x'), undefined, 'a ws:// Location is not an http:// one');

  const pathOnly = mapOf({ path: '/', backend: 'http://b/', reverse: { urls: [{ url: '/internal/', path: '/ext/' }] } });
  assert.equal(rev(pathOnly, 'http://anyhost:1/internal/a'), `${ORIGIN}/ext/a`);
  assert.equal(rev(pathOnly, '/internal/b'), `${ORIGIN}/ext/b`);
});

test('a balancer maps every member back: route-relative and in Apache form', () => {
  const balancers: ConfigInput['balancers'] = {
    pool: { members: [{ url: 'http://m1:3000' }, { url: 'http://m2:3000/base/' }] },
  };
  const own = mapOf({ path: '/svc/', backend: 'balancer://pool/api/', reverse: true }, balancers);
  assert.equal(rev(own, 'http://m1:3000/api/x'), `${ORIGIN}/svc/x`);
  assert.equal(rev(own, 'http://M2:3000/base/api/y'), `${ORIGIN}/svc/y`);
  assert.equal(rev(own, 'http://m2:3000/api/y'), undefined, "the member's own path comes first");

  const apache = mapOf({ path: '/', backend: 'balancer://pool/', reverse: { urls: [{ url: 'balancer://pool/', path: '/' }] } }, balancers);
  assert.equal(rev(apache, 'http://m1:3000/next'), `${ORIGIN}/next`, 'fake "/" does not double the slash');
  assert.equal(rev(apache, 'http://m2:3000/base/z'), `${ORIGIN}/z`);
  const withPath = mapOf({ path: '/b', backend: 'balancer://pool/', reverse: { urls: [{ url: 'balancer://pool/sub', path: '/bash' }] } }, balancers);
  assert.equal(rev(withPath, 'http://m2:3000/base/sub/that'), `${ORIGIN}/bash/that`, "Apache's documented example");
});

test('reverse problems are config errors at routes[i].reverse', () => {
  const compile = (route: ConfigInput['routes'][number]) => () =>
    composeRoutes(configSchema.parse({ listen: ':0', routes: [route], balancers: { pool: { members: [{ url: 'http://m:1' }] } } }));
  assert.throws(compile({ match: '^/x', backend: 'http://b/', reverse: true }), /routes\[0\]\.reverse\.urls.*regex route/s);
  assert.throws(compile({ path: '/', backend: 'http://b/', reverse: { urls: [{ url: 'balancer://nope/', path: '/' }] } }), /no balancer named "nope"/);
  assert.throws(() => configSchema.parse({ listen: ':0', routes: [{ path: '/', exclude: true, reverse: true }] }), /relays no answer/);
  assert.throws(() => configSchema.parse({ listen: ':0', routes: [{ path: '/', backend: 'http://b/', reverse: false }] }), /false is the default/);
});

test('Set-Cookie Domain and Path are mapped as ProxyPassReverseCookieDomain/Path do', () => {
  const map = { cookieDomains: [['backend.internal', 'example.com']] as const, cookiePaths: [['/app/', '/'], ['/', '/x/']] as const };
  assert.equal(reverseCookie('sid=1; Path=/app/deep; Domain=Backend.Internal; HttpOnly', map), 'sid=1; Path=/; Domain=example.com; HttpOnly');
  assert.equal(reverseCookie('sid=1; path=/other', map), 'sid=1; path=/x/', 'the first prefix that matches');
  assert.equal(reverseCookie('sid=1; Domain=sub.backend.internal', map), undefined, 'a domain must be equal, not a suffix');
  assert.equal(reverseCookie('path=/app/; Secure', map), undefined, "the cookie's own name=value is not an attribute");
});

test('reverseResponseHeaders maps URL headers and Set-Cookie in place and leaves the rest', () => {
  const map = mapOf({ path: '/p/', backend: 'http://b/', reverse: { urls: true, cookiePath: { '/': '/p/' } } });
  const headers = [
    'Location', 'http://b/a', 'Content-Location', 'http://b/c', 'URI', 'http://b/u', 'Destination', 'http://b/d',
    'Link', 'http://b/l', 'Set-Cookie', 'a=1; Path=/', 'location', 'http://elsewhere/',
  ];
  reverseResponseHeaders(headers, map, 'http://p:1');
  assert.deepEqual(headers, [
    'Location', 'http://p:1/p/a', 'Content-Location', 'http://p:1/p/c', 'URI', 'http://p:1/p/u', 'Destination', 'http://p:1/p/d',
    'Link', 'http://b/l', 'Set-Cookie', 'a=1; Path=/p/', 'location', 'http://elsewhere/',
  ]);
});

test('publicOrigin is the scheme and host the client used, without a default port', () => {
  assert.equal(publicOrigin('http', 'Proxy.Example:80', '127.0.0.1:1'), 'http://proxy.example');
  assert.equal(publicOrigin('https', 'proxy.example:443', '127.0.0.1:1'), 'https://proxy.example');
  assert.equal(publicOrigin('http', 'proxy.example:8080', '127.0.0.1:1'), 'http://proxy.example:8080');
  assert.equal(publicOrigin('http', '[::1]:80', 'x'), 'http://[::1]');
  assert.equal(publicOrigin('http', undefined, '127.0.0.1:81'), 'http://127.0.0.1:81');
});
