// flushLog waits for a write under way: pino's flush() calls back at once with the async destination even
// while a chunk is being written (or waits to retry a full pipe), and a worker thread that ends then can
// lose that chunk, the last lines before its exit (a drain's last access lines).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { flushLog } from '../../src/log.js';

/** A destination that looks like pino's sonic-boom with a write under way. */
class BusyDestination extends EventEmitter {
  _writing = true;
  readonly lines: string[] = [];
  write(line: string): boolean {
    this.lines.push(line);
    return true;
  }
  flush(cb: () => void): void {
    cb(); // as sonic-boom does with minLength 0: at once, whatever is under way
  }
}

test('flushLog resolves only once the write under way is done', async () => {
  const dest = new BusyDestination();
  const log = pino({ level: 'info' }, dest).child({ worker: 0 });
  log.info('last line');
  let flushed = false;
  const done = flushLog(log).then(() => (flushed = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(flushed, false, 'still writing: not flushed');
  dest._writing = false;
  dest.emit('drain');
  await done;
  assert.equal(flushed, true);
});

test('flushLog resolves at once when nothing is being written', async () => {
  const dest = new BusyDestination();
  dest._writing = false;
  await flushLog(pino({ level: 'info' }, dest));
});
