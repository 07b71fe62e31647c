// Where the WebSocket frames of one tunnel direction begin and end (RFC 6455 §5.2), so a drain can put a
// close frame between two frames instead of cutting one (a cut frame is a protocol error: close 1006).
//
// Only frame headers are read (2 to 14 bytes, possibly split across reads); a payload is skipped by
// arithmetic, however it is encoded: permessage-deflate compresses payloads only (RSV1 on the first frame
// of a message), and control frames are never compressed or fragmented, so neither gets in the way.
// Fragments of a message are frames like any other; a control frame between two of them is too.
//
// The state is a few numbers, nothing is allocated per frame, and a chunk costs one loop step per header
// byte plus one per payload. Framing that cannot be WebSocket (a reserved opcode, RSV2/RSV3, a fragmented
// or long control frame, the wrong mask bit for the direction, a frame of 4 GiB or more) turns the tracker off for
// good: the drain then falls back to a plain FIN. Pure: no sockets, no timers.

/** Opcode of a close frame. */
export const OP_CLOSE = 0x8;

export class FrameTracker {
  /** Bytes left in the current frame's payload (while in the header: its extended length so far). */
  #left = 0;
  /** Header bytes seen of the current frame; 0: at a frame boundary. */
  #hdr = 0;
  /** Length of the current frame's header, known after its second byte. */
  #need = 2;
  /** First header byte of the current (or last) frame: FIN, RSV and opcode. */
  #b0 = 0;
  /** Framing seen that is not WebSocket: nothing is tracked any more. */
  off = false;
  /** A close frame began in this direction. */
  closeSeen = false;

  /** `masked`: frames in this direction must be masked (client to server), or must not be. */
  constructor(readonly masked: boolean) {}

  /** Between two frames (nothing of a frame read yet). */
  get atBoundary(): boolean {
    return this.#hdr === 0 && !this.off;
  }

  /**
   * Tracks `buf[from..to)`. With `stopAtBoundary`, stops at the first frame boundary at or after `from`
   * (without consuming the next frame's first byte) and returns its offset; otherwise consumes all.
   * Returns `to` when no boundary was found or the tracker is (or turned) off.
   */
  scan(buf: Uint8Array, from: number, to: number, stopAtBoundary: boolean): number {
    if (this.off) return to;
    let i = from;
    while (i < to) {
      const hdr = this.#hdr;
      if (hdr === 0) {
        if (stopAtBoundary) return i;
        const b0 = buf[i++]!;
        const op = b0 & 0x0f;
        // Reserved opcodes 3-7 and 0xB-0xF; control frames (>= 8) must not be fragmented; RSV2 and RSV3
        // belong to no extension in use (permessage-deflate has RSV1 only).
        if ((op > 2 && op < 8) || op > 10 || (op >= 8 && (b0 & 0x80) === 0) || (b0 & 0x30) !== 0) return this.#turnOff(to);
        if (op === OP_CLOSE) this.closeSeen = true;
        this.#b0 = b0;
        this.#hdr = 1;
      } else if (hdr === 1) {
        const b1 = buf[i++]!;
        if (((b1 & 0x80) !== 0) !== this.masked) return this.#turnOff(to);
        const len7 = b1 & 0x7f;
        if ((this.#b0 & 0x08) !== 0 && len7 > 125) return this.#turnOff(to);
        this.#need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.masked ? 4 : 0);
        this.#left = len7 < 126 ? len7 : 0;
        this.#hdr = 2;
        if (this.#need === 2) this.#headerDone();
      } else if (hdr < this.#need - (this.masked ? 4 : 0)) {
        // Extended length, most significant byte first. A frame of 4 GiB or more is not tracked, as in
        // the C engine (whose counter is 32 bits to keep a tunnel's state small); no peer sends one.
        if (this.#left >= 2 ** 24) return this.#turnOff(to);
        this.#left = this.#left * 256 + buf[i++]!;
        if (++this.#hdr === this.#need) this.#headerDone();
      } else if (hdr < this.#need) {
        // Masking key: skipped.
        const n = Math.min(this.#need - hdr, to - i);
        i += n;
        this.#hdr += n;
        if (this.#hdr === this.#need) this.#headerDone();
      } else {
        // Payload: skipped by arithmetic.
        const n = Math.min(this.#left, to - i);
        i += n;
        this.#left -= n;
        if (this.#left === 0) this.#hdr = 0;
      }
    }
    return i;
  }

  #headerDone(): void {
    if (this.#left === 0) this.#hdr = 0;
  }

  #turnOff(to: number): number {
    this.off = true;
    return to;
  }
}

/** A close frame with `code` and no reason; masked (a client's frame) with a random key when `mask`. */
export function closeFrame(code: number, mask: Uint8Array | undefined): Buffer {
  if (mask === undefined) return Buffer.from([0x88, 0x02, code >> 8, code & 0xff]);
  return Buffer.from([0x88, 0x82, mask[0]!, mask[1]!, mask[2]!, mask[3]!, (code >> 8) ^ mask[0]!, (code & 0xff) ^ mask[1]!]);
}
