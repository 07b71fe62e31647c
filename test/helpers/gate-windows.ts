// Synthetic gate windows for the unit tests of the gate's and bench:versus's verdicts.
import type { WindowRecord } from '../../bench/gate/decision.js';

/** Pairs of records (base and head of one window, in alternating order) whose head ÷ base ratio is `ratio` times a small wobble. */
export function windows(ratio: number, pairs = 10, baseCost = 20): WindowRecord[] {
  const out: WindowRecord[] = [];
  for (let i = 0; i < 2 * pairs; i++) {
    const rev = (i + Math.floor(i / 2)) % 2 === 0 ? 'base' : 'head';
    const wobble = 1 + ((Math.floor(i / 2) % 3) - 1) * 0.01 + (Math.floor(i / 2) === 9 ? 0.01 : 0);
    const cost = rev === 'base' ? baseCost : baseCost * ratio * wobble;
    out.push({ rev, cost, units: 1000, ticks: 100, cpuMs: 1000, seconds: 1.5, foreignCores: 0.1, backendCost: 2 });
  }
  return out;
}

