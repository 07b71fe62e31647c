// The member list as a person reads it (the CLI prints this): one aligned row per member. Pure.
import type { MemberStatus } from './registry.js';

const COLUMNS = ['BALANCER', 'MEMBER', 'ROUTE', 'STATE', 'WEIGHT', 'TUNNELS', 'REQUESTS', 'BYTES', 'HEALTH', 'ERROR'] as const;

/** Bytes with a binary unit: 0 B, 1.5 KiB, 12.0 MiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function row(m: MemberStatus): string[] {
  return [
    m.balancer,
    m.url,
    m.route,
    m.state,
    String(m.weight),
    String(m.activeTunnels),
    String(m.activeRequests),
    formatBytes(m.bytes),
    m.health,
    m.errorForMs > 0 ? `${Math.ceil(m.errorForMs / 1000)} s` : '-',
  ];
}

/** A table with a header row; "no balancers" when the list is empty. */
export function formatMembers(members: readonly MemberStatus[]): string {
  if (members.length === 0) return 'no balancers are configured\n';
  const rows = [[...COLUMNS], ...members.map(row)];
  const widths = COLUMNS.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}
