// The handshakes a server has in flight (admitted, no tunnel yet), so that its destroy() can end them and
// its drain can wait for them. A list threaded through each upgrade's own state object rather than a Set:
// the count swings between zero and the concurrency with every handshake, and a Set reallocates its table
// as it grows and shrinks (garbage per handshake that the front's pending heads showed can end up promoted;
// pending-heads.ts). Adding and removing here allocate nothing.
import type { Socket } from 'node:net';
import type { HeldClient } from '../tunnel/held-client.js';

/** What the list needs of a handshake's state: its client and two links (only this file touches them). */
export interface InFlight {
  readonly client: Socket | HeldClient;
  prevInFlight: InFlight | undefined;
  nextInFlight: InFlight | undefined;
}

export class HandshakesInFlight {
  #head: InFlight | undefined;
  #size = 0;
  readonly #onEmpty: () => void;

  /** `onEmpty` runs each time the last handshake in flight ends. */
  constructor(onEmpty: () => void) {
    this.#onEmpty = onEmpty;
  }

  get size(): number {
    return this.#size;
  }

  add(h: InFlight): void {
    h.prevInFlight = undefined;
    h.nextInFlight = this.#head;
    if (this.#head !== undefined) this.#head.prevInFlight = h;
    this.#head = h;
    this.#size++;
  }

  /** The handshake ended, whichever way (before that, a tunnel it opened was counted: no gap between the two). */
  delete(h: InFlight): void {
    if (h.prevInFlight === undefined && this.#head !== h) return; // not in the list (deleted already)
    if (h.prevInFlight !== undefined) h.prevInFlight.nextInFlight = h.nextInFlight;
    else this.#head = h.nextInFlight;
    if (h.nextInFlight !== undefined) h.nextInFlight.prevInFlight = h.prevInFlight;
    h.prevInFlight = h.nextInFlight = undefined;
    this.#size--;
    if (this.#size === 0) this.#onEmpty();
  }

  /** Ends every handshake in flight: their clients are destroyed, and each handshake then closes its backend. */
  destroyAll(): void {
    const clients: (Socket | HeldClient)[] = [];
    for (let h = this.#head; h !== undefined; h = h.nextInFlight) clients.push(h.client);
    for (const client of clients) client.destroy();
  }
}
