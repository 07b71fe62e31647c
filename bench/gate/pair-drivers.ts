// The loads the gate runs against a base and a head proxy at the same time: the same traffic to both,
// with the work each one did readable at any instant, so a window's CPU and its work come from the same
// two moments for both revisions. WebSocket loads run on the bench's load-generator shards (each shard
// holds connections to both proxies); HTTP runs one autocannon instance per proxy.
import autocannon from 'autocannon';
import { LoadSession } from '../loadgen/run-shards.js';
import type { ShardKind } from '../loadgen/protocol.js';
import { WINDOW_BYTES } from '../scenarios/bulk.js';
import type { ScenarioSettings } from '../scenarios/types.js';
import type { GateScenario } from './figures.js';
import type { Rev } from './stats.js';

export interface PairDriver {
  /** Work done since the load started, per revision (messages, bytes acked, handshakes or requests). */
  counts(): Promise<Record<Rev, number>>;
  /** Ends the load; resolves with the errors seen (0 and undefined when none). */
  stop(): Promise<{ errors: number; firstError?: string }>;
}

const WS_LOADS: Record<Exclude<GateScenario, 'http' | 'idle'>, { kind: ShardKind; path: string }> = {
  echo: { kind: 'echo', path: 'echo' },
  bulk: { kind: 'bulk', path: 'sink' },
  handshake: { kind: 'handshake', path: 'echo' },
};

/**
 * Starts the scenario's load against both proxies. `order` is which revision's connections each shard
 * opens first (alternated between blocks by the caller); `ports` the proxies' ports.
 */
export async function startPairLoad(
  scenario: Exclude<GateScenario, 'idle'>,
  ports: Record<Rev, number>,
  order: readonly [Rev, Rev],
  s: ScenarioSettings,
): Promise<PairDriver> {
  if (scenario === 'http') return startHttpPair(ports, order, s.connections);
  const { kind, path } = WS_LOADS[scenario];
  const session = await LoadSession.open({
    kind,
    urls: order.map((rev) => `ws://127.0.0.1:${ports[rev]}/${path}`),
    connections: s.connections,
    shards: s.shards,
    sizeBytes: s.sizeBytes,
    windowBytes: kind === 'bulk' ? WINDOW_BYTES : 0,
    inFlight: 1,
  });
  session.start();
  session.measure();
  return {
    async counts() {
      const c = await session.snapshot();
      return { [order[0]]: c[0]!.units, [order[1]]: c[1]!.units } as Record<Rev, number>;
    },
    async stop() {
      try {
        session.stop();
        const r = await session.results(0);
        return r.firstError === undefined ? { errors: r.errors } : { errors: r.errors, firstError: r.firstError };
      } finally {
        await session.close();
      }
    },
  };
}

/** One autocannon instance per proxy (keep-alive GET, one request in flight per connection). */
function startHttpPair(ports: Record<Rev, number>, order: readonly [Rev, Rev], connections: number): PairDriver {
  const done: Record<Rev, number> = { base: 0, head: 0 };
  let errors = 0;
  let firstError: string | undefined;
  const fail = (err: unknown) => {
    errors++;
    firstError ??= err instanceof Error ? err.message : String(err);
  };
  const runs = order.map((rev) => {
    // Long enough for any block: stop() ends it.
    let end!: () => void;
    const finished = new Promise<void>((resolve) => (end = resolve));
    // The callback form returns the running instance (its events and stop()).
    const instance = autocannon({ url: `http://127.0.0.1:${ports[rev]}/http`, connections, pipelining: 1, duration: 3600 }, (err) => {
      if (err) fail(err);
      end();
    });
    instance.on('response', (_client: unknown, status: number) => {
      if (status >= 200 && status < 300) done[rev]++;
      else fail(new Error(`${rev} proxy answered ${status}`));
    });
    instance.on('reqError', fail);
    return { instance, finished };
  });
  return {
    counts() {
      return Promise.resolve({ ...done });
    },
    async stop() {
      for (const r of runs) r.instance.stop();
      await Promise.all(runs.map((r) => r.finished));
      return firstError === undefined ? { errors } : { errors, firstError };
    },
  };
}
