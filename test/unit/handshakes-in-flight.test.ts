// The server's list of handshakes in flight: order-free add and delete, onEmpty each time the last one
// ends, a second delete ignored, destroyAll() reaching every client even as their handshakes end during it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { HandshakesInFlight, type InFlight } from '../../src/server/handshakes-in-flight.js';

function entry(onDestroy: () => void = () => undefined): InFlight {
  const client = { destroy: onDestroy } as unknown as Socket;
  return { client, prevInFlight: undefined, nextInFlight: undefined };
}

test('add and delete in any order keep the count; onEmpty runs when the last one ends, once per emptying', () => {
  let empties = 0;
  const list = new HandshakesInFlight(() => empties++);
  const [a, b, c] = [entry(), entry(), entry()];
  list.add(a);
  list.add(b);
  list.add(c);
  assert.equal(list.size, 3);
  list.delete(b); // middle
  list.delete(c); // head
  assert.equal(list.size, 1);
  assert.equal(empties, 0);
  list.delete(a);
  assert.equal(list.size, 0);
  assert.equal(empties, 1);
  list.delete(a); // again: ignored
  assert.equal(list.size, 0);
  assert.equal(empties, 1);
  list.add(a);
  list.delete(a);
  assert.equal(empties, 2);
});

test('destroyAll() destroys every client, also when each handshake leaves the list from its destroy', () => {
  const list = new HandshakesInFlight(() => undefined);
  const destroyed: string[] = [];
  const entries: InFlight[] = [];
  for (const name of ['a', 'b', 'c', 'd']) {
    const e = entry(() => {
      destroyed.push(name);
      // A socket's destroy ends its handshake at once: the entry and its neighbour leave the list.
      list.delete(e);
      if (name === 'c') list.delete(entries[0]!);
    });
    entries.push(e);
    list.add(e);
  }
  list.destroyAll();
  assert.deepEqual(destroyed.sort(), ['a', 'b', 'c', 'd']);
  assert.equal(list.size, 0);
});
