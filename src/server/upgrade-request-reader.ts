// Reads the client side of an upgrade request between its head and the backend's answer:
//
//   client ──▶ [body bytes, in the client's own framing] ──▶ the current backend attempt (as they arrive)
//          └─▶ [bytes after the end of the message]      ──▶ held: the first tunnel bytes after a 101,
//                                                             or the next request after any other answer
//          └─▶ FIN                                         ──▶ passed on as the backend's FIN once the
//                                                             request and its body are sent
//
// A request body is part of the request (RFC 9110 §7.8), so a backend that reads it before answering gets
// it. Up to `replayBytes` of body are kept so a balancer can retry the whole request on another member,
// as Apache does with its 16 KiB prefetch; past that the request cannot be replayed once sent. Reading is
// paused (TCP back-pressure on the client) while the backend is slow to take the body, while no backend is
// connected and `replayBytes` are waiting, and once `earlyBytes` of early data are held.
import type { Socket } from 'node:net';
import { BodyDelimiter, type RequestFraming } from '../http/request-framing.js';

export interface UpgradeRequestReaderOptions {
  /** Body bytes kept for a retry on another balancer member. */
  readonly replayBytes: number;
  /** Early tunnel bytes held before the client is paused. */
  readonly earlyBytes: number;
  /** The body is malformed or was cut short by the client's FIN: the request cannot be completed. */
  readonly onBodyError: (reason: string) => void;
}

/** Where the request body goes: a backend socket, or a native backend leg (which carries no body). */
export interface RequestSink {
  write(chunk: Buffer): boolean;
  end(): void;
  readonly destroyed: boolean;
  readonly writableNeedDrain: boolean;
  on(event: 'drain', fn: () => void): unknown;
  removeListener(event: 'drain', fn: () => void): unknown;
}

export class UpgradeRequestReader {
  readonly #client: Socket;
  readonly #opts: UpgradeRequestReaderOptions;
  readonly #delimiter: BodyDelimiter | undefined;
  /** Body chunks not yet dropped: all of them while replayable, else only those not yet written. */
  #body: Buffer[] = [];
  /** How many of #body the current backend has been given. */
  #written = 0;
  #bodyBytes = 0;
  #replayable = true;
  #early: Buffer[] = [];
  #earlyBytes = 0;
  #sink: RequestSink | undefined;
  #sinkEnded = false;
  #clientEnded = false;
  #failed = false;
  #stopped = false;

  constructor(client: Socket, head: Buffer, framing: RequestFraming, opts: UpgradeRequestReaderOptions) {
    this.#client = client;
    this.#opts = opts;
    this.#delimiter = framing.kind === 'length' || framing.kind === 'chunked' ? new BodyDelimiter(framing) : undefined;
    // A client that half-closed together with its head may have had its FIN read already.
    if (client.readableEnded) this.#clientEnded = true;
    if (head.length > 0) this.#onData(head);
    client.on('data', this.#onData);
    client.on('end', this.#onEnd);
    this.#throttle();
  }

  /** The whole request body has been read from the client. */
  get bodyComplete(): boolean {
    return this.#delimiter === undefined || this.#delimiter.done;
  }

  /** Nothing of the body was dropped: the request can be sent again from the start. */
  get replayable(): boolean {
    return this.#replayable;
  }

  /** The client sent its FIN. */
  get clientEnded(): boolean {
    return this.#clientEnded;
  }

  /** Sends the body (from its start) to a backend whose request head was just written. */
  attach(backend: RequestSink): void {
    this.#sink = backend;
    this.#sinkEnded = false;
    this.#written = 0;
    backend.on('drain', this.#onSinkDrain);
    this.#flush();
  }

  /** The attempt on this backend ended (answered or failed): stop writing to it. */
  detach(): void {
    this.#sink?.removeListener('drain', this.#onSinkDrain);
    this.#sink = undefined;
    this.#throttle();
  }

  /**
   * Stops reading; the client is left paused for whoever takes it next (the tunnel, or node:http). Returns
   * the bytes that followed the message, if any.
   */
  finish(): Buffer | undefined {
    this.detach();
    this.#stopped = true;
    this.#client.removeListener('data', this.#onData);
    this.#client.removeListener('end', this.#onEnd);
    this.#client.pause();
    this.#body = [];
    const early = this.#early;
    this.#early = [];
    if (early.length === 0) return undefined;
    return early.length === 1 ? early[0] : Buffer.concat(early);
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#failed || this.#stopped) return;
    let rest: Buffer | undefined = chunk;
    if (this.#delimiter !== undefined && !this.#delimiter.done) {
      const r = this.#delimiter.feed(chunk);
      if (r.kind === 'invalid') {
        this.#fail(`invalid request body: ${r.reason}`);
        return;
      }
      const end = r.kind === 'more' ? chunk.length : r.bodyEnd;
      if (end > 0) this.#addBody(end === chunk.length ? chunk : chunk.subarray(0, end));
      rest = end === chunk.length ? undefined : chunk.subarray(end);
    }
    if (rest !== undefined && rest.length > 0) {
      this.#early.push(rest);
      this.#earlyBytes += rest.length;
    }
    this.#flush();
    this.#throttle();
  };

  readonly #onEnd = (): void => {
    this.#clientEnded = true;
    if (!this.bodyComplete) {
      this.#fail('the client closed before the end of the request body');
      return;
    }
    this.#flush();
  };

  readonly #onSinkDrain = (): void => {
    this.#throttle();
  };

  #addBody(part: Buffer): void {
    this.#body.push(part);
    this.#bodyBytes += part.length;
    if (this.#bodyBytes > this.#opts.replayBytes) this.#replayable = false;
  }

  /** Writes what the current backend has not had yet; passes the FIN on once the whole request is out. */
  #flush(): void {
    const sink = this.#sink;
    if (sink === undefined || sink.destroyed) return;
    while (this.#written < this.#body.length) sink.write(this.#body[this.#written++]!);
    if (!this.#replayable) {
      // Sent and never to be replayed: let them go.
      this.#body = [];
      this.#written = 0;
    }
    if (this.#clientEnded && this.bodyComplete && !this.#sinkEnded) {
      this.#sinkEnded = true;
      sink.end();
    }
  }

  /** Pauses or resumes the client according to what is waiting (see the top of the file). */
  #throttle(): void {
    if (this.#stopped || this.#failed) return;
    const sink = this.#sink;
    const waiting = sink === undefined ? this.#bodyBytes > this.#opts.replayBytes || (!this.#replayable && this.#body.length > 0) : false;
    const pause =
      this.#earlyBytes >= this.#opts.earlyBytes || waiting || (sink !== undefined && sink.writableNeedDrain);
    if (pause) this.#client.pause();
    else this.#client.resume();
  }

  #fail(reason: string): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#client.pause();
    this.#opts.onBodyError(reason);
  }
}
