// How many hash keys move when a balancer's membership changes (weighted rendezvous hashing, equal
// weights): adding one member to n should move about 1/(n+1) of the keys, all of them to the new member;
// removing k of n should move about k/n, only the removed members' keys. Measured over 100,000 keys; the
// README's "Running on Kubernetes" section quotes these figures and this test checks that it does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hashString } from '../../src/balancer/hash.js';
import { rendezvousPick } from '../../src/balancer/rendezvous-hash.js';
import type { BalancerMember, LoadView } from '../../src/balancer/types.js';
import { backendOrigin } from '../helpers/route-fixtures.js';

const KEYS = Array.from({ length: 100_000 }, (_, i) => `session-${i.toString(36)}`);
const EQUAL: LoadView = { weight: () => 1, busy: () => 0, bytes: () => 0 };

/** Pods of a backend Deployment, as a balancer would list them. */
function pods(count: number): BalancerMember[] {
  return Array.from({ length: count }, (_, i) => {
    const url = `ws://backend-${i}.backend.default.svc:9000`;
    return { index: i, slot: i, url, route: `p${i}`, hashSeed: hashString(url), origin: backendOrigin(url), pathPrefix: '', tls: undefined };
  });
}

interface Movement {
  change: string;
  /** Share of keys whose member changed, in percent. */
  movedPct: number;
  idealPct: number;
  /** Keys that moved between two members that are in both sets (rendezvous hashing: always 0). */
  needless: number;
}

function movement(change: string, before: readonly BalancerMember[], after: readonly BalancerMember[], idealPct: number): Movement {
  const stays = new Set(after.map((m) => m.url));
  let moved = 0;
  let needless = 0;
  for (const key of KEYS) {
    const a = rendezvousPick(before, key, EQUAL).url;
    const b = rendezvousPick(after, key, EQUAL).url;
    if (a === b) continue;
    moved++;
    // A key may move only off a removed member or onto an added one.
    const added = !before.some((m) => m.url === b);
    if (stays.has(a) && !added) needless++;
  }
  return { change, movedPct: (moved / KEYS.length) * 100, idealPct, needless };
}

const all = pods(11);
const CASES: Movement[] = [
  movement('add a 4th member to 3', all.slice(0, 3), all.slice(0, 4), 100 / 4),
  movement('add a 5th member to 4', all.slice(0, 4), all.slice(0, 5), 100 / 5),
  movement('add an 11th member to 10', all.slice(0, 10), all.slice(0, 11), 100 / 11),
  movement('remove 1 of 4 members', all.slice(0, 4), all.slice(1, 4), 100 / 4),
  movement('remove 1 of 10 members', all.slice(0, 10), all.slice(1, 10), 100 / 10),
  movement('remove 2 of 10 members', all.slice(0, 10), all.slice(2, 10), 200 / 10),
];

/** The README row for one measurement: `| change | measured % | ideal % |`, two decimals. */
function row(m: Movement): string {
  return `| ${m.change} | ${m.movedPct.toFixed(2)} % | ${m.idealPct.toFixed(2)} % |`;
}

test('a membership change moves close to the ideal share of 100,000 keys, and no key moves needlessly', (t) => {
  for (const m of CASES) {
    t.diagnostic(row(m));
    assert.equal(m.needless, 0, `${m.change}: ${m.needless} keys moved between members that stayed`);
    // 100,000 keys: the binomial standard deviation of a share near 20% is about 0.13 points.
    assert.ok(Math.abs(m.movedPct - m.idealPct) < 1, `${m.change}: moved ${m.movedPct.toFixed(2)} %, ideal ${m.idealPct.toFixed(2)} %`);
  }
});

test('the README quotes the measured key movement', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  for (const m of CASES) assert.ok(readme.includes(row(m)), `README.md lacks the row\n${row(m)}`);
});
