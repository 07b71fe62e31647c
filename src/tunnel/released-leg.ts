// A backend connection the C core handed over after its 101 (native-backend-leg.ts): an fd this side
// owns until it gives it on, to the native tunnel (which takes the fd itself) or to a net.Socket (the
// JavaScript engine, when the core cannot take the tunnel).
import net from 'node:net';
import type { NativeAddon } from './native-addon.js';

export class ReleasedLeg {
  readonly #addon: NativeAddon;
  #fd: number;

  constructor(addon: NativeAddon, fd: number) {
    this.#addon = addon;
    this.#fd = fd;
  }

  /** The fd, or -1 once it was closed or given to a socket. */
  get fd(): number {
    return this.#fd;
  }

  /** A net.Socket on the fd (for the JavaScript engine, when the core cannot take the tunnel). */
  toSocket(): net.Socket {
    const fd = this.#fd;
    this.#fd = -1;
    if (fd >= 0) {
      // Node owns it from here: the addon must not close it at worker exit (src/native/held_fds.h).
      this.#addon.forgetFd(fd);
      return new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    }
    // Destroyed already: a destroyed socket, which the JavaScript engine reports as closed at once.
    const gone = new net.Socket();
    gone.destroy();
    return gone;
  }

  /** The native tunnel took the fd (it closes it). */
  handedOver(): void {
    this.#fd = -1;
  }

  /** Closes the connection. */
  destroy(): void {
    const fd = this.#fd;
    this.#fd = -1;
    // Closed by the addon: fs.closeSync in a worker warns about an fd fs did not open.
    if (fd >= 0) this.#addon.closeFd(fd);
  }
}

