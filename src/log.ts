// The process logger (pino, JSON lines on stdout). One instance per thread; children carry context.
//
// Lines are written asynchronously (a slow stdout reader must not stall a worker's event loop), so what
// is buffered must be written before a thread ends. pino does that only for the main thread; a worker
// thread ending (process.exit in it, or an uncaught exception) would drop its last lines, usually the
// ones that say why it ended. So in a worker: planned exits await flushLog(), and an 'exit' hook writes
// whatever is still buffered synchronously.
import { isMainThread } from 'node:worker_threads';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };
export type LogLevel = LevelWithSilent;

export function createLogger(level: LevelWithSilent = 'info', name = 'wspass'): Logger {
  const destination = pino.destination({ dest: 1, sync: false });
  if (!isMainThread) {
    process.once('exit', () => {
      try {
        destination.flushSync();
      } catch {
        // stdout closed or not open yet: nothing can be written any more
      }
    });
  }
  return pino({ name, level, base: { pid: process.pid } }, destination);
}

/** The part of pino's async destination (sonic-boom) flushLog needs: whether a write is under way. */
interface AsyncDestination {
  readonly _writing?: boolean;
  once(event: 'drain' | 'error', listener: () => void): unknown;
  removeListener(event: 'drain' | 'error', listener: () => void): unknown;
}

/** Longest flushLog waits for a write under way (a stdout nobody reads must not hold a thread forever). */
const FLUSH_WAIT_MS = 2_000;

/** Resolves once every line logged so far is written (call before a planned thread exit). */
export function flushLog(log: Logger): Promise<void> {
  // pino's flush() calls back at once with this destination even while a write is under way (its chunk
  // handed to the thread pool, or waiting to retry a full pipe); the exit hook's flushSync writes what is
  // queued behind that chunk but not the chunk itself, so a thread ending now could lose it. Wait for the
  // destination's 'drain' (nothing left), bounded.
  const dest = (log as unknown as Record<symbol, AsyncDestination | undefined>)[pino.symbols.streamSym];
  return new Promise((resolve) => {
    log.flush(() => {
      if (dest?._writing !== true) return resolve();
      const done = () => {
        clearTimeout(timer);
        dest.removeListener('drain', done);
        dest.removeListener('error', done);
        resolve();
      };
      const timer = setTimeout(done, FLUSH_WAIT_MS);
      dest.once('drain', done);
      dest.once('error', done);
    });
  });
}

/** A logger that drops everything: for tests and embedding. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
