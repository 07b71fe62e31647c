// Apache fixtures for the request limits, RewriteCond back-references (%n), request headers in a
// RewriteRule target and virtual hosts on several ports, each run as the .conf (`wspass run`) and as its
// import-apache YAML: the same assertions on both.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { runFixture, type FixtureMode } from '../helpers/apache-fixture.js';
import { nextMessage, openWs, rawExchange, startHttpBackend, startWsBackend, statusOf, wsHandshake } from '../helpers/peers.js';

/** A WebSocket backend that answers every message with its name and the path it was opened on. */
async function namedWs(t: TestContext, name: string): Promise<string> {
  const b = await startWsBackend(t, {}, (ws, req) => ws.on('message', () => ws.send(`${name} ${req.url ?? ''}`)));
  return `127.0.0.1:${b.port}`;
}

async function ask(t: TestContext, url: string, host?: string, headers: Record<string, string> = {}): Promise<string> {
  const ws = await openWs(t, url, undefined, { headers: { ...headers, ...(host !== undefined && { host }) } });
  ws.send('?');
  return (await nextMessage(ws)).data.toString();
}

const BOTH: FixtureMode[] = ['conf', 'yaml'];

for (const mode of BOTH) {
  test(`LimitRequestLine / FieldSize / Fields (${mode}): 414 and 400 as httpd, within them proxied`, async (t) => {
    const backend = await namedWs(t, 'b');
    const f = await runFixture(t, 'request-limits.conf', { WS_BACKEND: backend }, mode);
    const line = (n: number) => `/${'a'.repeat(n - 'GET / HTTP/1.1'.length)}`;
    assert.equal(statusOf((await rawExchange(t, f.port, `GET ${line(200)} HTTP/1.1\r\nHost: p\r\n\r\n`)).head), 200);
    assert.equal(statusOf((await rawExchange(t, f.port, `GET ${line(201)} HTTP/1.1\r\nHost: p\r\n\r\n`)).head), 414);
    assert.equal(statusOf((await rawExchange(t, f.port, wsHandshake(line(201)))).head), 414);
    assert.equal(statusOf((await rawExchange(t, f.port, `GET / HTTP/1.1\r\nHost: p\r\nX: ${'a'.repeat(300)}\r\n\r\n`)).head), 400);
    const fields = Array.from({ length: 10 }, (_, i) => `X-${i}: v\r\n`).join('');
    assert.equal(statusOf((await rawExchange(t, f.port, `GET / HTTP/1.1\r\nHost: p\r\n${fields}\r\n`)).head), 400);
    assert.equal(await ask(t, `${f.ws}/room`), 'b /room');
    if (mode === 'yaml') for (const line of ['maxRequestLineBytes: 200', 'maxHeaderFieldBytes: 300', 'maxHeaderFields: 10', 'maxHeaderBytes: 3200']) assert.match(f.yaml, new RegExp(`^${line}$`, 'm'));
    // A head far past what the limits allow together stops the parser: still 400, not 431.
    assert.equal(statusOf((await rawExchange(t, f.port, `GET / HTTP/1.1\r\nHost: p\r\nX: ${'a'.repeat(5000)}\r\n\r\n`)).head), 400);
  });

  test(`RewriteCond %n (${mode}): the Host's group and the rule's $1 build the backend path`, async (t) => {
    const ws = await namedWs(t, 'ws');
    const plain = await startHttpBackend(t, (req: http.IncomingMessage, res: http.ServerResponse) => res.end(`http ${req.url ?? ''}`));
    const f = await runFixture(t, 'rewrite-captures.conf', { WS_BACKEND: ws, HTTP_BACKEND: `127.0.0.1:${plain.port}` }, mode);
    assert.equal(await ask(t, `${f.ws}/chat/1`, `blue.example.test:${f.port}`), 'ws /blue/chat/1');
    assert.equal(await ask(t, `${f.ws}/x`, `Green.example.test:${f.port}`), 'ws /Green/x');
    // The condition on the Host fails: the rule does not apply, ProxyPass proxies the handshake as HTTP.
    assert.equal(statusOf((await rawExchange(t, f.port, wsHandshake('/chat/1'))).head), 200);
    assert.equal(await (await fetch(`${f.http}/page`, { headers: { host: 'blue.example.test' } })).text(), 'http /page');
  });

  test(`%{HTTP:Name} in a RewriteRule target (${mode}): the request's header goes in the backend path`, async (t) => {
    const ws = await namedWs(t, 'ws');
    const plain = await startHttpBackend(t, (req: http.IncomingMessage, res: http.ServerResponse) => res.end(`http ${req.url ?? ''}`));
    const f = await runFixture(t, 'rewrite-header-var.conf', { WS_BACKEND: ws, HTTP_BACKEND: `127.0.0.1:${plain.port}` }, mode);
    assert.equal(await ask(t, `${f.ws}/chat/1`, undefined, { 'x-tenant': 'acme' }), 'ws /acme/chat/1');
    assert.equal(await ask(t, `${f.ws}/x`, undefined, { 'x-tenant': 'blue' }), 'ws /blue/x');
    // Without the header the rule does not apply: ProxyPass proxies the handshake as HTTP.
    assert.equal(statusOf((await rawExchange(t, f.port, wsHandshake('/chat/1'))).head), 200);
    if (mode === 'yaml') assert.match(f.yaml, /x-tenant: \^\(\.\*\)\$/);
  });

  test(`virtual hosts on two ports (${mode}): each port serves its own, the first of a port is its default`, async (t) => {
    const [web, other, api] = await Promise.all([namedWs(t, 'web'), namedWs(t, 'other'), namedWs(t, 'api')]);
    const f = await runFixture(t, 'vhost-ports.conf', { SERVER01: web, SERVER02: other, SERVER03: api }, mode);
    const [p8080, p8081] = f.ports;
    const on = (port: number | undefined) => `ws://127.0.0.1:${port!}`;
    assert.equal(await ask(t, `${on(p8080)}/api/x`), 'web /api/x', 'the api vhost is not on 8080: the default vhost serves it');
    assert.equal(await ask(t, `${on(p8080)}/other/x`, 'other.example.test'), 'other /x');
    assert.equal(statusOf((await rawExchange(t, p8080!, wsHandshake('/x', { Host: 'other.example.test' }))).head), 404);
    assert.equal(await ask(t, `${on(p8081)}/api/x`, 'web.example.test'), 'api /x', 'the only vhost of 8081 is its default');
    assert.equal(statusOf((await rawExchange(t, p8081!, wsHandshake('/x'))).head), 404);
    if (mode === 'yaml') assert.match(f.yaml, /- listener: "8081"\n/);
  });
}
