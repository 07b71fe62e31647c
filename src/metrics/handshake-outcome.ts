// How an upgrade's handshake ended, as the label of the handshake latency histogram: a fixed list (its
// series live in shared memory at fixed places), one entry per catalogue code plus the outcomes no code names.
import { ERRORS, type ErrorCode } from '../errors.js';

/** The backend answered 101 and the tunnel started. */
export const SUCCESS = 'success';
/** The backend answered something else than 101 (relayed to the client as an ordinary response). */
export const BACKEND_NON_101 = 'backend_non101';
/** The client went away before the backend answered. */
export const CLIENT_GONE = 'client_gone';

/** `WSP_BACKEND_REFUSED` → `backend_refused`. */
export function outcomeOfCode(code: ErrorCode): string {
  return code.slice('WSP_'.length).toLowerCase();
}

export const HANDSHAKE_OUTCOMES: readonly string[] = [SUCCESS, BACKEND_NON_101, CLIENT_GONE, ...(Object.keys(ERRORS) as ErrorCode[]).map(outcomeOfCode)];
