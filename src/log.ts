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

/** Resolves once every line logged so far is written (call before a planned thread exit). */
export function flushLog(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    log.flush(() => resolve());
  });
}

/** A logger that drops everything: for tests and embedding. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
