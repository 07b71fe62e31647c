// An fd the addon gave to JavaScript raw (a backend leg after its 101, a client the native front holds),
// owned here until it goes on, by exactly one of three ways: to the native tunnel, which takes it as it is
// (handedOver); to a net.Socket, which closes it from then on (forSocket); or closed (close). The addon
// marks such fds so that a worker's exit closes them (src/native/held_fds.h), and every way out clears that
// mark: a mark left on an fd that went elsewhere would make the exit close a number another connection may
// own by then. ReleasedLeg and HeldClient keep their fd in one of these, so no path of theirs can skip it.
import net from 'node:net';
import type { NativeAddon } from './native-addon.js';

export class RawFd {
  readonly #addon: NativeAddon;
  #fd: number;

  constructor(addon: NativeAddon, fd: number) {
    this.#addon = addon;
    this.#fd = fd;
  }

  /** The fd, or -1 once it went on. */
  get fd(): number {
    return this.#fd;
  }

  /** The fd for a net.Socket about to be made on it (Node closes it from then on), or -1 if it went on. */
  forSocket(): number {
    const fd = this.#fd;
    this.#fd = -1;
    if (fd >= 0) this.#addon.forgetFd(fd);
    return fd;
  }

  /** The native tunnel took the fd (the addon cleared its mark and closes it). */
  handedOver(): void {
    this.#fd = -1;
  }

  /** Closes the fd (through the addon: fs.closeSync in a worker warns about an fd fs did not open). False if it went on already. */
  close(): boolean {
    const fd = this.#fd;
    if (fd < 0) return false;
    this.#fd = -1;
    this.#addon.closeFd(fd);
    return true;
  }

  /** What the peer did so far, looked at once (a zero-timeout poll): 0 nothing, 1 its FIN, 2 gone. */
  peerState(): number {
    return this.#fd < 0 ? 2 : this.#addon.peerState(this.#fd);
  }
}

/** A socket that is already closed: what a side whose fd went elsewhere hands the JavaScript engine. */
export function closedSocket(): net.Socket {
  const gone = new net.Socket();
  gone.on('error', ignore);
  gone.destroy();
  return gone;
}

function ignore(): void {}
