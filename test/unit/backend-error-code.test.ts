// The mapping from backend request errors (undici, net, tls, llhttp) to catalogue codes and statuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errors as undiciErrors } from 'undici';
import { ERRORS, WspassError } from '../../src/errors.js';
import { backendErrorCode } from '../../src/http/backend-error-code.js';

function withCode(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

test('refused and unreachable backends map to 503 WSP_BACKEND_REFUSED', () => {
  for (const code of ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']) {
    assert.equal(backendErrorCode(withCode(code)), 'WSP_BACKEND_REFUSED', code);
  }
  assert.equal(ERRORS.WSP_BACKEND_REFUSED.status, 503);
});

test('connect timeouts map to 504 WSP_CONNECT_TIMEOUT', () => {
  assert.equal(backendErrorCode(new undiciErrors.ConnectTimeoutError()), 'WSP_CONNECT_TIMEOUT');
  assert.equal(backendErrorCode(withCode('ETIMEDOUT')), 'WSP_CONNECT_TIMEOUT');
  assert.equal(ERRORS.WSP_CONNECT_TIMEOUT.status, 504);
});

test('a headers timeout maps to 504 WSP_HANDSHAKE_TIMEOUT', () => {
  assert.equal(backendErrorCode(new undiciErrors.HeadersTimeoutError()), 'WSP_HANDSHAKE_TIMEOUT');
  assert.equal(ERRORS.WSP_HANDSHAKE_TIMEOUT.status, 504);
});

test('a backend that closes or sends garbage maps to 502 WSP_BACKEND_BAD_RESPONSE', () => {
  const cases: Error[] = [
    new undiciErrors.SocketError('other side closed'),
    withCode('ECONNRESET'),
    withCode('EPIPE'),
    withCode('HPE_INVALID_CONSTANT', 'Expected HTTP/'),
    new undiciErrors.ResponseContentLengthMismatchError(),
    new undiciErrors.HeadersOverflowError(),
  ];
  for (const err of cases) assert.equal(backendErrorCode(err), 'WSP_BACKEND_BAD_RESPONSE', String(err));
  assert.equal(ERRORS.WSP_BACKEND_BAD_RESPONSE.status, 502);
});

test('certificate and TLS protocol failures map to 502 WSP_BACKEND_TLS', () => {
  const codes = [
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'CERT_HAS_EXPIRED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'ERR_SSL_WRONG_VERSION_NUMBER',
    'EPROTO',
  ];
  for (const code of codes) assert.equal(backendErrorCode(withCode(code)), 'WSP_BACKEND_TLS', code);
  assert.equal(ERRORS.WSP_BACKEND_TLS.status, 502);
});

test('aborts caused by the client map to WSP_CLIENT_ERROR, which is not answered', () => {
  assert.equal(backendErrorCode(new undiciErrors.RequestAbortedError()), 'WSP_CLIENT_ERROR');
  assert.equal(backendErrorCode(new undiciErrors.RequestContentLengthMismatchError()), 'WSP_CLIENT_ERROR');
  assert.equal(ERRORS.WSP_CLIENT_ERROR.status, 0);
});

test('closed or destroyed pools map to WSP_SHUTTING_DOWN', () => {
  assert.equal(backendErrorCode(new undiciErrors.ClientClosedError()), 'WSP_SHUTTING_DOWN');
  assert.equal(backendErrorCode(new undiciErrors.ClientDestroyedError()), 'WSP_SHUTTING_DOWN');
});

test('a body timeout maps to WSP_IDLE_TIMEOUT', () => {
  assert.equal(backendErrorCode(new undiciErrors.BodyTimeoutError()), 'WSP_IDLE_TIMEOUT');
});

test('headers undici refuses to send map to 400 WSP_BAD_REQUEST', () => {
  assert.equal(backendErrorCode(new undiciErrors.InvalidArgumentError('invalid upgrade header')), 'WSP_BAD_REQUEST');
  assert.equal(backendErrorCode(new undiciErrors.NotSupportedError('expect header not supported')), 'WSP_BAD_REQUEST');
});

test('a WspassError keeps its own code', () => {
  assert.equal(backendErrorCode(new WspassError('WSP_SHUTTING_DOWN')), 'WSP_SHUTTING_DOWN');
  assert.equal(backendErrorCode(new WspassError('WSP_NO_MEMBER')), 'WSP_NO_MEMBER');
});

test('the code is also found on the cause', () => {
  assert.equal(backendErrorCode(new Error('wrapped', { cause: withCode('ECONNREFUSED') })), 'WSP_BACKEND_REFUSED');
});

test('unknown errors and non-errors default to 502 WSP_BACKEND_BAD_RESPONSE', () => {
  assert.equal(backendErrorCode(new Error('something odd')), 'WSP_BACKEND_BAD_RESPONSE');
  assert.equal(backendErrorCode(withCode('ESOMETHINGNEW')), 'WSP_BACKEND_BAD_RESPONSE');
  assert.equal(backendErrorCode('a string'), 'WSP_BACKEND_BAD_RESPONSE');
  assert.equal(backendErrorCode(null), 'WSP_BACKEND_BAD_RESPONSE');
});
