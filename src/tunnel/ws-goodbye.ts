// A drain's goodbye on a WebSocket tunnel of the JavaScript engine (the C engine does the same in
// src/native/ws_goodbye.c): instead of a bare FIN, which every client sees as 1006 (abnormal) and which
// loses the messages in flight, both peers get a closing handshake.
//
//   client → backend: the frame in progress is let through to its end, then the backend gets a masked
//                     close 1001 (Going Away); whatever the client sends after it is dropped, because
//                     nothing may follow a close frame, and its frames are counted (framesDropped).
//   backend → client: relayed frame by frame until the backend's close frame begins; that frame is not
//                     passed on: the client gets a close frame with the configured code instead (1012
//                     Service Restart or 1001), and nothing after it.
//   done:             both close frames sent and the client's close received (or its FIN): FIN both ways.
//
// The tunnel bounds the whole exchange (a frame that never ends behind a slow reader, a peer that never
// answers): at the bound it FINs as a plain close does. Framing that turns a tracker off ends the goodbye
// the same way at once.
import { randomFillSync } from 'node:crypto';
import type { TunnelLane } from './tunnel-lane.js';
import { closeFrame, OP_CLOSE, type FrameTracker } from './ws-frame-tracker.js';

/** The backend's close code: the proxy, as the backend's client, is going away. */
const BACKEND_CLOSE_CODE = 1001;

/** Whether a goodbye can start: both directions tracked, valid, and no close frame seen yet. */
export function canSayGoodbye(toBackend: TunnelLane, toClient: TunnelLane): boolean {
  const a = toBackend.tracker;
  const b = toClient.tracker;
  return a !== undefined && b !== undefined && !a.off && !b.off && !a.closeSeen && !b.closeSeen;
}

export class WsGoodbye {
  /** Client frames (other than close) dropped after the backend's close frame was sent. */
  framesDropped = 0;
  /** The handshake completed (as opposed to a fallback to FIN). */
  completed = false;
  #backendCloseSent = false;
  #clientCloseSent = false;
  #clientDone = false;
  #ended = false;
  readonly #toBackend: TunnelLane;
  readonly #toClient: TunnelLane;
  readonly #c2b: FrameTracker;
  readonly #b2c: FrameTracker;

  /**
   * Takes both lanes' chunks from now on. `end` runs once: when the handshake completed, or when it
   * cannot go on (framing turned a tracker off, a FIN in the middle of a frame).
   * Call only when canSayGoodbye() is true.
   */
  constructor(
    toBackend: TunnelLane,
    toClient: TunnelLane,
    private readonly clientCode: number,
    private readonly end: () => void,
  ) {
    this.#toBackend = toBackend;
    this.#toClient = toClient;
    this.#c2b = toBackend.tracker!;
    this.#b2c = toClient.tracker!;
    toBackend.gate = this.#fromClient;
    toClient.gate = this.#fromBackend;
    if (this.#c2b.atBoundary) this.#sendBackendClose();
  }

  /** The client sent its FIN: it will send no close frame (the FIN itself is passed on by the tunnel). */
  clientEnded(): void {
    if (!this.#backendCloseSent) {
      if (!this.#c2b.atBoundary) return this.#stop();
      this.#sendBackendClose();
    }
    this.#clientDone = true;
    this.#check();
  }

  /** The backend sent its FIN: the client gets its close frame now if it can (the FIN waits for the end). */
  backendEnded(): void {
    if (!this.#clientCloseSent) {
      if (!this.#b2c.atBoundary) return this.#stop();
      this.#sendClientClose();
    }
    this.#check();
  }

  readonly #fromClient = (chunk: Buffer): void => {
    const t = this.#c2b;
    let i = 0;
    if (!this.#backendCloseSent) {
      i = t.scan(chunk, 0, chunk.length, true);
      if (t.off) {
        this.#toBackend.forward(chunk);
        return this.#stop();
      }
      if (i > 0) this.#toBackend.forward(i === chunk.length ? chunk : chunk.subarray(0, i));
      if (!t.atBoundary) return; // the frame in progress goes on in the next chunk
      this.#sendBackendClose();
    }
    // After the close frame: nothing is passed on; frames are counted, the client's close noted.
    for (;;) {
      i = t.scan(chunk, i, chunk.length, true);
      if (i >= chunk.length || t.off) break;
      if ((chunk[i]! & 0x0f) === OP_CLOSE) this.#clientDone = true;
      else this.framesDropped++;
      i = t.scan(chunk, i, i + 1, false);
    }
    this.#check();
  };

  readonly #fromBackend = (chunk: Buffer): void => {
    if (this.#clientCloseSent) return; // nothing follows the close frame the client got
    const t = this.#b2c;
    let i = 0;
    for (;;) {
      i = t.scan(chunk, i, chunk.length, true);
      if (t.off) {
        this.#toClient.forward(chunk);
        return this.#stop();
      }
      if (i >= chunk.length) break;
      if ((chunk[i]! & 0x0f) === OP_CLOSE) {
        // The backend's close frame begins here: what came before passes, the client gets ours instead.
        if (i > 0) this.#toClient.forward(chunk.subarray(0, i));
        this.#sendClientClose();
        this.#check();
        return;
      }
      i = t.scan(chunk, i, i + 1, false);
    }
    this.#toClient.forward(chunk);
  };

  #sendBackendClose(): void {
    this.#backendCloseSent = true;
    this.#toBackend.forward(closeFrame(BACKEND_CLOSE_CODE, randomFillSync(new Uint8Array(4))));
  }

  #sendClientClose(): void {
    this.#clientCloseSent = true;
    this.#toClient.forward(closeFrame(this.clientCode, undefined));
  }

  #check(): void {
    if (this.#backendCloseSent && this.#clientCloseSent && this.#clientDone) {
      this.completed = true;
      this.#stop();
    }
  }

  #stop(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.end();
  }
}
