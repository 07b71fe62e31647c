// What wspass's access log costs: each case run with the log on, against the same scenario and engine
// with it off (every other bench case runs with it off, as the incumbents have theirs off). Pure.
import type { CaseResult } from '../scenarios/types.js';
import { fmtNumber } from './format.js';

export function accessLogCostLines(cases: readonly CaseResult[]): string[] {
  return cases
    .filter((c) => c.accessLog && c.cost.proxy !== null)
    .flatMap((on) => {
      const off = cases.find((c) => c.scenario === on.scenario && c.variant === 'wspass' && !c.accessLog && c.engine === on.engine && c.workers === on.workers);
      if (off?.cost.proxy == null || off.cost.proxy <= 0) return [];
      const extra = on.cost.proxy! - off.cost.proxy;
      return [`${on.scenario} · ${on.label}: ${fmtNumber(on.cost.proxy)} against ${fmtNumber(off.cost.proxy)} ${on.cost.unit} without it (${extra >= 0 ? '+' : ''}${fmtNumber(extra)}, ${((extra / off.cost.proxy) * 100).toFixed(0)} %)`];
    });
}
