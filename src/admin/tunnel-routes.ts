// Admin routes for open tunnels, gathered from every worker:
//   GET    /tunnels?limit=N&after=ID[&member=URL][&route=NAME]   a page, in id order; `next` is the
//                                                               `after` of the following page (null: last)
//   DELETE /tunnels/<id>                                         close one tunnel (graceful: FIN both ways)
//   DELETE /tunnels?member=URL                                   close every tunnel of a balancer member
// A worker that does not answer in time is named in `unanswered`: the answer is then partial.
import type { Supervisor } from '../workers/supervisor.js';
import { sendJson, type AdminHandler } from './admin-server.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1_000;
const ONE_TUNNEL = /^\/tunnels\/(\d{1,16})$/;

/** A whole number in 0..max from a query value, undefined when absent, NaN when malformed. */
function whole(value: string | null, max: number): number | undefined {
  if (value === null) return undefined;
  const n = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  return n <= max ? n : NaN;
}

export function tunnelRoutes(supervisor: Supervisor): AdminHandler {
  return async (req, res, url) => {
    const params = url.searchParams;
    if (url.pathname === '/tunnels' && req.method === 'GET') {
      const limit = whole(params.get('limit'), MAX_LIMIT) ?? DEFAULT_LIMIT;
      const after = whole(params.get('after'), Number.MAX_SAFE_INTEGER) ?? 0;
      if (Number.isNaN(limit) || limit === 0 || Number.isNaN(after)) {
        sendJson(res, 400, { error: `limit is 1..${MAX_LIMIT} and after a tunnel id (a whole number)` });
        return true;
      }
      const page = await supervisor.listTunnels({ after, limit, member: params.get('member') ?? undefined, route: params.get('route') ?? undefined });
      sendJson(res, 200, page);
      return true;
    }
    if (req.method !== 'DELETE') return false;
    const one = ONE_TUNNEL.exec(url.pathname);
    if (one) {
      const id = Number(one[1]);
      const { closed, unanswered } = await supervisor.closeTunnels({ id });
      sendJson(res, closed > 0 ? 200 : 404, closed > 0 ? { closed } : { error: `no open tunnel ${id}`, unanswered });
      return true;
    }
    if (url.pathname !== '/tunnels') return false;
    const member = params.get('member');
    if (member === null || member === '') {
      sendJson(res, 400, { error: 'give DELETE /tunnels/<id>, or DELETE /tunnels?member=URL for every tunnel of a member' });
      return true;
    }
    sendJson(res, 200, await supervisor.closeTunnels({ member }));
    return true;
  };
}
