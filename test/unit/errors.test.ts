import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRORS, WspassError, isErrorCode } from '../../src/errors.js';

test('every catalogue code maps to a 4xx/5xx status or to 0 (logged only)', () => {
  for (const [code, spec] of Object.entries(ERRORS)) {
    assert.ok(spec.status === 0 || (spec.status >= 400 && spec.status < 600), code);
    assert.ok(spec.reason.length > 0, code);
  }
});

test('WspassError carries its code and status', () => {
  const err = new WspassError('WSP_BACKEND_REFUSED');
  assert.equal(err.status, 503);
  assert.equal(err.message, ERRORS.WSP_BACKEND_REFUSED.reason);
  assert.ok(isErrorCode(err.code));
  assert.ok(!isErrorCode('NOPE'));
});
