// Async write scheduling (DESIGN D4): the closed-loop echo through three wspass routes, async off,
// async on (writes corked per event-loop turn), async with a delay; latency percentiles, proxy CPU per
// message and the proxy's write syscalls per message show the trade-off. Write-through is 2 writes per
// echoed message (one each way); coalescing needs several messages of one connection inside the delay,
// so with strict ping-pong (--in-flight 1) there is nothing to coalesce: try --in-flight 8.
import { ASYNC_DELAY_MS, ROUTE_PREFIX } from '../processes/proxy.js';
import { runEcho } from './echo.js';
import type { ScenarioDef } from './types.js';

export const asyncScenario: ScenarioDef = {
  name: 'async',
  title: 'Async off / on / delay',
  description: `closed-loop echo through routes with async off, async on, and asyncDelayMs ${ASYNC_DELAY_MS}`,
  defaults: { durationS: 5, warmupS: 1, connections: 50, sizeBytes: 64, ratePerSec: 0 },
  // A --target proxy has no such routes: only wspass runs the variants.
  proxyCases: (label, isTarget) =>
    isTarget
      ? []
      : [
          { variant: 'wspass', label: `${label} async=off`, prefix: ROUTE_PREFIX.plain },
          { variant: 'wspass', label: `${label} async=on`, prefix: ROUTE_PREFIX.asyncOn },
          { variant: 'wspass', label: `${label} async=${ASYNC_DELAY_MS}ms`, prefix: ROUTE_PREFIX.asyncDelay },
        ],
  run: runEcho,
};
