// One flush at the end of each event-loop turn for every corked tunnel lane of this thread (async mode
// with asyncDelayMs 0, DESIGN D4). A single shared setImmediate serves all lanes, so a thread with
// thousands of busy tunnels schedules one callback per turn, not one per tunnel.

/** Something holding corked writes that wants them released once the current turn's reads are done. */
export interface TurnFlushable {
  flushTurn(): void;
}

let pending: TurnFlushable[] = [];
let spare: TurnFlushable[] = [];
let scheduled = false;

function runFlushes(): void {
  scheduled = false;
  // Swap the arrays so lanes corked while flushing (a write from a 'drain' handler) land in the next turn.
  const batch = pending;
  pending = spare;
  spare = batch;
  for (let i = 0; i < batch.length; i++) batch[i]!.flushTurn();
  batch.length = 0;
}

/** Calls `lane.flushTurn()` once, after the I/O callbacks of the current turn (setImmediate phase). */
export function flushAtEndOfTurn(lane: TurnFlushable): void {
  pending.push(lane);
  if (!scheduled) {
    scheduled = true;
    setImmediate(runFlushes);
  }
}
