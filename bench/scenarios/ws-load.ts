// The part the WebSocket scenarios share: run the shards over the scenario's window with the CPU window
// read at its edges, and turn CPU ticks into a cost per unit of work.
import { runLoad, type LoadResult } from '../loadgen/run-shards.js';
import type { ShardKind } from '../loadgen/protocol.js';
import { millisPerGB, microsPerUnit } from '../measure/cost.js';
import { CpuWindow, type WindowCpu } from '../measure/window.js';
import type { CaseContext, CostUnit, Measurement } from './types.js';

export async function measureWsLoad(
  ctx: CaseContext,
  kind: ShardKind,
  path: 'echo' | 'sink',
  extra: { ratePerSec?: number; windowBytes?: number; inFlight?: number } = {},
): Promise<{ load: LoadResult; cpu: WindowCpu }> {
  const win = new CpuWindow(ctx.proxyPids, [ctx.backendPid], ctx.admin);
  const s = ctx.settings;
  const load = await runLoad({
    kind,
    urls: [ctx.wsBase + path],
    connections: s.connections,
    shards: s.shards,
    sizeBytes: s.sizeBytes,
    warmupMs: s.warmupS * 1000,
    durationMs: s.durationS * 1000,
    onWindowStart: () => win.begin(),
    onWindowEnd: () => void win.end(),
    ...extra,
  });
  return { load, cpu: await win.settled() };
}

/** Proxy and backend cost per unit for this CPU window (ms/GB takes bytes as units). */
export function costOf(cpu: WindowCpu, units: number, unit: CostUnit): Measurement['cost'] {
  const per = (ticks: number | null) => {
    if (ticks === null) return null;
    return unit === 'ms/GB' ? millisPerGB(ticks, cpu.hz, units) : microsPerUnit(ticks, cpu.hz, units);
  };
  return { unit, proxy: per(cpu.proxyTicks), backend: per(cpu.backendTicks) };
}

/**
 * The proxy's write syscalls in the window per unit of work (undefined when they were not readable):
 * syscw, plus wspass's own count of its native engine's sends where the window read it, its tunnels' and
 * its backend legs' (syscw does not see send(2) or splice(2), so no call is counted twice).
 */
export function writesOf(cpu: WindowCpu | null, units: number, unit: string): Measurement['writes'] {
  if (!cpu || cpu.proxyWrites === null) return undefined;
  if (cpu.proxyNativeSends === undefined) {
    return { syscalls: cpu.proxyWrites, perUnit: units > 0 ? cpu.proxyWrites / units : null, unit, source: 'syscw' };
  }
  const legs = cpu.proxyLegSends;
  const native = cpu.proxyNativeSends + (legs ?? 0);
  const syscalls = cpu.proxyWrites + native;
  const w: NonNullable<Measurement['writes']> = { syscalls, perUnit: units > 0 ? syscalls / units : null, unit, source: 'syscw+wspass', nativeSends: native };
  if (legs !== undefined) w.legSends = legs;
  return w;
}

/** Adds `writes` to a measurement only when known (the results file has no undefined fields). */
export function withWrites(m: Measurement, writes: Measurement['writes']): Measurement {
  if (writes) m.writes = writes;
  return m;
}

export function loadWarnings(load: LoadResult): string[] {
  const w: string[] = [];
  if (load.errors > 0) w.push(`${load.errors} connection error(s): ${load.firstError ?? ''}`);
  if (load.units === 0) w.push('no work completed in the window');
  return w;
}

export function baseMeasurement(load: LoadResult): Pick<Measurement, 'errors' | 'warnings' | 'firstError'> {
  const m: Pick<Measurement, 'errors' | 'warnings' | 'firstError'> = { errors: load.errors, warnings: loadWarnings(load) };
  if (load.firstError) m.firstError = load.firstError;
  return m;
}
