// The typed protocol between the bench's main thread and its load-generator shards (piscina tasks in
// worker threads). A task carries its settings and a MessagePort; over the port the main thread drives
// the phases so the measured window is the same for every shard and for the /proc CPU readings:
//
//   shard                      main thread
//   connect all its sockets ─▶ {ready}
//                            ◀─ {start}     load begins (warm-up, not recorded)
//                            ◀─ {measure}   recording begins; main reads CPU counters
//                            ◀─ {snapshot}  (any number, while recording) ─▶ {counts} per target so far
//                            ◀─ {stop}      recording ends; main reads CPU counters; shard closes all
//   (burst: no sockets before {ready}; all of them are opened at once on {measure} and held to {stop})
//   task resolves with ShardResult (histogram encoded, counts) — merged in the main thread.

import type { MessagePort } from 'node:worker_threads';

export type ShardKind = 'echo' | 'open-loop' | 'bulk' | 'handshake' | 'idle' | 'burst';

export interface ShardTask {
  kind: ShardKind;
  /**
   * ws:// URLs to connect to: the same load is run against each (the perf gate drives a base and a head
   * proxy at once); the bench's scenarios pass one.
   */
  urls: readonly string[];
  /** Connections this shard opens per URL (handshake: parallel open/close loops; burst: opened all at once on 'measure'). */
  connections: number;
  /** Message size in bytes (echo, open-loop, bulk). */
  sizeBytes: number;
  /** open-loop: messages per second for this shard, spread over its connections. */
  ratePerSec: number;
  /** bulk: bytes a connection may have sent and not had acknowledged. */
  windowBytes: number;
  /** echo: messages each connection keeps in flight (1: strict ping-pong). */
  inFlight: number;
  port: MessagePort;
}

export type ControlMessage = { type: 'start' } | { type: 'measure' } | { type: 'snapshot' } | { type: 'stop' };

/** Work recorded since {measure} for one URL of the task. */
export interface TargetCounts {
  units: number;
  bytes: number;
}

export type ShardEvent = { type: 'ready' } | { type: 'error'; message: string } | { type: 'counts'; counts: TargetCounts[] };

export interface ShardResult {
  /** Units completed inside the measured window: messages echoed, handshakes, or (bulk) bytes acked. */
  units: number;
  /** Bytes carried inside the window (payload, both directions for echo). */
  bytes: number;
  /** Latency histogram in µs (hdr, compressed base64); empty string when none is recorded. */
  histogram: string;
  errors: number;
  /** First error message seen, for the report. */
  firstError?: string;
  /** open-loop: messages still unanswered when the window closed. */
  outstanding?: number;
  /** units and bytes per URL of the task, in its order (they add up to the totals above). */
  perTarget: TargetCounts[];
}
