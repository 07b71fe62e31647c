// A backend connection the C core handed over after its 101 (native-backend-leg.ts): an fd this side
// owns until it gives it on, to the native tunnel (which takes the fd itself) or to a net.Socket (the
// JavaScript engine, when the core cannot take the tunnel). Its ownership rules are RawFd's.
import net from 'node:net';
import type { NativeAddon } from './native-addon.js';
import { closedSocket, RawFd } from './raw-fd.js';

export class ReleasedLeg {
  readonly #raw: RawFd;

  constructor(addon: NativeAddon, fd: number) {
    this.#raw = new RawFd(addon, fd);
  }

  /** The fd, or -1 once it was closed or given to a socket. */
  get fd(): number {
    return this.#raw.fd;
  }

  /** A net.Socket on the fd (for the JavaScript engine, when the core cannot take the tunnel). */
  toSocket(): net.Socket {
    const fd = this.#raw.forSocket();
    // Destroyed already: a closed socket, which the JavaScript engine reports as closed at once.
    return fd >= 0 ? new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true }) : closedSocket();
  }

  /** The native tunnel took the fd (it closes it). */
  handedOver(): void {
    this.#raw.handedOver();
  }

  /** Closes the connection. */
  destroy(): void {
    this.#raw.close();
  }
}
