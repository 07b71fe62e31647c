// Admin routes for balancer members (runtime control without a restart):
//   GET  /balancers                                        every member with state, weight, tunnels, health
//   POST /balancers/<name>/members/<url|route>?state=S     active | standby | disabled | draining
//   POST /balancers/<name>/members/<url|route>?weight=N    1..1000
// The registry writes the shared member table, so every worker sees the change at once.
import type { BalancerRegistry } from '../balancer/registry.js';
import { WspassError } from '../errors.js';
import { sendJson, type AdminHandler } from './admin-server.js';

const MEMBER_PATH = /^\/balancers\/([^/]+)\/members\/(.+)$/;

export function balancerRoutes(registry: () => BalancerRegistry): AdminHandler {
  return (req, res, url) => {
    if (req.method === 'GET' && url.pathname === '/balancers') {
      sendJson(res, 200, registry().listMembers());
      return true;
    }
    const m = MEMBER_PATH.exec(url.pathname);
    if (req.method !== 'POST' || !m) return false;
    let balancer: string;
    let member: string;
    try {
      balancer = decodeURIComponent(m[1]!);
      member = decodeURIComponent(m[2]!);
    } catch {
      sendJson(res, 400, { error: 'the balancer or member in the path is not valid percent-encoding' });
      return true;
    }
    const state = url.searchParams.get('state');
    const weight = url.searchParams.get('weight');
    try {
      if (state === null && weight === null) {
        sendJson(res, 400, { error: 'give ?state=active|standby|disabled|draining and/or ?weight=1..1000' });
        return true;
      }
      let status = state === null ? undefined : registry().setState(balancer, member, state);
      if (weight !== null) status = registry().setWeight(balancer, member, Number(weight));
      sendJson(res, 200, status);
    } catch (err) {
      if (!(err instanceof WspassError)) throw err;
      sendJson(res, err.status || 400, { error: err.message, code: err.code });
    }
    return true;
  };
}
