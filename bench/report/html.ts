// The HTML report: one self-contained page (inline CSS and SVG, no external assets) with the capacity
// summary, the cost table and a latency percentile plot per scenario, direct against the proxy.
import type { CaseResult } from '../scenarios/types.js';
import type { BenchResults } from './results.js';
import { WRITES_HEADER, workerShareLines, writesRows } from './engine.js';
import { INCUMBENT_HEADER, incumbentRows, incumbentTable } from './incumbents.js';
import { GOAL_HEADER, goalRows, goalTable } from './goals.js';
import { fmtLatencyUs, fmtNumber, fmtThroughput } from './format.js';

const COLORS = ['#7a7a7a', '#1f6fd1', '#d1701f', '#2a9d4b', '#a23ab8'];

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** x position of a percentile on the usual "number of nines" axis: 0 → 0, 90 → 1, 99 → 2, 99.9 → 3 ... */
export function ninesOf(percentile: number): number {
  const capped = Math.min(percentile, 99.999);
  return Math.log10(100 / (100 - capped));
}

function niceMax(x: number): number {
  if (x <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** Percentile plot of the cases' latency curves (µs), as inline SVG. */
export function percentilePlot(cases: readonly CaseResult[], title: string): string {
  const series = cases.filter((c) => c.latency && c.latency.count > 0);
  if (series.length === 0) return '';
  const W = 640;
  const H = 300;
  const L = 64;
  const R = 150;
  const T = 28;
  const B = 40;
  const pw = W - L - R;
  const ph = H - T - B;
  const xMax = 5;
  // Scale to the largest p99.9 so one far outlier does not flatten every curve; higher points are clipped.
  const yTop = niceMax(Math.max(...series.map((c) => (c.latency!.curve.find((p) => p.percentile === 99.9)?.us ?? c.latency!.maxUs) * 1.15)));
  const x = (pct: number) => L + (ninesOf(pct) / xMax) * pw;
  const y = (us: number) => T + ph - (Math.min(us, yTop) / yTop) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`);
  parts.push(`<text x="${L}" y="16" class="t">${esc(title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (yTop * i) / 4;
    const yy = y(v);
    parts.push(`<line x1="${L}" x2="${L + pw}" y1="${yy}" y2="${yy}" class="g"/>`);
    parts.push(`<text x="${L - 6}" y="${yy + 4}" text-anchor="end" class="a">${esc(fmtLatencyUs(v))}</text>`);
  }
  const xt: [number, string][] = [[0, '0%'], [50, '50%'], [90, '90%'], [99, '99%'], [99.9, '99.9%'], [99.99, '99.99%'], [99.999, '99.999%']];
  for (const [pct, label] of xt) {
    const xx = x(pct);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${T}" y2="${T + ph}" class="g"/>`);
    parts.push(`<text x="${xx}" y="${T + ph + 16}" text-anchor="middle" class="a">${label}</text>`);
  }
  parts.push(`<text x="${L + pw / 2}" y="${H - 4}" text-anchor="middle" class="a">percentile</text>`);
  series.forEach((c, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = c.latency!.curve.filter((p) => p.percentile < 100).map((p) => `${x(p.percentile).toFixed(1)},${y(p.us).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [px, py] = p.split(',');
      parts.push(`<circle cx="${px}" cy="${py}" r="2.5" fill="${color}"/>`);
    }
    const ly = T + 14 + i * 30;
    parts.push(`<rect x="${L + pw + 12}" y="${ly - 9}" width="12" height="4" fill="${color}"/>`);
    parts.push(`<text x="${L + pw + 30}" y="${ly - 4}" class="a">${esc(c.label)}</text>`);
    parts.push(`<text x="${L + pw + 30}" y="${ly + 8}" class="s">p99 ${esc(fmtLatencyUs(c.latency!.p99Us))}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Per-worker share of the burst and writes per unit, when the run measured them. */
/** The --compare table, when references ran. */
function incumbentSection(r: BenchResults): string {
  const rows = incumbentTable(incumbentRows(r.cases));
  if (rows.length === 0) return '';
  const versions = Object.entries(r.proxy.references ?? {}).map(([k, v]) => `${k}: ${v}`).join(' · ');
  return `<h2>Against the incumbents</h2><p class="note">Same load, same pinning, same run; ratios only (${esc(versions)}).</p>
<table><thead><tr>${INCUMBENT_HEADER.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${rows.map((row) => `<tr>${row.map((c, i) => `<td${i >= 2 ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>`;
}

/** The cost goals against this run's references, when --compare ran them. */
function goalSection(r: BenchResults): string {
  const rows = goalTable(goalRows(r.cases));
  if (rows.length === 0) return '';
  return `<h2>Cost goals</h2><p class="note">wspass ÷ the named reference of the same run.</p>
<table><thead><tr>${GOAL_HEADER.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${rows.map((row) => `<tr>${row.map((c, i) => `<td${i === 2 || i === 4 ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>`;
}

export function engineSection(cases: readonly CaseResult[]): string {
  const shares = workerShareLines(cases);
  const writes = writesRows(cases);
  if (shares.length === 0 && writes.length === 0) return '';
  const parts: string[] = ['<section><h2>Engine</h2>'];
  if (shares.length > 0) {
    parts.push('<p class="note">Tunnels each wspass worker thread opened during the case (<code>GET /status</code>); the kernel spreads connections over the workers\' SO_REUSEPORT sockets.</p><ul>');
    for (const l of shares) {
      const bars = l.perWorker.map((n) => `<span class="bar" style="width:${Math.max(1, Math.round((n / Math.max(...l.perWorker, 1)) * 120))}px"></span> ${n}`).join(' ');
      parts.push(`<li>${esc(l.scenario)} · ${esc(l.label)}: ${esc(l.text)}<br>${bars}</li>`);
    }
    parts.push('</ul>');
  }
  if (writes.length > 0) {
    parts.push('<p class="note">The proxy\'s write syscalls in the window per unit of work; an echoed message crosses the tunnel twice, so write-through is 2 writes per message. Counted by <code>/proc/&lt;pid&gt;/io</code> syscw (write and writev, all threads); for wspass, plus its own count of its native engine\'s send(2)/splice(2)-out calls (<code>wspass_tunnel_writes_total{engine="native"}</code>, and its backend legs\' sends of the handshake requests, <code>wspass_backend_leg_writes_total</code>, read with <code>/status?flush=1</code> at both edges of the window), which syscw does not see. The last column says which.</p>');
    parts.push(`<table><thead><tr>${WRITES_HEADER.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`);
    // Numbers right-aligned; the first two and the last (where the count comes from) are text.
    for (const row of writes) parts.push(`<tr>${row.map((c, i) => `<td${i >= 2 && i < row.length - 1 ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`);
    parts.push('</tbody></table>');
  }
  parts.push('</section>');
  return parts.join('\n');
}

function costCell(c: CaseResult, which: 'proxy' | 'backend'): string {
  const v = c.cost[which];
  return v === null ? '—' : `${fmtNumber(v)} ${c.cost.unit}`;
}

export function htmlReport(r: BenchResults, titles: Record<string, { title: string; description: string }>): string {
  const scenarios = [...new Set(r.cases.map((c) => c.scenario))];
  const rows = r.cases
    .map((c) => {
      const warn = c.warnings.length ? ` <span class="w" title="${esc(c.warnings.join('; '))}">⚠</span>` : '';
      return `<tr class="${c.variant === 'direct' ? 'direct' : ''}"><td>${esc(c.scenario)}</td><td>${esc(c.label)}${warn}</td>
<td class="n"><b>${esc(costCell(c, 'proxy'))}</b></td><td class="n">${esc(costCell(c, 'backend'))}</td>
<td class="n">${esc(fmtThroughput(c.throughput.value, c.throughput.unit))}</td>
<td class="n">${esc(fmtLatencyUs(c.latency?.p50Us))}</td><td class="n">${esc(fmtLatencyUs(c.latency?.p99Us))}</td>
<td class="n">${esc(fmtLatencyUs(c.latency?.p999Us))}</td><td class="n">${c.cpu ? `${(c.cpu.foreignCores * 100).toFixed(0)}%` : '—'}</td></tr>`;
    })
    .join('\n');
  const sections = scenarios
    .map((s) => {
      const cs = r.cases.filter((c) => c.scenario === s);
      const t = titles[s] ?? { title: s, description: '' };
      const c0 = cs[0]!;
      const sizes = `${c0.settings.connections} connections${c0.settings.sizeBytes ? `, ${c0.settings.sizeBytes} B messages` : ''}${
        s === 'open-loop' ? `, ${c0.settings.ratePerSec} msg/s offered` : ''
      }, ${c0.settings.durationS} s window`;
      const plot = percentilePlot(cs, `${t.title}: latency by percentile`);
      const warnings = cs.flatMap((c) => c.warnings.map((w) => `<li>${esc(c.label)}: ${esc(w)}</li>`)).join('');
      return `<section><h2>${esc(t.title)} <small>(${esc(s)})</small></h2><p>${esc(t.description)}; ${esc(sizes)}.</p>
${plot ? `<div class="plot">${plot}</div>` : ''}${warnings ? `<ul class="warn">${warnings}</ul>` : ''}</section>`;
    })
    .join('\n');
  const cap = r.capacity.lines;
  const backendNote = r.backend.fallbackReason ? ` — ${esc(r.backend.fallbackReason)}` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wspass bench — ${esc(r.createdAt)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1000px;color:#1d1d1f;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 4px}h2 small{color:#888;font-weight:normal}
.meta{color:#555;font-size:13px}.cap{background:#eef5ff;border:1px solid #bcd4f5;border-radius:8px;padding:12px 18px;margin:18px 0}
.cap h2{margin:0 0 6px}.cap ul{margin:0;padding-left:20px}.cap li{font-size:15px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #e3e3e3;text-align:left}
th{background:#f5f5f7}td.n{text-align:right;white-space:nowrap}tr.direct td{color:#666}.w{color:#c46a00}
.plot svg{max-width:100%;height:auto}.plot .t{font-size:13px;font-weight:600}.plot .a{font-size:11px;fill:#444}.plot .s{font-size:10px;fill:#777}
.plot .g{stroke:#e5e5e5}.bar{display:inline-block;height:9px;background:#1f6fd1;vertical-align:middle}.warn{color:#8a5200;font-size:13px}.note{color:#555;font-size:12.5px}
</style></head><body>
<h1>wspass bench</h1>
<div class="meta">${esc(r.createdAt)} · ${esc(`${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memGiB} GiB, Linux ${r.machine.kernel}, Node ${r.machine.node}`)}<br>
proxy under test: <b>${esc(r.proxy.name)}</b>${r.proxy.target ? ` at ${esc(r.proxy.target)}` : ''}${r.proxy.workers?.length ? `, workers: ${r.proxy.workers.join(', ')}` : ''} ·
backend: ${r.backend.impl === 'uws' ? 'uWebSockets.js echo' : '<b>ws echo (fallback)</b>'}${backendNote}<br>${esc(r.pinning)}<br>
<code>${esc(r.command)}</code>${r.source?.commit ? ` · wspass <code>${esc(r.source.commit.slice(0, 12))}</code>${r.source.dirty ? ' with local changes' : ''}` : ''}</div>
<div class="cap"><h2>Capacity summary</h2><p>${esc(cap[0] ?? '')}</p><ul>${cap.slice(1).map((l) => `<li>${esc(l)}</li>`).join('')}</ul></div>
<h2>Cost per unit of work</h2>
<p class="note">Proxy cost is the proxy process's own CPU time (utime+stime from /proc, all threads) over the measured window divided by the work done
(idle: resident memory added per connection). Backend cost is the echo backend's, in the same window. On a small machine throughput is set by the
load generator and backend, so rank proxies by cost, not by throughput. Noise: CPU used by other processes during the window, in % of one core.</p>
<table><thead><tr><th>scenario</th><th>case</th><th>proxy cost</th><th>backend cost</th><th>throughput</th><th>p50</th><th>p99</th><th>p99.9</th><th>noise</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${incumbentSection(r)}
${goalSection(r)}
${engineSection(r.cases)}
${sections}
<p class="note">Generated by <code>npm run bench</code>; the numbers are in the results JSON next to this file.</p>
</body></html>
`;
}
