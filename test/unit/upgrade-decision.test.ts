// The upgrade decision from the request head (src/server/upgrade-decision.ts): which protocol a route's
// policy tunnels, and when an upgrade request goes on as plain HTTP instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseProtocol, decideUpgrade } from '../../src/server/upgrade-decision.js';
import type { UpgradePolicy } from '../../src/routing/types.js';
import { compiledRoute, routeMatch } from '../helpers/route-fixtures.js';

const WEBSOCKET: UpgradePolicy = { kind: 'list', protocols: ['websocket'] };

test('chooseProtocol: list, ANY, NONE and never', () => {
  assert.equal(chooseProtocol(WEBSOCKET, 'WebSocket'), 'WebSocket', 'the client spelling is kept');
  assert.equal(chooseProtocol(WEBSOCKET, 'h2c, websocket'), 'websocket', 'a token list: the first allowed one');
  assert.equal(chooseProtocol(WEBSOCKET, 'h2c'), undefined);
  assert.equal(chooseProtocol({ kind: 'any' }, 'mqtt/5, h2c'), 'mqtt/5');
  assert.equal(chooseProtocol({ kind: 'none' }, 'anything'), 'websocket');
  assert.equal(chooseProtocol({ kind: 'never' }, 'websocket'), undefined);
  assert.equal(chooseProtocol({ kind: 'never' }, undefined), undefined);
});

test('decideUpgrade: a never route, HTTP/1.0 and no route go on as plain HTTP', () => {
  const ws = routeMatch(compiledRoute('ws://b:1'));
  const never = routeMatch(compiledRoute('http://b:1', { upgrade: { kind: 'never' } }));
  assert.deepEqual(decideUpgrade('1.1', 'websocket', ws), { tunnel: true, match: ws, protocol: 'websocket' });
  assert.deepEqual(decideUpgrade('1.1', 'websocket', never), { tunnel: false });
  assert.deepEqual(decideUpgrade('1.0', 'websocket', ws), { tunnel: false });
  assert.deepEqual(decideUpgrade('1.1', 'websocket', null), { tunnel: false });
  assert.deepEqual(decideUpgrade('1.1', 'websocket', 'bad-request'), { tunnel: false });
});
