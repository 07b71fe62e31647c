// What tests that run once per tunnel engine share: the engines, when the native one is skipped (not
// built; required with CI=true), and a logger that keeps the `tunnel closed` lines.
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { loadNative } from '../../src/tunnel/native-addon.js';

export type Engine = 'native' | 'js';
export const ENGINES: readonly Engine[] = ['native', 'js'];

const native = loadNative();

/** The `skip` option of a test on `engine`: a reason when the native addon is not available. */
export function skipFor(engine: Engine): string | false {
  return engine === 'native' && native.addon === undefined && process.env.CI !== 'true' ? `native addon not available: ${native.error}` : false;
}

/** One `tunnel closed` log line. */
export interface ClosedLine {
  msg: string;
  route: string;
  reason: string;
  closedBy?: string;
  durationMs: number;
  bytesToBackend: number;
  bytesToClient: number;
  member?: string;
  goodbye?: string;
  framesDropped?: number;
}

/** A logger for a ProxyServer whose `tunnel closed` lines are kept; `nClosed(n)` waits for n of them. */
export function closedLog() {
  const closed = new EventEmitter();
  const lines: ClosedLine[] = [];
  const log = pino(
    { level: 'info' },
    {
      write(line: string) {
        const rec = JSON.parse(line) as ClosedLine;
        if (rec.msg !== 'tunnel closed') return;
        lines.push(rec);
        closed.emit('line', rec);
      },
    },
  );
  const nClosed = (n: number) =>
    lines.length >= n ? Promise.resolve() : new Promise<void>((resolve) => closed.on('line', () => lines.length >= n && resolve()));
  return { log, lines, nClosed };
}
