// WebSocket clients for topology tests, all from one local address (the address the backends must see
// in X-Forwarded-For): long-lived tunnels that echo all along and reconnect when the proxy closes them,
// and a loop that opens a new WebSocket every few milliseconds, each echoing once, counting failed
// handshakes.
import { WebSocket } from 'ws';

/** A close of a long-lived tunnel, as its client saw it. */
export interface TunnelClose {
  readonly key: string;
  readonly at: number;
  readonly code: number;
}

/** One long-lived tunnel: echoes a numbered message when asked, reconnects (same key) whenever it closes. */
class LongLivedTunnel {
  ws: WebSocket | undefined;
  #seq = 0;
  #waiting: { text: string; resolve: (ok: boolean) => void } | undefined;

  constructor(
    readonly key: string,
    private readonly fleet: LongLivedFleet,
  ) {}

  connect(): Promise<void> {
    return new Promise((resolve) => {
      const ws = new WebSocket(this.fleet.url(this.key), { localAddress: this.fleet.localAddress });
      this.ws = ws;
      let opened = false;
      ws.on('open', () => {
        opened = true;
        resolve();
      });
      ws.on('message', (data: Buffer) => {
        const w = this.#waiting;
        this.#waiting = undefined;
        if (w === undefined || data.toString() !== w.text) this.fleet.problems.push(`${this.key}: unexpected message ${data.toString()}`);
        w?.resolve(w.text === data.toString());
      });
      ws.on('error', (err) => {
        if (!opened) this.fleet.problems.push(`${this.key}: handshake failed: ${err.message}`);
      });
      ws.on('close', (code) => {
        // A message in flight when the proxy said goodbye is dropped by design; not an echo failure.
        this.#waiting?.resolve(false);
        this.#waiting = undefined;
        if (opened) this.fleet.closes.push({ key: this.key, at: Date.now(), code });
        if (this.fleet.stopping) {
          resolve();
          return;
        }
        // Reconnect at once (through the load balancer, to whichever instance it picks), as clients do;
        // after a failed handshake, a moment later (each failure is already a problem of the test).
        const again = () => void this.connect().then(resolve);
        if (opened) again();
        else setTimeout(again, 50);
      });
    });
  }

  /** Sends a message and resolves with whether the same came back (false when the tunnel closed first). */
  echo(): Promise<boolean> {
    const ws = this.ws;
    if (ws?.readyState !== WebSocket.OPEN || this.#waiting !== undefined) return Promise.resolve(false);
    const text = `${this.key}:${this.#seq++}`;
    return new Promise((resolve) => {
      this.#waiting = { text, resolve };
      ws.send(text);
    });
  }
}

/** Long-lived tunnels through `url(key)`: they echo in turns all along and reconnect when closed. */
export class LongLivedFleet {
  readonly tunnels: LongLivedTunnel[];
  readonly closes: TunnelClose[] = [];
  /** Handshakes that failed, unexpected messages: each a reason. */
  readonly problems: string[] = [];
  echoes = 0;
  stopping = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly url: (key: string) => string,
    readonly localAddress: string,
    keys: readonly string[],
  ) {
    this.tunnels = keys.map((k) => new LongLivedTunnel(k, this));
  }

  /** Opens every tunnel (a few at a time, as a fleet of clients would), then starts the echoes. */
  async open(echoEveryMs: number): Promise<void> {
    for (let i = 0; i < this.tunnels.length; i += 50) await Promise.all(this.tunnels.slice(i, i + 50).map((t) => t.connect()));
    // Each tick, one slice of the tunnels echoes, so every tunnel echoes once per echoEveryMs, spread out.
    const slices = 10;
    let slice = 0;
    this.#timer = setInterval(() => {
      for (let i = slice; i < this.tunnels.length; i += slices) {
        void this.tunnels[i]!.echo().then((ok) => {
          if (ok) this.echoes++;
        });
      }
      slice = (slice + 1) % slices;
    }, echoEveryMs / slices);
  }

  /** Every tunnel open now. */
  allOpen(): boolean {
    return this.tunnels.every((t) => t.ws?.readyState === WebSocket.OPEN);
  }

  /** Each tunnel echoes once more; resolves with the keys that did not get their echo back. */
  async finalEcho(): Promise<string[]> {
    clearInterval(this.#timer);
    // Wait out an echo of the periodic timer still in flight (it holds the tunnel's one slot).
    const results = await Promise.all(
      this.tunnels.map(async (t) => {
        for (let i = 0; i < 50; i++) {
          if (await t.echo()) return undefined;
          await new Promise((r) => setTimeout(r, 20));
        }
        return t.key;
      }),
    );
    return results.filter((k): k is string => k !== undefined);
  }

  /** Closes every tunnel (no reconnects); resolves when all have closed. */
  async close(): Promise<void> {
    this.stopping = true;
    clearInterval(this.#timer);
    await Promise.all(
      this.tunnels.map(
        (t) =>
          new Promise<void>((resolve) => {
            const ws = t.ws;
            if (ws === undefined || ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once('close', () => resolve());
            ws.terminate();
          }),
      ),
    );
  }
}

/** Opens a new WebSocket every `everyMs` (without waiting for the previous), each echoing once then closing. */
export class NewConnectionLoop {
  opened = 0;
  echoed = 0;
  /** Failed handshakes: each a reason. */
  readonly failures: string[] = [];
  #n = 0;
  #timer: NodeJS.Timeout;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(
    private readonly url: (key: string) => string,
    private readonly localAddress: string,
    private readonly keyOf: (n: number) => string,
    everyMs: number,
  ) {
    this.#timer = setInterval(() => this.#one(), everyMs);
  }

  #one(): void {
    const key = this.keyOf(this.#n++);
    const done = new Promise<void>((resolve) => {
      const ws = new WebSocket(this.url(key), { localAddress: this.localAddress });
      let opened = false;
      const guard = setTimeout(() => {
        if (!opened) this.failures.push(`${key}: no handshake within 10 s`);
        ws.terminate();
      }, 10_000);
      ws.on('open', () => {
        opened = true;
        this.opened++;
        ws.send(key);
      });
      ws.on('message', () => {
        this.echoed++;
        ws.close();
      });
      ws.on('unexpected-response', (_req, res) => {
        this.failures.push(`${key}: answered ${res.statusCode}`);
        ws.terminate();
      });
      ws.on('error', (err) => {
        if (!opened) this.failures.push(`${key}: ${err.message}`);
      });
      ws.on('close', () => {
        clearTimeout(guard);
        resolve();
      });
    });
    this.#inFlight.add(done);
    void done.then(() => this.#inFlight.delete(done));
  }

  /** Stops opening; resolves once every connection it opened has closed. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#inFlight]);
  }
}

/** Opens one WebSocket, echoes `text` once and closes; rejects on a failed handshake or a wrong echo (bounded). */
export function echoOnce(url: string, localAddress: string, text: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress });
    let failure: Error | undefined;
    const guard = setTimeout(() => {
      failure ??= new Error(`${url}: no echo within ${timeoutMs} ms`);
      ws.terminate();
    }, timeoutMs);
    ws.on('open', () => ws.send(text));
    let echoed = false;
    ws.on('message', (data: Buffer) => {
      echoed = true;
      if (data.toString() !== text) failure ??= new Error(`${url}: echoed ${data.toString()}, sent ${text}`);
      ws.close();
    });
    ws.on('error', (err) => (failure ??= err));
    ws.on('close', (code) => {
      clearTimeout(guard);
      if (!echoed) failure ??= new Error(`${url}: closed (${code}) before the echo`);
      if (failure) reject(failure);
      else resolve();
    });
  });
}
