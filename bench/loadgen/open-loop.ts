// Open-loop (fixed-rate) sending for one connection, corrected for coordinated omission: message i is
// *due* at start + i / rate whatever happened before, and its latency is measured from that intended
// time, not from when it actually left. A stall (in the proxy, the client or the network) therefore
// shows up in the percentiles as the queueing delay it caused, instead of silently sending less.
// Pure: the caller supplies the clock and the send function, so tests drive it with simulated time.

export class OpenLoopConnection {
  readonly #startMs: number;
  readonly #intervalMs: number;
  /** Intended send times of messages sent and not yet answered, oldest first (echo keeps order). */
  readonly #inFlight: number[] = [];
  #head = 0;
  #next = 0;

  /** @param ratePerSec messages per second on this connection; @param startMs time of message 0 */
  constructor(startMs: number, ratePerSec: number) {
    if (!(ratePerSec > 0)) throw new RangeError('rate must be > 0');
    this.#startMs = startMs;
    this.#intervalMs = 1000 / ratePerSec;
  }

  /** When message i is meant to leave. */
  intendedAt(i: number): number {
    return this.#startMs + i * this.#intervalMs;
  }

  /** Sends every message due by `nowMs` (late ones at once, back to back); returns how many were sent. */
  tick(nowMs: number, send: () => void): number {
    let sent = 0;
    for (let due = this.intendedAt(this.#next); due <= nowMs; due = this.intendedAt(this.#next)) {
      this.#inFlight.push(due);
      this.#next++;
      send();
      sent++;
    }
    return sent;
  }

  /** An answer arrived at `nowMs`: returns its corrected latency in ms (from the intended send time). */
  onResponse(nowMs: number): number | undefined {
    if (this.#head >= this.#inFlight.length) return undefined;
    const intended = this.#inFlight[this.#head++] as number;
    // Compact now and then so the queue does not grow for the whole run.
    if (this.#head > 1024 && this.#head * 2 > this.#inFlight.length) {
      this.#inFlight.splice(0, this.#head);
      this.#head = 0;
    }
    return nowMs - intended;
  }

  /** Messages sent and not answered yet. */
  get outstanding(): number {
    return this.#inFlight.length - this.#head;
  }

  /** When the next message is due (for scheduling the next tick). */
  get nextDueMs(): number {
    return this.intendedAt(this.#next);
  }
}
