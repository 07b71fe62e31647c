// Ratio and cost arithmetic of the bench: CPU clock ticks → microseconds per unit of work, RSS growth →
// KiB per connection, medians of repeats. Pure, so the maths is unit-tested on its own.

/** CPU time in microseconds from clock ticks (USER_HZ, usually 100 per second). */
export function ticksToMicros(ticks: number, hz: number): number {
  return (ticks * 1e6) / hz;
}

/** Proxy CPU per unit of work in microseconds (per message, handshake or HTTP request). */
export function microsPerUnit(ticks: number, hz: number, units: number): number | null {
  if (units <= 0) return null;
  return ticksToMicros(ticks, hz) / units;
}

/** CPU milliseconds per gigabyte (10^9 bytes) moved. */
export function millisPerGB(ticks: number, hz: number, bytes: number): number | null {
  if (bytes <= 0) return null;
  return (ticksToMicros(ticks, hz) / 1000) / (bytes / 1e9);
}

/** Resident memory added per connection, in KiB, from /proc VmRSS readings in KiB. */
export function kibPerConnection(rssBeforeKiB: number, rssAfterKiB: number, connections: number): number | null {
  if (connections <= 0) return null;
  return (rssAfterKiB - rssBeforeKiB) / connections;
}

/** How many units one fully busy core could do at this cost (µs per unit). */
export function unitsPerCoreSecond(microsPerUnitValue: number): number {
  return microsPerUnitValue > 0 ? 1e6 / microsPerUnitValue : Infinity;
}

/** Idle connections that fit in one GiB at this many KiB each. */
export function connectionsPerGiB(kibPerConn: number): number {
  return kibPerConn > 0 ? (1024 * 1024) / kibPerConn : Infinity;
}

/** a / b, or null when b is zero or either is missing. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null || b == null || b === 0) return null;
  return a / b;
}

/** Median of the finite values (mean of the middle two for an even count); null when there are none. */
export function median(values: readonly (number | null | undefined)[]): number | null {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/**
 * CPU time other tenants used during a window, as a fraction of one core: the machine's busy ticks
 * (/proc/stat) minus the ticks of our own processes, over the window's length.
 */
export function foreignCoreFraction(systemBusyTicks: number, ownTicks: number, windowSeconds: number, hz: number): number {
  if (windowSeconds <= 0) return 0;
  return Math.max(0, systemBusyTicks - ownTicks) / (windowSeconds * hz);
}
