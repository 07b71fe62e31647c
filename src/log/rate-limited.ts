// Error log lines by catalogue code, at most one per code per window (a second): during a storm (a
// backend down under thousands of reconnects, a scanner sending garbage) the first line of each code is
// written and the rest are counted; when the window ends, one line says how many were left out. Counters
// and metrics still see every error; only the log lines are thinned.
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';

type Level = 'info' | 'warn' | 'error';

interface Window {
  /** Lines left out in this window. */
  suppressed: number;
  /** The logger and level of the first line, which the summary line uses too. */
  readonly log: Logger;
  readonly level: Level;
  readonly timer: NodeJS.Timeout;
}

export class RateLimitedLog {
  readonly #windowMs: number;
  readonly #windows = new Map<ErrorCode, Window>();

  constructor(windowMs = 1_000) {
    this.#windowMs = windowMs;
  }

  /** Writes `fields` and `msg` on `log` at `level`, unless a line of `code` was written in this window. */
  write(log: Logger, level: Level, code: ErrorCode, fields: Record<string, unknown>, msg: string): void {
    const open = this.#windows.get(code);
    if (open !== undefined) {
      open.suppressed++;
      return;
    }
    log[level]({ code, ...fields }, msg);
    const timer = setTimeout(() => this.#end(code), this.#windowMs);
    timer.unref();
    this.#windows.set(code, { suppressed: 0, log, level, timer });
  }

  #end(code: ErrorCode): void {
    const w = this.#windows.get(code);
    this.#windows.delete(code);
    if (w !== undefined && w.suppressed > 0) {
      w.log[w.level]({ code, suppressed: w.suppressed, windowMs: this.#windowMs }, `${w.suppressed} more lines of ${code} left out`);
    }
  }

  /** Writes the pending summaries now (before a planned exit) and stops the timers. */
  flush(): void {
    for (const [code, w] of [...this.#windows]) {
      clearTimeout(w.timer);
      this.#end(code);
    }
  }
}
