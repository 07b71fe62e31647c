// The process logger (pino, JSON lines on stdout). One instance per thread; children carry context.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };
export type LogLevel = LevelWithSilent;

export function createLogger(level: LevelWithSilent = 'info', name = 'wspass'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}

/** A logger that drops everything: for tests and embedding. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
