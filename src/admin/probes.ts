// Liveness and readiness, as probes (a kubelet, a load balancer) ask for them:
//   GET /healthz  liveness: 200 while the process can serve. A worker being respawned does not make it
//                 fail (a liveness failure restarts the whole process, cutting every tunnel); only when
//                 every worker has been given up on (kept failing at start-up) is it 503.
//   GET /readyz   readiness: 200 when new connections are welcome: started, not stopping, and at least
//                 one worker ready; 503 while starting, after SIGTERM (at once, before the drain), or
//                 with no worker ready.
// Served on the health listener (no token) and on the admin endpoint.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WorkerState } from '../workers/supervisor.js';

/** Where the process is in its life: readiness follows it. */
export type Phase = 'starting' | 'serving' | 'stopping';

export interface ProbeSource {
  phase(): Phase;
  workerStates(): readonly WorkerState[];
}

export function isLive(states: readonly WorkerState[]): boolean {
  return states.some((s) => s !== 'failed');
}

export function isReady(phase: Phase, states: readonly WorkerState[]): boolean {
  return phase === 'serving' && states.includes('ready');
}

/** Answers GET/HEAD /healthz and /readyz; returns false for any other request. */
export function answerProbe(source: ProbeSource, req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  let ok: boolean;
  let why: string;
  if (pathname === '/healthz') {
    ok = isLive(source.workerStates());
    why = 'no worker can be started';
  } else if (pathname === '/readyz') {
    const phase = source.phase();
    ok = isReady(phase, source.workerStates());
    why = phase === 'serving' ? 'no worker ready' : phase;
  } else {
    return false;
  }
  const body = ok ? 'ok\n' : `${why}\n`;
  res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
