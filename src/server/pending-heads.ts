// The heads the native front took, between the verdict (C peeked them) and the fd's hand-over (the next
// loop turn, from the poll's close callback): at most the connections of one accept batch, so a few.
//
// Not a Map: a Map that fills and empties on every batch reallocates its table each time, and the table it
// leaves behind is not cleared. Once such a table has been promoted (the Map lives for the listener's life),
// V8's scavenges treat what it still points to as live: every request head, its fields and its decision
// were promoted with it and stayed until the next full collection (measured: 28 against 18.5 MiB promoted
// over 16,000 handshakes at 10 at a time). Two arrays scanned linearly and cleared slot by slot keep no
// stale pointers.
export class PendingHeads<T> {
  #ids: number[] = [];
  #values: (T | undefined)[] = [];

  set(id: number, value: T): void {
    const free = this.#ids.indexOf(-1);
    if (free >= 0) {
      this.#ids[free] = id;
      this.#values[free] = value;
    } else {
      this.#ids.push(id);
      this.#values.push(value);
    }
  }

  /** The value set for `id`, removed; undefined if none. */
  take(id: number): T | undefined {
    const i = this.#ids.indexOf(id);
    if (i < 0) return undefined;
    const value = this.#values[i];
    this.#ids[i] = -1;
    this.#values[i] = undefined;
    return value;
  }
}
