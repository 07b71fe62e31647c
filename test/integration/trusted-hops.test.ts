// X-Forwarded-For toward the backend: replaced by default (a client cannot plant addresses), walked over
// `forwardedFor.trustedHops` for the client address (hash stickiness follows it), or appended as Apache does
// with `mode: append`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../helpers/proxy.js';
import { headerValues, rawRequest, startRecordingBackend } from '../helpers/recording-backend.js';
import { wsHandshake } from '../helpers/peers.js';

const GET = (xff: string) => `GET /x HTTP/1.1\r\nHost: proxy.test\r\nX-Forwarded-For: ${xff}\r\nConnection: close\r\n\r\n`;

test('default: the client\'s X-Forwarded-For is replaced by its address, on both paths', async (t) => {
  const backend = await startRecordingBackend(t);
  const { port } = await startProxy(t, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}` }] });
  await rawRequest(t, port, GET('6.6.6.6'));
  await rawRequest(t, port, wsHandshake('/', { 'X-Forwarded-For': '6.6.6.6' }));
  assert.deepEqual(backend.heads.map((h) => headerValues(h, 'x-forwarded-for')), [['127.0.0.1'], ['127.0.0.1']]);
});

test('trusted hops: entries they vouch for are kept, the first untrusted one is the client', async (t) => {
  const backend = await startRecordingBackend(t);
  const { port } = await startProxy(t, {
    forwardedFor: { trustedHops: ['127.0.0.1/32', '10.0.0.0/8'] },
    routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}` }],
  });
  await rawRequest(t, port, GET('6.6.6.6, 198.51.100.7, 10.0.0.5'));
  await rawRequest(t, port, wsHandshake('/', { 'X-Forwarded-For': '6.6.6.6, 198.51.100.7, 10.0.0.5' }));
  assert.deepEqual(backend.heads.map((h) => headerValues(h, 'x-forwarded-for')), [
    ['198.51.100.7, 10.0.0.5, 127.0.0.1'],
    ['198.51.100.7, 10.0.0.5, 127.0.0.1'],
  ]);
});

test('mode: append keeps what the client sent and appends the peer, as Apache does', async (t) => {
  const backend = await startRecordingBackend(t);
  const { port } = await startProxy(t, {
    forwardedFor: { mode: 'append' },
    routes: [{ path: '/', backend: `http://127.0.0.1:${backend.port}` }],
  });
  await rawRequest(t, port, GET('6.6.6.6'));
  assert.deepEqual(headerValues(backend.heads[0]!, 'x-forwarded-for'), ['6.6.6.6, 127.0.0.1']);
});
