// Active health checks: every `healthCheck.intervalMs`, each member of a balancer that has one is probed
// (a GET, or a WebSocket handshake) with a `timeoutMs` deadline, and the result goes through the
// MemberTable's rise/fall counters. A member that fails `fall` probes in a row is held out; one that passes
// `rise` in a row is readmitted (which also ends a passive error early). The table is shared, so one
// checker per process (run it in the primary) serves every worker thread.
//
//   timer (per balancer) ─▶ probe each member (at most one in flight each) ─▶ table.recordProbe ─▶ 'up' / 'down'
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { rootCertificates } from 'node:tls';
import type { BalancerHealthCheckConfig } from '../config/schema.js';
import type { Balancer } from './balancer.js';
import type { MemberTable } from './member-table.js';
import type { BalancerMember } from './types.js';
import { encodeProxyV2Local } from '../proxy-protocol/encode-v2.js';
import { connectBackend } from '../tunnel/backend-connect.js';

export interface HealthEvent {
  readonly balancer: string;
  readonly member: string;
}

export interface ProbeEvent extends HealthEvent {
  readonly ok: boolean;
  /** Why a probe failed: a status, a socket error code or 'timeout'. */
  readonly detail: string;
}

export interface HealthCheckerEvents {
  /** A held-out member passed `rise` probes and is readmitted. */
  up: [HealthEvent];
  /** A member failed `fall` probes and is held out. */
  down: [HealthEvent];
  /** Every probe result. */
  probe: [ProbeEvent];
}

/** A fixed key for the WebSocket probe (16 bytes, base64, as RFC 6455 requires); only the 101 is checked. */
const PROBE_KEY = Buffer.from('wspass-probe-key').toString('base64');

export class HealthChecker extends EventEmitter<HealthCheckerEvents> {
  readonly #table: MemberTable;
  readonly #balancers: readonly Balancer[];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #inFlight = new Map<number, http.ClientRequest>();
  #closed = false;

  constructor(table: MemberTable, balancers: Iterable<Balancer>) {
    super();
    this.#table = table;
    this.#balancers = [...balancers].filter((b) => b.healthCheck !== undefined);
  }

  /** Probes every checked member now, then every intervalMs. Idempotent. */
  start(): void {
    if (this.#closed || this.#timers.length !== 0) return;
    for (const b of this.#balancers) {
      const hc = b.healthCheck!;
      this.#round(b, hc);
      const timer = setInterval(() => this.#round(b, hc), hc.intervalMs);
      // Never the reason a process stays up: listeners and workers are.
      timer.unref();
      this.#timers.push(timer);
    }
  }

  /** Stops the timers and aborts probes in flight. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers.length = 0;
    for (const req of this.#inFlight.values()) req.destroy();
    this.#inFlight.clear();
  }

  #round(balancer: Balancer, hc: BalancerHealthCheckConfig): void {
    for (const m of balancer.members) {
      // A disabled member is out of service by hand; its health does not matter until it is enabled.
      if (this.#inFlight.has(m.slot) || this.#table.state(m.slot) === 'disabled') continue;
      // This runs in a timer of the primary: a probe that cannot even be built (node:http throws on a bad
      // request target or header) is a failed probe, never an uncaught exception.
      try {
        this.#probe(balancer, m, hc);
      } catch (err) {
        this.#inFlight.delete(m.slot);
        this.#record(balancer, m, hc, false, err instanceof Error ? err.message : String(err));
      }
    }
  }

  #probe(balancer: Balancer, member: BalancerMember, hc: BalancerHealthCheckConfig): void {
    const websocket = hc.type === 'websocket';
    const origin = member.origin;
    const headers: Record<string, string> = { host: origin.hostHeader, 'user-agent': 'wspass-health-check' };
    if (websocket) {
      Object.assign(headers, {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': PROBE_KEY,
        'sec-websocket-version': '13',
      });
    } else headers.connection = 'close';
    const options: https.RequestOptions = {
      host: origin.hostname,
      port: origin.port,
      method: 'GET',
      path: member.pathPrefix + hc.path,
      headers,
      agent: false,
    };
    if (origin.secure) {
      const tls = member.tls;
      options.rejectUnauthorized = tls?.rejectUnauthorized ?? true;
      if (tls?.ca !== undefined) options.ca = [...rootCertificates, tls.ca];
      const servername = tls?.servername ?? (net.isIP(origin.hostname) === 0 ? origin.hostname : undefined);
      if (servername !== undefined) options.servername = servername;
    }
    // A member that expects a PROXY header gets one on probes too: LOCAL, which says the connection is the
    // proxy's own (HAProxy's check-send-proxy does the same).
    if (member.proxyProtocol === 'v2') options.agent = localHeaderAgent(origin.secure, member, hc.timeoutMs);
    const req = (origin.secure ? https : http).request(options);
    this.#inFlight.set(member.slot, req);
    let settled = false;
    const timer = setTimeout(() => finish(false, 'timeout'), hc.timeoutMs);
    const finish = (ok: boolean, detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      if (this.#inFlight.get(member.slot) === req) this.#inFlight.delete(member.slot);
      if (this.#closed) return;
      this.#record(balancer, member, hc, ok, detail);
    };
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish(!websocket && status >= 200 && status < 400, String(status));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      finish(websocket && res.statusCode === 101, String(res.statusCode));
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
    req.end();
  }

  #record(balancer: Balancer, member: BalancerMember, hc: BalancerHealthCheckConfig, ok: boolean, detail: string): void {
    const transition = this.#table.recordProbe(member.slot, ok, hc.rise, hc.fall, Date.now());
    const event = { balancer: balancer.name, member: member.url };
    this.emit('probe', { ...event, ok, detail });
    if (transition !== undefined) this.emit(transition, event);
  }
}

/**
 * A one-probe agent whose connection starts with a PROXY v2 LOCAL header (before TLS). An agent, because
 * node:http takes a connection made asynchronously only from an agent's createConnection.
 */
function localHeaderAgent(secure: boolean, member: BalancerMember, timeoutMs: number): http.Agent {
  const agent = secure ? new https.Agent() : new http.Agent();
  agent.createConnection = (_opts, done) => {
    // On failure node:http reads only the error (its callback type asks for a stream anyway).
    const fail = done as ((err: Error) => void) | undefined;
    connectBackend(member.origin, { connectTimeoutMs: timeoutMs, tls: member.tls, proxyHeader: encodeProxyV2Local() }).then(
      (socket) => done?.(null, socket),
      (err: unknown) => fail?.(err instanceof Error ? err : new Error(String(err))),
    );
    return undefined;
  };
  return agent;
}
