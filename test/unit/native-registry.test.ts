// The native registry keeps records and counts by the C slot (the low 24 bits of an id) and checks the
// generation (the rest): a reused slot's new tunnel gets its own counts and close, a report or count for
// an id whose slot moved on is dropped, and close/destroy name the whole current id. A fake addon stands
// in for the core: this is the JS bookkeeping only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NativeTunnelApi } from '../../src/tunnel/native-addon.js';
import { NativeRegistry, type NativeClosed, type NativeRecord } from '../../src/tunnel/native-registry.js';

const SPAN = 2 ** 24;

class FakeAddon implements NativeTunnelApi {
  onClose: Parameters<NativeTunnelApi['setCloseHandler']>[0] = () => undefined;
  /** The ids open() hands out, in turn. */
  readonly nextIds: number[] = [];
  /** What counters() reports: [id, toBackend, toClient, sends]. */
  counts: [number, number, number, number][] = [];
  readonly calls: string[] = [];

  setCloseHandler(fn: Parameters<NativeTunnelApi['setCloseHandler']>[0]): void {
    this.onClose = fn;
  }
  open(): number {
    return this.nextIds.shift()!;
  }
  close(id: number, graceMs: number): void {
    this.calls.push(`close ${id} ${graceMs}`);
  }
  destroy(id: number): void {
    this.calls.push(`destroy ${id}`);
  }
  counters(out: Float64Array): number {
    const n = Math.min(this.counts.length, Math.floor(out.length / 4));
    for (let i = 0; i < n; i++) out.set(this.counts[i]!, 4 * i);
    return n;
  }
  report(id: number, toBackend = 0): void {
    this.onClose(id, 1, toBackend, 0, 0, 0, 0, 0);
  }
}

function recorder(): NativeRecord & { reports: NativeClosed[] } {
  const reports: NativeClosed[] = [];
  return { reports, closed: (r) => reports.push(r) };
}

const ARGS: Parameters<NativeTunnelApi['open']> = [3, 4, undefined, undefined, false, false, 0, 65536, false, 0, 0];

test('records and counts by slot; a reused slot is a new tunnel; stale ids are ignored', () => {
  const addon = new FakeAddon();
  const registry = new NativeRegistry(addon);
  const a = recorder();
  const b = recorder();
  addon.nextIds.push(5, 5 + 3 * SPAN);

  assert.equal(registry.open(a, ARGS), 5);
  assert.equal(registry.size, 1);
  addon.counts = [[5, 10, 20, 0]];
  assert.equal(registry.toBackend(5), 10);
  assert.equal(registry.toClient(5), 20);
  registry.close(5, 2000);
  assert.deepEqual(addon.calls, ['close 5 2000']);

  addon.report(5, 11);
  assert.equal(a.reports.length, 1);
  assert.equal(a.reports[0]!.toBackend, 11);
  assert.equal(registry.size, 0);
  addon.report(5); // the same close twice: the record is gone
  assert.equal(a.reports.length, 1);

  // Slot 5 again, generation 3: counts start at 0, close and destroy carry the whole id.
  assert.equal(registry.open(b, ARGS), 5);
  registry.destroy(5);
  assert.equal(addon.calls.at(-1), `destroy ${5 + 3 * SPAN}`);
  addon.report(5);
  assert.equal(b.reports.length, 0, 'a report for the old generation does not close the new tunnel');
  addon.report(5 + 3 * SPAN, 7);
  assert.equal(b.reports.length, 1);
  assert.equal(b.reports[0]!.toBackend, 7);
});

test('a count for an id whose slot holds a newer generation is not that tunnel\'s', () => {
  const addon = new FakeAddon();
  const registry = new NativeRegistry(addon);
  addon.nextIds.push(5 + 3 * SPAN);
  registry.open(recorder(), ARGS);
  addon.counts = [[5, 99, 99, 0]];
  assert.equal(registry.toBackend(5), 0);
  assert.equal(registry.toClient(5), 0);
});

/** A registry with tunnels open in slots 0 and 1. */
function twoOpen(): { addon: FakeAddon; registry: NativeRegistry } {
  const addon = new FakeAddon();
  const registry = new NativeRegistry(addon);
  addon.nextIds.push(0, 1);
  registry.open(recorder(), ARGS);
  registry.open(recorder(), ARGS);
  return { addon, registry };
}

test('counts above 2^30 stay exact; below, they come back as the same numbers', () => {
  const { addon, registry } = twoOpen();
  addon.counts = [
    [0, 2 ** 40 + 1, 3, 0],
    [1, 2 ** 30 - 1, 0, 0],
  ];
  assert.equal(registry.toBackend(0), 2 ** 40 + 1);
  assert.equal(registry.toClient(0), 3);
  assert.equal(registry.toBackend(1), 2 ** 30 - 1);
});

test('liveSends sums the open tunnels\' send calls from a pull made when asked, not one 100 ms old', () => {
  const { addon, registry } = twoOpen();
  addon.counts = [
    [0, 10, 10, 4],
    [1, 5, 5, 3],
  ];
  assert.equal(registry.toBackend(0), 10, 'a byte count pulls');
  assert.equal(registry.liveSends(), 7);
  // Tunnel 0 is no longer relayed (its close report is on its way): it leaves the sum at once.
  addon.counts = [[1, 6, 6, 5]];
  assert.equal(registry.liveSends(), 5);
  assert.equal(registry.toBackend(1), 6, 'the forced pull brought the byte counts along');
});
