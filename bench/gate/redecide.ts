// A recorded gate run decided again under today's rule, from its windows: what the gate would have said
// of the same measurements. Its first stage is the run's first `blocks` blocks; its second stage is used
// when today's rule asks for one and the run measured it. Pure.
import { decideFigure, GATE_FIGURE_COUNT, wantsMoreBlocks, type DecideOptions, type FigureDecision, type FigureRecord } from './decision.js';

export interface Redecision {
  decision: FigureDecision;
  /** Today's rule asks for the second stage, which the run did not measure: decided on the first only. */
  secondStageMissing: boolean;
}

export function redecide(rec: FigureRecord, firstBlocks: number, opts: DecideOptions): Redecision {
  const first: FigureRecord = { ...rec, windows: rec.windows.filter((w) => (w.block ?? 0) < firstBlocks) };
  const d1 = decideFigure(first, GATE_FIGURE_COUNT, opts);
  if (!wantsMoreBlocks(d1)) return { decision: d1, secondStageMissing: false };
  const measuredMore = rec.windows.some((w) => (w.block ?? 0) >= firstBlocks);
  if (!measuredMore) return { decision: d1, secondStageMissing: true };
  return { decision: decideFigure(rec, GATE_FIGURE_COUNT, opts), secondStageMissing: false };
}
