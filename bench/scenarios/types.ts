// What a scenario is, and what one measured case (one scenario through one path: direct to the
// backend, through wspass, or through a --target proxy) produces. The results file is a list of these.
import type { LatencySummary } from '../loadgen/histogram.js';
import type { WindowCpu } from '../measure/window.js';

export const SCENARIO_NAMES = ['echo', 'open-loop', 'bulk', 'handshake', 'idle', 'http', 'async', 'burst', 'soak'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Named scenario sets, each with its own sizes and worker counts (settings.ts). */
export const SET_NAMES = ['default', 'engine'] as const;
export type SetName = (typeof SET_NAMES)[number];

/**
 * The path the load takes: straight to the backend (the no-proxy baseline), wspass, a --target, or a
 * reference proxy of --compare (nginx, HAProxy, the minimal Node.js proxy).
 */
export type Variant = 'direct' | 'wspass' | 'target' | 'reference';

export type CostUnit = 'µs/msg' | 'ms/GB' | 'µs/handshake' | 'µs/connect' | 'µs/req' | 'KiB/conn';
export type ThroughputUnit = 'msg/s' | 'MB/s' | 'handshakes/s' | 'connects/s' | 'req/s' | 'conns';

/** Sizes of one scenario run (defaults per scenario, overridden by --duration/--connections/--size/--rate). */
export interface ScenarioSettings {
  durationS: number;
  warmupS: number;
  connections: number;
  sizeBytes: number;
  /** open-loop only: messages per second over all connections. */
  ratePerSec: number;
  /** echo/async: messages each connection keeps in flight (1: send the next when the echo arrives). */
  inFlight: number;
  /** Load-generator shards (piscina threads). */
  shards: number;
}

export interface CaseContext {
  /** ws:// base ending in "/": the scenario appends "echo" or "sink". */
  wsBase: string;
  /** http:// base ending in "/". */
  httpBase: string;
  /** Processes whose CPU is "the proxy" (null: unknown, cost is not computed). */
  proxyPids: readonly number[] | null;
  backendPid: number;
  settings: ScenarioSettings;
  /** wspass's admin endpoint (`GET /status`), when this case started wspass with one. */
  admin: AdminClient | null;
}

/** Where a writes figure comes from: the kernel's syscw alone, or plus wspass's own count of its native sends. */
export type WritesSource = 'syscw' | 'syscw+wspass';

/**
 * The slice of wspass's `GET /status` the bench reads (`tunnelWrites`, `backendLegWrites`: absent before
 * wspass counted them).
 */
export interface ProxyStatus {
  workers: { id: number; state: string; restarts: number }[];
  counters: {
    workers: { activeTunnels: number; tunnelsOpened: number; tunnelsClosed: number; httpRequests: number }[];
    tunnelWrites?: { js: number; native: number }[];
    /** Per worker: the send(2) calls of the native engine's backend legs (handshake request heads). */
    backendLegWrites?: number[];
  };
}

/** wspass's own write counts, all workers: its tunnels' by engine, and its native backend legs' sends. */
export interface OwnWrites {
  js: number;
  native: number;
  /** Null when this wspass does not count them (before it did, a leg's send was counted nowhere). */
  backendLeg: number | null;
}

export interface AdminClient {
  readonly url: string;
  status(): Promise<ProxyStatus>;
  /**
   * The writes wspass's tunnels made so far, all workers, by engine, and its backend legs' sends, with every
   * worker's open tunnels flushed first (`/status?flush=1`); null when this wspass does not count them.
   */
  tunnelWrites(): Promise<OwnWrites | null>;
}

/** What a scenario's run returns; the runner adds identity, noise and attempts. */
export interface Measurement {
  /** Units of work done inside the window (messages, bytes, handshakes, requests, connections). */
  units: number;
  throughput: { value: number; unit: ThroughputUnit };
  latency: LatencySummary | null;
  cpu: WindowCpu | null;
  cost: {
    unit: CostUnit;
    /** The proxy's cost per unit (null for direct, or when the proxy's CPU is unknown). */
    proxy: number | null;
    /** The backend's cost per unit in the same window: the gate divides by it to cancel machine speed. */
    backend: number | null;
  };
  /**
   * The proxy's write syscalls in the window per unit of work: /proc/<pid>/io syscw (all threads), which
   * counts write/writev only; for wspass plus its own count of its native engine's send/splice-out calls
   * (`source` says which). An echoed message crosses the tunnel twice: write-through is 2 per message.
   */
  writes?: {
    syscalls: number;
    perUnit: number | null;
    unit: string;
    /** Absent in results from before it was recorded: syscw. */
    source?: WritesSource;
    /**
     * Of `syscalls`, wspass's own count of its native engine's sends (present with that source): its
     * tunnels' send/splice-out calls and its backend legs' sends of the request heads.
     */
    nativeSends?: number;
    /** Of `nativeSends`, the backend legs' (absent where wspass did not count them: before it did). */
    legSends?: number;
  };
  /** Tunnels each wspass worker opened during the case (from /status), in worker order. */
  workerTunnels?: number[];
  /** idle: RSS before, with half the connections and with all; cost is the second half's KiB/conn. */
  rss?: {
    connections: number;
    proxyBeforeKiB: number | null;
    proxyHalfKiB?: number | null;
    proxyAfterKiB: number | null;
    backendBeforeKiB: number | null;
    backendHalfKiB?: number | null;
    backendAfterKiB: number | null;
    /** All growth over all connections (includes one-time heap growth). */
    proxyTotalKiBPerConn?: number | null;
    backendTotalKiBPerConn?: number | null;
  };
  /** soak: the proxy's fds and RSS at baseline and after every wave closed, settled and collected. */
  soak?: SoakFigures;
  errors: number;
  firstError?: string;
  warnings: string[];
}

export interface SoakFigures {
  tunnels: number;
  waves: number[];
  fdsBefore: number;
  fdsAfter: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  /** RSS settled and collected after each wave. */
  rssPerWaveKiB: number[];
  /** Within 2 % for fds, and within the larger of 5 MiB and 2 % for RSS. */
  fdsOk: boolean;
  rssOk: boolean;
}

export interface CaseSpec {
  variant: Variant;
  /** Shown in tables: "direct", "wspass", "wspass async=on", ... */
  label: string;
  /** Path prefix on the proxy (async variants use their own routes). */
  prefix: string;
  /** wspass worker threads for this case (unset: direct and --target). */
  workers?: number;
  /** wspass's tunnel engine for this case (`tunnel.engine`). */
  engine?: 'native' | 'js';
  /** Which reference proxy (variant 'reference'): nginx, haproxy or node-minimal. */
  reference?: string;
  /** wspass with its access log on (one line per tunnel or request): what the log costs. */
  accessLog?: boolean;
  /** wspass on the native engine with the native front off (`tunnel.front: false`): what the front saves. */
  noFront?: boolean;
}

export interface ScenarioDef {
  name: ScenarioName;
  title: string;
  /** One sentence: what is measured and how. */
  description: string;
  defaults: Omit<ScenarioSettings, 'shards' | 'inFlight'>;
  /** Worker counts this scenario runs wspass with when neither --workers nor a set says. */
  defaultWorkers?: readonly number[];
  /** No direct case: the figure only exists for the proxy (e.g. the per-worker share). */
  proxyOnly?: boolean;
  /** Node flags wspass runs with in this scenario (soak: --expose-gc, so SIGUSR2 collects garbage). */
  nodeFlags?: readonly string[];
  /** The cases this scenario runs for the proxy under test (besides 'direct'). */
  proxyCases(proxyLabel: string, isTarget: boolean): CaseSpec[];
  run(ctx: CaseContext): Promise<Measurement>;
}

export interface CaseResult extends Measurement {
  scenario: ScenarioName;
  variant: Variant;
  label: string;
  settings: ScenarioSettings;
  /** wspass worker threads (absent for direct and --target cases). */
  workers?: number;
  /** wspass's tunnel engine, when the case set one. */
  engine?: 'native' | 'js';
  /** The case ran with wspass's access log on. */
  accessLog?: boolean;
  /** The case ran with the native front off (`tunnel.front: false`). */
  noFront?: boolean;
  /** The reference proxy and its version, for 'reference' cases. */
  reference?: string;
  referenceVersion?: string;
  /** Runs made of this case (more than one when other tenants' CPU made a run noisy). */
  attempts: number;
}
