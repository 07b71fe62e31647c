// The capacity summary a person can act on, from the proxy's per-unit costs: how much of each kind of
// work one proxy core (or one GiB of memory) carries on this host. Pure.
import { connectionsPerGiB, unitsPerCoreSecond } from '../measure/cost.js';
import type { CaseResult } from '../scenarios/types.js';

export interface Capacity {
  idleConnectionsPerGiB: number | null;
  messagesPerSecPerCore: number | null;
  /** Open-loop: at this offered rate, the proxy's p99 in ms and the proxy CPU it took (cores). */
  openLoop: { ratePerSec: number; p99Ms: number; directP99Ms: number | null; proxyCores: number | null } | null;
  gbPerSecPerCore: number | null;
  handshakesPerSecPerCore: number | null;
  httpRequestsPerSecPerCore: number | null;
  /** The summary sentences, in order. */
  lines: string[];
}

/** The scenario's wspass (or --target) case, the native engine's when both engines ran. */
function proxyCase(cases: readonly CaseResult[], scenario: CaseResult['scenario']): CaseResult | undefined {
  const own = cases.filter((c) => c.scenario === scenario && (c.variant === 'wspass' || c.variant === 'target') && !c.accessLog && !c.noFront);
  return own.find((c) => c.engine === 'native') ?? own[0];
}

function directCase(cases: readonly CaseResult[], scenario: CaseResult['scenario']): CaseResult | undefined {
  return cases.find((c) => c.scenario === scenario && c.variant === 'direct');
}

const fmtInt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3));

export function capacityOf(cases: readonly CaseResult[], hostLabel: string): Capacity {
  const per = (scenario: CaseResult['scenario'], f: (x: number) => number) => {
    const v = proxyCase(cases, scenario)?.cost.proxy;
    return v == null || v <= 0 ? null : f(v);
  };
  const echo = proxyCase(cases, 'echo');
  const cap: Capacity = {
    idleConnectionsPerGiB: per('idle', connectionsPerGiB),
    messagesPerSecPerCore: per('echo', unitsPerCoreSecond),
    openLoop: null,
    gbPerSecPerCore: per('bulk', (msPerGB) => 1000 / msPerGB),
    handshakesPerSecPerCore: per('handshake', unitsPerCoreSecond),
    httpRequestsPerSecPerCore: per('http', unitsPerCoreSecond),
    lines: [],
  };
  const ol = proxyCase(cases, 'open-loop');
  if (ol?.latency) {
    const d = directCase(cases, 'open-loop');
    const cpu = ol.cpu;
    cap.openLoop = {
      ratePerSec: ol.settings.ratePerSec,
      p99Ms: ol.latency.p99Us / 1000,
      directP99Ms: d?.latency ? d.latency.p99Us / 1000 : null,
      proxyCores: cpu && cpu.proxyTicks !== null ? cpu.proxyTicks / cpu.hz / cpu.seconds : null,
    };
  }
  const L = cap.lines;
  L.push(`This host (${hostLabel}), per proxy core and per GiB of proxy memory:`);
  if (cap.idleConnectionsPerGiB !== null) L.push(`${fmtInt(cap.idleConnectionsPerGiB)} idle connections per GiB`);
  if (cap.messagesPerSecPerCore !== null) {
    L.push(`${fmtInt(cap.messagesPerSecPerCore)} echoed messages/s (${echo?.settings.sizeBytes ?? '?'} B) per core at full load`);
  }
  if (cap.openLoop) {
    const o = cap.openLoop;
    const cores = o.proxyCores !== null ? `, using ${(o.proxyCores * 100).toFixed(0)}% of a core` : '';
    const direct = o.directP99Ms !== null ? ` (direct: ${o.directP99Ms.toFixed(2)} ms)` : '';
    L.push(`${fmtInt(o.ratePerSec)} msg/s at p99 under ${o.p99Ms.toFixed(2)} ms${direct}${cores}`);
  }
  if (cap.gbPerSecPerCore !== null) L.push(`${cap.gbPerSecPerCore.toFixed(2)} GB/s of bulk data per core`);
  if (cap.handshakesPerSecPerCore !== null) L.push(`${fmtInt(cap.handshakesPerSecPerCore)} WebSocket handshakes/s per core`);
  if (cap.httpRequestsPerSecPerCore !== null) L.push(`${fmtInt(cap.httpRequestsPerSecPerCore)} plain HTTP requests/s per core`);
  return cap;
}
