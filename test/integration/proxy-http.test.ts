// Plain HTTP on the same listener (mod_proxy_http fallback): streamed bodies both ways, ws:// routes
// mapped to http://, forwarded headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { startProxy } from '../helpers/proxy.js';
import { startHttpBackend } from '../helpers/peers.js';

test('a POST with a streamed 10 MiB body is proxied both ways intact', async (t) => {
  const backend = await startHttpBackend(t, (req, res) => {
    // Echo as it reads: the response starts before the request body has ended.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    req.pipe(res);
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `http://127.0.0.1:${backend.port}/` }] });
  const chunks = Array.from({ length: 160 }, () => randomBytes(64 * 1024)); // 10 MiB
  const sent = createHash('sha256');
  for (const c of chunks) sent.update(c);
  const got = createHash('sha256');
  let total = 0;
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/upload' }, (res) => {
      assert.equal(res.statusCode, 200);
      res.on('data', (d: Buffer) => {
        got.update(d);
        total += d.length;
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
    Readable.from(chunks).pipe(req); // chunked request body
  });
  assert.equal(total, 10 * 1024 * 1024);
  assert.equal(got.digest('hex'), sent.digest('hex'));
});

test('a ws:// route serves plain HTTP from the same backend (Apache fallback) with forwarded headers', async (t) => {
  let seen: http.IncomingHttpHeaders = {};
  const backend = await startHttpBackend(t, (req, res) => {
    seen = req.headers;
    // A header the backend declares hop-by-hop through Connection must not reach the client.
    res.setHeader('Connection', 'keep-alive, X-Backend-Hop');
    res.setHeader('X-Backend-Hop', 'private');
    res.end(`path ${req.url}`);
  });
  const { httpBase } = await startProxy(t, { routes: [{ path: '/app/', backend: `ws://127.0.0.1:${backend.port}/v1/` }] });
  const res = await fetch(`${httpBase}/app/items?id=3`, { headers: { 'x-client': 'yes' } });
  assert.equal(await res.text(), 'path /v1/items?id=3');
  assert.equal(seen['x-client'], 'yes');
  assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  assert.match(String(seen['x-forwarded-host']), /^127\.0\.0\.1:\d+$/);
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen.host, `127.0.0.1:${backend.port}`);
  assert.equal(res.headers.get('x-backend-hop'), null, 'headers named in Connection are not relayed');
});

test('preserveHost sends the client Host to the backend', async (t) => {
  let host: string | undefined;
  const backend = await startHttpBackend(t, (req, res) => {
    host = req.headers.host;
    res.end();
  });
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `http://127.0.0.1:${backend.port}/`, preserveHost: true }] });
  await new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', headers: { host: 'public.example' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
  assert.equal(host, 'public.example');
});
