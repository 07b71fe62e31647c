// The typed message protocol between the primary thread and tunnel workers. Each side has its own entry
// file (supervisor.ts, worker-main.ts); this is all they share. Errors cross as plain { code, message }
// objects (custom properties do not survive structured clone).
import type { Config } from '../config/schema.js';
import type { TunnelInfo, TunnelQuery, TunnelSelector } from '../server/open-tunnels.js';
import type { ListenerMaterial } from '../tls/certificate-material.js';

export interface WireError {
  readonly code: string;
  readonly message: string;
}

/** workerData of a new worker. */
export interface WorkerInit {
  readonly id: number;
  readonly config: Config;
  /** Concrete ports for each listener (0 = let the kernel choose: only the first worker does that). */
  readonly ports: readonly number[];
  readonly reusePort: boolean;
  readonly counters: SharedArrayBuffer;
  /** Balancer member state and statistics (MemberTable), shared by every thread. */
  readonly members: SharedArrayBuffer;
  readonly workers: number;
  /** Route name → counter slot. */
  readonly slots: readonly (readonly [string, number])[];
  readonly faultInjection: boolean;
  /** Certificate material of each TLS listener, by listener index, as the primary read it. */
  readonly tls: readonly (ListenerMaterial | undefined)[];
  /** This worker's tunnel ids start above this: a range of its own, new at every spawn (unique per process). */
  readonly tunnelIdBase: number;
  /** Tunnel limit counts shared by every thread (limits/). */
  readonly limits: SharedLimitBuffers;
}

/** The shared memory of tunnel limits, and the member slots of the config the worker starts with. */
export interface SharedLimitBuffers {
  readonly counts: SharedArrayBuffer;
  readonly clients: SharedArrayBuffer;
  readonly clientCapacity: number;
  /** Balancer member key → count slot. */
  readonly memberSlots: readonly (readonly [string, number])[];
}

/**
 * A reload is two rounds, so it applies everywhere or nowhere: every worker prepares the new config
 * (compiles it, keeps it aside) and answers; only when all have, the primary commits its own part and
 * sends commit; if any prepare fails or times out, every worker is sent abort and nothing changed.
 * 'tls' answers a certificate swap (one round: the primary has already read and checked the files).
 */
export type ReloadPhase = 'prepare' | 'commit' | 'tls';

export type PrimaryMessage =
  | {
      readonly type: 'reload-prepare';
      readonly seq: number;
      readonly config: Config;
      readonly slots: readonly (readonly [string, number])[];
      readonly members: SharedArrayBuffer;
      /** Balancer member key → limit count slot. */
      readonly memberSlots: readonly (readonly [string, number])[];
    }
  | { readonly type: 'reload-commit'; readonly seq: number }
  | { readonly type: 'reload-abort'; readonly seq: number }
  /** New certificate material of one TLS listener (answered as phase 'tls' of `seq`). */
  | { readonly type: 'tls-update'; readonly seq: number; readonly listener: number; readonly material: ListenerMaterial }
  | { readonly type: 'drain'; readonly tunnelDrainMs: number; readonly deadlineMs: number }
  | { readonly type: 'crash'; readonly message: string }
  /** Benchmarks (node run with --expose-gc): collect garbage now. */
  | { readonly type: 'gc' }
  /** Fault injection (tests): the next reload-prepare fails. */
  | { readonly type: 'fail-next-prepare' }
  /** Admin: list this worker's open tunnels (answered by 'tunnel-answer' with the same seq). */
  | { readonly type: 'tunnels-list'; readonly seq: number; readonly query: TunnelQuery }
  /** Admin: close the tunnels selected (answered by 'tunnel-answer' with how many). */
  | { readonly type: 'tunnels-close'; readonly seq: number; readonly selector: TunnelSelector }
  /** Admin: bring this worker's shared counters up to date now (answered by an empty 'tunnel-answer'). */
  | { readonly type: 'stats-flush'; readonly seq: number };

export type WorkerMessage =
  | { readonly type: 'ready'; readonly ports: readonly number[]; readonly engine: 'native' | 'js' }
  | { readonly type: 'startup-failed'; readonly error: WireError }
  | { readonly type: 'reload-done'; readonly phase: ReloadPhase; readonly seq: number }
  | { readonly type: 'reload-failed'; readonly phase: ReloadPhase; readonly seq: number; readonly error: WireError }
  | { readonly type: 'drained' }
  | { readonly type: 'tunnel-answer'; readonly seq: number; readonly tunnels: readonly TunnelInfo[]; readonly closed: number };

export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : err.name, message: err.message };
  }
  return { code: 'UNKNOWN', message: String(err) };
}
