// CPU accounting over one measured window: the proxy's, the backend's and our own (load generator)
// CPU ticks, the machine's busy ticks, and the proxy's write syscalls, so cost per unit, writes per
// unit and other tenants' noise come from the same two instants.
//
// syscw does not count send(2) or splice(2), the calls wspass's native tunnel engine writes with (its
// backend legs send the handshakes' request heads too): for wspass the window also reads wspass's own
// count of them (its admin `/status?flush=1`, asked at both edges: every worker adds its open tunnels'
// counts first, so neither edge is up to a second stale).
// The window opens once the first answer is in (begin()): a request sent at the start edge under full
// load answered hundreds of milliseconds late (the bench's first fetch loads its HTTP client), and the
// writes of that stretch were missing from a count whose other edge came after the load stopped.
import { performance } from 'node:perf_hooks';
import type { AdminClient, OwnWrites } from '../scenarios/types.js';
import { foreignCoreFraction } from './cost.js';
import { clockTicksPerSecond, readCpuTicks, readProcessCpuNs, readSystemCpu, readWriteSyscallsOf, sumOverPids } from './proc.js';

export interface WindowCpu {
  seconds: number;
  hz: number;
  /** Null when the proxy's pids are unknown (a --target without --target-pid). */
  proxyTicks: number | null;
  backendTicks: number;
  loadgenTicks: number;
  systemBusyTicks: number;
  /** CPU used by other processes during the window, as a fraction of one core. */
  foreignCores: number;
  /** The proxy's write-family syscalls in the window (/proc/<pid>/io syscw); null when unreadable. */
  proxyWrites: number | null;
  /**
   * wspass only: its native engine's send/splice-out calls in the window, by its own count
   * (`wspass_tunnel_writes_total{engine="native"}`); absent when not read (another proxy, or a wspass
   * without the count or the admin endpoint).
   */
  proxyNativeSends?: number;
  /**
   * wspass only: its native engine's backend legs' sends of handshake request heads in the window
   * (`wspass_backend_leg_writes_total`); absent where not read, as above, or where wspass did not count them.
   */
  proxyLegSends?: number;
  /** The proxy's CPU time in nanoseconds from schedstat (live threads); null when unavailable. */
  proxyCpuNs: number | null;
}

interface Snapshot {
  t: number;
  proxy: number;
  backend: number;
  self: number;
  sys: number;
  writes: number | null;
  proxyNs: number | null;
}

export class CpuWindow {
  readonly #proxyPids: readonly number[] | null;
  readonly #backendPids: readonly number[];
  readonly #admin: AdminClient | null;
  #start: Snapshot | undefined;
  #result: WindowCpu | undefined;
  /** wspass's own write counts at each edge (null: not known), when begin() read the first. */
  #ownStart: OwnWrites | null = null;
  #ownEnd: Promise<OwnWrites | null> | undefined;

  /** `admin`: wspass's admin endpoint, to read its own count of native-engine sends at both edges. */
  constructor(proxyPids: readonly number[] | null, backendPids: readonly number[], admin: AdminClient | null = null) {
    this.#proxyPids = proxyPids;
    this.#backendPids = backendPids;
    this.#admin = admin;
  }

  #readOwn(admin: AdminClient): Promise<OwnWrites | null> {
    return admin.tunnelWrites().catch(() => null);
  }

  /** Reads wspass's own count (when there is an admin endpoint), then opens the window: start(). */
  async begin(): Promise<void> {
    if (this.#admin) this.#ownStart = await this.#readOwn(this.#admin);
    this.start();
  }

  #snap(): Snapshot {
    return {
      t: performance.now(),
      proxy: this.#proxyPids ? readCpuTicks(this.#proxyPids) : 0,
      backend: readCpuTicks(this.#backendPids),
      self: readCpuTicks([process.pid]),
      sys: readSystemCpu().busy,
      writes: this.#proxyPids ? readWriteSyscallsOf(this.#proxyPids) : null,
      proxyNs: this.#proxyPids ? sumOverPids(this.#proxyPids, readProcessCpuNs) : null,
    };
  }

  start(): void {
    this.#start = this.#snap();
  }

  end(): WindowCpu {
    if (!this.#start) throw new Error('CpuWindow.end() before start()');
    const a = this.#start;
    const b = this.#snap();
    // Asked when this tick ends; the load has stopped by then, so its lateness adds nothing.
    if (this.#admin && this.#ownStart !== null) this.#ownEnd = this.#readOwn(this.#admin);
    const hz = clockTicksPerSecond();
    const seconds = (b.t - a.t) / 1000;
    const proxyTicks = this.#proxyPids ? b.proxy - a.proxy : null;
    const own = (proxyTicks ?? 0) + (b.backend - a.backend) + (b.self - a.self);
    this.#result = {
      seconds,
      hz,
      proxyTicks,
      backendTicks: b.backend - a.backend,
      loadgenTicks: b.self - a.self,
      systemBusyTicks: b.sys - a.sys,
      foreignCores: foreignCoreFraction(b.sys - a.sys, own, seconds, hz),
      proxyWrites: a.writes !== null && b.writes !== null ? b.writes - a.writes : null,
      proxyCpuNs: a.proxyNs !== null && b.proxyNs !== null ? b.proxyNs - a.proxyNs : null,
    };
    return this.#result;
  }

  get result(): WindowCpu | undefined {
    return this.#result;
  }

  /** The result once wspass's own counts from both edges are in (the same object, completed). */
  async settled(): Promise<WindowCpu> {
    const r = this.#result;
    if (!r) throw new Error('CpuWindow.settled() before end()');
    const a = this.#ownStart;
    const b = await this.#ownEnd;
    if (a === null || b === undefined || b === null) return r;
    r.proxyNativeSends = b.native - a.native;
    if (a.backendLeg !== null && b.backendLeg !== null) r.proxyLegSends = b.backendLeg - a.backendLeg;
    return r;
  }
}
