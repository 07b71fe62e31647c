// What the bench's backends do, shared by both implementations and the load generator:
// - a WebSocket whose URL contains "sink" is a sink: it discards messages and sends one small ack
//   message per ACK_BYTES received, so the client can keep a bounded window in flight and count bytes
//   actually delivered;
// - every other WebSocket echoes each message back as is;
// - any plain HTTP request gets 200 with a 2-byte body.
// The child prints one JSON line `{"ready":true,"port":N,"impl":"uws"|"ws"}` on stdout when listening.

export const ACK_BYTES = 1024 * 1024;
export const HTTP_BODY = 'ok';

export interface BackendReadyLine {
  ready: true;
  port: number;
  impl: 'uws' | 'ws';
  /** Why the ws fallback is used, when it is. */
  fallbackReason?: string;
}

export function isSinkUrl(url: string): boolean {
  return url.includes('sink');
}
