// The access log: one JSON line per tunnel when it closes and one per plain HTTP request, none per
// message; optionally one when a tunnel opens. Lines go to the process log (JSON on stdout) at level info,
// marked `"access":true`: `log.access: false` turns them off, and so does a `log.level` above info (as the
// bench runs, which keeps revisions from before the access log comparable).
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { TunnelCloseInfo, TunnelCloseReason } from '../tunnel/tunnel.js';

/** What the access log says about a tunnel besides its close info. */
export interface TunnelFacts {
  readonly route: string;
  readonly url: string;
  /** The client's address (clientAddress(req)). */
  readonly client: string;
  /** The balancer member that took it. */
  readonly member: string | undefined;
  /** The protocol switched to (the 101's Upgrade) and the subprotocol it chose (Sec-WebSocket-Protocol). */
  readonly upgrade: string;
  readonly subprotocol: string | undefined;
}

/** Why the proxy itself closed a tunnel, when it did (a close(), not a socket event). */
export type ProxyCloseCause = 'drain';

/** What ended a tunnel, as the access log and the close-reason metric name it. */
export type CloseCause = TunnelCloseReason | ProxyCloseCause;

/** Who closed: the side whose FIN, reset or error came first, or the proxy (idle timeout, drain, destroy). */
export function closedBy(cause: CloseCause): 'client' | 'backend' | 'proxy' {
  if (cause === 'client-closed' || cause === 'client-error') return 'client';
  if (cause === 'backend-closed' || cause === 'backend-error') return 'backend';
  return 'proxy';
}

/** One plain HTTP request as the access log writes it. */
export interface HttpFacts {
  /** The route that matched; undefined when none did or the request was refused before routing. */
  readonly route: string | undefined;
  readonly method: string;
  readonly url: string;
  readonly client: string;
  readonly member: string | undefined;
  readonly status: number;
  /** Bytes written to the client connection for this answer (head and body). */
  readonly bytesToClient: number;
  /** Bytes read from the client connection while the request was served (head and body). */
  readonly bytesFromClient: number;
  readonly durationMs: number;
  /** The response did not complete (the client or the backend went away mid-answer). */
  readonly aborted: boolean;
}

export class AccessLog {
  readonly #log: Logger | undefined;
  readonly #tunnelOpen: boolean;

  /** `log` is the process logger; the access lines are its info lines. */
  constructor(log: Logger, config: Pick<Config, 'log'>) {
    this.#log = config.log.access ? log.child({ access: true }) : undefined;
    this.#tunnelOpen = config.log.tunnelOpen;
  }

  /** Whether request lines are written at all: when not, the plain path gathers nothing for them. */
  get writesRequests(): boolean {
    return this.#log !== undefined && this.#log.isLevelEnabled('info');
  }

  tunnelOpened(facts: TunnelFacts): void {
    if (this.#tunnelOpen) this.#log?.info(facts, 'tunnel opened');
  }

  tunnelClosed(facts: TunnelFacts, info: TunnelCloseInfo, cause: CloseCause): void {
    this.#log?.info(
      {
        ...facts,
        reason: cause,
        closedBy: closedBy(cause),
        bytesToBackend: info.bytesToBackend,
        bytesToClient: info.bytesToClient,
        durationMs: Math.round(info.durationMs),
        err: info.error?.message,
        // A drained WebSocket tunnel: how its goodbye ended, and the client frames dropped after it began.
        goodbye: info.goodbye,
        framesDropped: info.framesDropped,
      },
      'tunnel closed',
    );
  }

  httpRequest(facts: HttpFacts): void {
    this.#log?.info(facts, 'http request');
  }
}
