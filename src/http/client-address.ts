// The client's address as wspass uses it: in X-Forwarded-For, in hash stickiness, in logs and in limits.
// One function, so every consumer agrees on who the client is.
//
//   accepted socket ─▶ [PROXY header: its source] ─▶ [TLS] ─▶ HTTP request
//                       connection origin (per socket)          └─ X-Forwarded-For walked over trusted hops
//
// The listener records, before the HTTP server sees a connection, where it comes from (the PROXY header's
// source, else the peer) and which hops its X-Forwarded-For may be believed from. A TLS socket wraps the raw
// socket the record is kept for, so it is looked up through the wrapper's parent too.
import { NOTHING_TRUSTED, type AddressMatcher } from '../config/cidr.js';
import { walkForwardedFor, type ForwardedWalk } from './forwarded-for.js';
import { forwardedForValue } from './headers.js';
import type { ConnectionView, RequestView } from './request-view.js';

/** Where a connection comes from: the PROXY header's source, or the socket's own peer. */
export interface ConnectionOrigin {
  readonly address: string;
  readonly port: number;
  /** The address and port the client connected to (the PROXY header's destination, or our socket's). */
  readonly localAddress: string;
  readonly localPort: number;
}

/** What X-Forwarded-For from this connection's listener is believed and how it is passed on (config `forwardedFor`). */
export interface ForwardingPolicy {
  readonly trustedHops: AddressMatcher;
  readonly mode: 'replace' | 'append';
}

interface ConnectionRecord {
  readonly origin: ConnectionOrigin | undefined;
  readonly policy: () => ForwardingPolicy;
}

const DEFAULT_POLICY: ForwardingPolicy = { trustedHops: NOTHING_TRUSTED, mode: 'replace' };
const DEFAULT_RECORD: ConnectionRecord = { origin: undefined, policy: () => DEFAULT_POLICY };

const connections = new WeakMap<object, ConnectionRecord>();
/** Walks over trusted hops, kept per request: only requests whose X-Forwarded-For may be believed have one. */
const walks = new WeakMap<RequestView, ForwardedWalk>();
/** Records of connections without a PROXY header, one per policy (a listener's): one object, not one per socket. */
const plainRecords = new WeakMap<() => ForwardingPolicy, ConnectionRecord>();

/**
 * Called by the listener for each accepted socket before HTTP (or TLS) sees it. `origin` is the PROXY
 * header's; undefined keeps the socket's own peer. `policy` is read per request, so a reload applies.
 */
export function recordConnection(socket: ConnectionView, origin: ConnectionOrigin | undefined, policy: () => ForwardingPolicy): void {
  let record: ConnectionRecord | undefined;
  if (origin === undefined) {
    record = plainRecords.get(policy);
    if (record === undefined) plainRecords.set(policy, (record = { origin: undefined, policy }));
  } else record = { origin, policy };
  connections.set(socket, record);
}

function recordOf(socket: ConnectionView): ConnectionRecord {
  // node:tls keeps the socket it wraps as `_parent` (server side); the record is on that raw socket.
  return connections.get(socket) ?? connections.get((socket as ConnectionView & { _parent?: ConnectionView })._parent ?? socket) ?? DEFAULT_RECORD;
}

/** Where the connection carrying `req` comes from: the PROXY header's source, else the TCP peer. */
export function connectionOrigin(req: RequestView): ConnectionOrigin {
  const socket = req.socket;
  return (
    recordOf(socket).origin ?? {
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
    }
  );
}

/** The origin's address alone: each other field of a socket's endpoints costs a system call of its own. */
function originAddress(record: ConnectionRecord, socket: ConnectionView): string {
  return record.origin?.address ?? socket.remoteAddress ?? '';
}

/** The X-Forwarded-For entries trusted hops vouch for, and the client they name; undefined: the peer is the client. */
function walk(req: RequestView, record: ConnectionRecord, peer: string): ForwardedWalk | undefined {
  const trusted = record.policy().trustedHops;
  // Nothing trusted (the default), or no header: the peer is the client, and there is nothing to keep.
  if (trusted === NOTHING_TRUSTED) return undefined;
  const xff = req.headers['x-forwarded-for'];
  if (xff === undefined) return undefined;
  let w = walks.get(req);
  if (w === undefined) {
    w = walkForwardedFor(peer, Array.isArray(xff) ? xff.join(', ') : xff, trusted);
    walks.set(req, w);
  }
  return w;
}

/** The client's address for `req` ('' when the socket no longer knows it). */
export function clientAddress(req: RequestView): string {
  const socket = req.socket;
  const record = recordOf(socket);
  const peer = originAddress(record, socket);
  return walk(req, record, peer)?.client ?? peer;
}

/**
 * X-Forwarded-For toward the backend: in `replace` mode the value to send instead of the client's (the
 * entries trusted hops vouch for, then the connection's origin); in `append` mode the origin, appended to
 * whatever the client sent, as Apache does.
 */
export function forwardedFor(req: RequestView): { readonly value: string; readonly replace: boolean } {
  const socket = req.socket;
  const record = recordOf(socket);
  const peer = originAddress(record, socket);
  const origin = forwardedForValue(peer);
  if (record.policy().mode === 'append') return { value: origin, replace: false };
  const vouched = walk(req, record, peer)?.vouched;
  return { value: vouched === undefined || vouched.length === 0 ? origin : `${vouched.join(', ')}, ${origin}`, replace: true };
}
