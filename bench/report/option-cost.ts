// What a wspass setting costs (or saves) in the cases run with it: the access log on (every other bench
// case runs with it off, as the incumbents have theirs off) and the native front off (on by default on the
// native engine). Each such case against the same scenario, engine and workers with the defaults. Pure.
import type { CaseResult } from '../scenarios/types.js';
import { fmtNumber } from './format.js';

export type CaseOption = 'accessLog' | 'noFront';

export function optionCostLines(cases: readonly CaseResult[], option: CaseOption): string[] {
  return cases
    .filter((c) => c[option] === true && c.cost.proxy !== null)
    .flatMap((on) => {
      const off = cases.find(
        (c) => c.scenario === on.scenario && c.variant === 'wspass' && !c.accessLog && !c.noFront && c.engine === on.engine && c.workers === on.workers,
      );
      if (off?.cost.proxy == null || off.cost.proxy <= 0) return [];
      const extra = on.cost.proxy! - off.cost.proxy;
      return [`${on.scenario} · ${on.label}: ${fmtNumber(on.cost.proxy)} against ${fmtNumber(off.cost.proxy)} ${on.cost.unit} with the defaults (${extra >= 0 ? '+' : ''}${fmtNumber(extra)}, ${((extra / off.cost.proxy) * 100).toFixed(0)} %)`];
    });
}
