// CPU accounting over one measured window: the proxy's, the backend's and our own (load generator)
// CPU ticks, the machine's busy ticks, and the proxy's write syscalls, so cost per unit, writes per
// unit and other tenants' noise come from the same two instants.
import { performance } from 'node:perf_hooks';
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
  #start: Snapshot | undefined;
  #result: WindowCpu | undefined;

  constructor(proxyPids: readonly number[] | null, backendPids: readonly number[]) {
    this.#proxyPids = proxyPids;
    this.#backendPids = backendPids;
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
}
