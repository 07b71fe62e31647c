// Number formatting shared by the terminal table, the HTML report and the gate table.

export function fmtLatencyUs(us: number | null | undefined): string {
  if (us == null) return '—';
  if (us < 1000) return `${Math.round(us)} µs`;
  return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
}

export function fmtNumber(x: number | null | undefined, digits = 3): string {
  if (x == null || !Number.isFinite(x)) return '—';
  if (Math.abs(x) >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(digits)).toString();
}

export function fmtThroughput(value: number, unit: string): string {
  if (unit === 'conns') return `${Math.round(value).toLocaleString('en-US')} conns`;
  if (value >= 10_000) return `${(value / 1000).toFixed(1)}k ${unit}`;
  return `${fmtNumber(value)} ${unit}`;
}

export function fmtPercent(fraction: number | null | undefined): string {
  if (fraction == null || !Number.isFinite(fraction)) return '—';
  const pct = fraction * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

/** A plain-text table: columns padded, numbers right-aligned (a cell starting with a digit, +, - or —). */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = (s: string) => /^[\d+\-—.]/.test(s);
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric(c) && i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
