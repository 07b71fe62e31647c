// Which Upgrade protocols a route tunnels, from its `upgrade` key or, when unset, from its backend, as
// mod_proxy_http decides (ap_proxy_worker_can_upgrade): a worker with `upgrade=` tunnels what it lists; one
// without tunnels WebSocket only when its scheme is ws:// or wss://; an http:// or https:// worker proxies
// an upgrade request as plain HTTP with Upgrade removed. Pure.
//
// The decision is made from the request head before a balancer member is picked, so a balancer route
// needs one policy for all its members: the route's `upgrade`, else the balancer's, else the members'
// common one (each member's `upgrade`, else its scheme's default). Members that disagree are a config
// error rather than a policy that changes with the member picked.
import type { BalancerConfig, UpgradeSetting } from '../config/schema.js';
import type { BackendOrigin, UpgradePolicy } from './types.js';

const WEBSOCKET: UpgradePolicy = Object.freeze({ kind: 'list', protocols: Object.freeze(['websocket']) });
const NEVER: UpgradePolicy = Object.freeze({ kind: 'never' });

/** The policy an `upgrade` value spells. */
export function parseUpgradePolicy(value: UpgradeSetting): UpgradePolicy {
  if (typeof value === 'boolean') return NEVER; // only false passes the schema
  if (typeof value === 'string') {
    const upper = value.toUpperCase();
    if (upper === 'ANY') return Object.freeze({ kind: 'any' });
    if (upper === 'NONE') return Object.freeze({ kind: 'none' });
    return Object.freeze({ kind: 'list', protocols: Object.freeze([value.toLowerCase()]) });
  }
  return Object.freeze({ kind: 'list', protocols: Object.freeze([...new Set(value.map((p) => p.toLowerCase()))]) });
}

/** The policy of a backend without `upgrade`: WebSocket for ws:// and wss://, never for http:// and https://. */
export function schemeDefaultPolicy(scheme: BackendOrigin['scheme']): UpgradePolicy {
  return scheme === 'ws' || scheme === 'wss' ? WEBSOCKET : NEVER;
}

/** How a policy is written in config (`websocket`, `[mqtt, irc]`, `ANY`, `NONE`, `false`); equal policies spell the same. */
export function describePolicy(policy: UpgradePolicy): string {
  switch (policy.kind) {
    case 'never':
      return 'false';
    case 'any':
      return 'ANY';
    case 'none':
      return 'NONE';
    case 'list':
      return policy.protocols.length === 1 ? policy.protocols[0]! : `[${[...policy.protocols].sort().join(', ')}]`;
  }
}

/** The policy of a route to one backend. */
export function routeUpgradePolicy(setting: UpgradeSetting | undefined, origin: BackendOrigin): UpgradePolicy {
  return setting === undefined ? schemeDefaultPolicy(origin.scheme) : parseUpgradePolicy(setting);
}

/** A member as the policy sees it. */
export interface PolicyMember {
  readonly index: number;
  readonly url: string;
  readonly origin: BackendOrigin;
}

/**
 * The one policy of a route to balancer `name`: the route's `upgrade`, else the balancer's (the socketio
 * strategy defaults to WebSocket), else the members' common policy. Returns a message naming the members
 * and the fix when they disagree and nothing above decides.
 */
export function balancerUpgradePolicy(
  setting: UpgradeSetting | undefined,
  name: string,
  bc: Pick<BalancerConfig, 'upgrade' | 'strategy' | 'members'>,
  members: readonly PolicyMember[],
): UpgradePolicy | string {
  if (setting !== undefined) return parseUpgradePolicy(setting);
  if (bc.upgrade !== undefined) return parseUpgradePolicy(bc.upgrade);
  if (bc.strategy === 'socketio') return WEBSOCKET;
  const groups = new Map<string, { policy: UpgradePolicy; members: string[] }>();
  for (const m of members) {
    const own = bc.members[m.index]?.upgrade;
    const policy = own === undefined ? schemeDefaultPolicy(m.origin.scheme) : parseUpgradePolicy(own);
    const key = describePolicy(policy);
    const group = groups.get(key) ?? { policy, members: [] };
    group.members.push(`members[${m.index}] ${m.url}`);
    groups.set(key, group);
  }
  const all = [...groups.entries()];
  if (all.length <= 1) return all[0]?.[1].policy ?? NEVER;
  const listed = all.map(([key, g]) => `${g.members.join(', ')} → upgrade ${key}`).join('; ');
  return (
    `the members of balancer "${name}" disagree on which upgrades to tunnel (${listed}); ` +
    `set \`upgrade\` on this route or on balancers.${name} (e.g. websocket, or false to proxy upgrades as plain HTTP)`
  );
}
