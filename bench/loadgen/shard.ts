// A load-generator shard: runs in a piscina worker thread, opens its slice of the connections with the
// `ws` client and drives one scenario's traffic, recording latencies (µs) into its own hdr histogram.
// See protocol.ts for the phases. The hot loops do one send per answer and no per-message allocation
// beyond what `ws` needs (the payload Buffer is reused).
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { ACK_BYTES } from '../backends/protocol.js';
import { createLatencyHistogram, encodeHistogram } from './histogram.js';
import { OpenLoopConnection } from './open-loop.js';
import type { ControlMessage, ShardResult, ShardTask } from './protocol.js';

const OPEN_TIMEOUT_MS = 15_000;

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: OPEN_TIMEOUT_MS, maxPayload: 64 * 1024 * 1024 });
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => {
      ws.off('error', reject);
      resolve(ws);
    });
    ws.once('error', reject);
  });
}

/**
 * Opens n connections to each URL, a bounded number at a time (a burst of thousands would overflow listen
 * backlogs), the URLs taking turns batch by batch so neither target's connections are all the older ones.
 * Opened sockets are pushed to `out` as they come, so a caller can close them when a later one fails.
 */
async function openMany(urls: readonly string[], n: number, out: { ws: WebSocket; target: number }[]): Promise<void> {
  const parallel = 64;
  for (let i = 0; i < n; i += parallel) {
    for (const [target, url] of urls.entries()) {
      const batch = await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, () => open(url)));
      for (const ws of batch) out.push({ ws, target });
    }
  }
}

export default async function runShard(task: ShardTask): Promise<ShardResult> {
  const port = task.port;
  const hist = createLatencyHistogram();
  const result: ShardResult = { units: 0, bytes: 0, histogram: '', errors: 0, perTarget: task.urls.map(() => ({ units: 0, bytes: 0 })) };
  const counts = result.perTarget;
  let recording = false;
  let running = false;
  const onError = (err: Error) => {
    result.errors++;
    result.firstError ??= err.message;
  };

  const phase = (name: ControlMessage['type']) =>
    new Promise<void>((resolve) => {
      const listener = (msg: ControlMessage) => {
        if (msg.type !== name) return;
        port.off('message', listener);
        resolve();
      };
      port.on('message', listener);
    });
  const startP = phase('start');
  const measureP = phase('measure');
  const stopP = phase('stop');
  // Counts so far, whenever the main thread asks (the gate's windows are the differences between them).
  port.on('message', (msg: ControlMessage) => {
    if (msg.type === 'snapshot') port.postMessage({ type: 'counts', counts: counts.map((c) => ({ ...c })) });
  });

  const opened: { ws: WebSocket; target: number }[] = [];
  try {
    if (task.kind !== 'handshake' && task.kind !== 'burst') await openMany(task.urls, task.connections, opened);
  } catch (err) {
    port.postMessage({ type: 'error', message: `connect ${task.urls.join(', ')}: ${(err as Error).message}` });
    for (const s of opened) s.ws.terminate();
    port.close();
    throw err;
  }
  const sockets = opened.map((s) => s.ws);
  for (const s of sockets) s.on('error', onError);
  port.postMessage({ type: 'ready' });

  await startP;
  running = true;
  const payload = Buffer.alloc(task.sizeBytes, 0x61);
  let openLoopTimer: NodeJS.Timeout | undefined;
  const handshakeLoops: Promise<void>[] = [];

  switch (task.kind) {
    case 'echo': {
      // Closed loop: each connection keeps `inFlight` messages outstanding and sends the next when an
      // answer arrives. Echoes come back in order, so the send times form a ring per connection.
      const depth = Math.max(1, task.inFlight);
      for (const { ws, target } of opened) {
        const c = counts[target]!;
        const sentAt = new Float64Array(depth);
        let head = 0;
        let tail = 0;
        const send = () => {
          sentAt[head] = performance.now();
          head = head + 1 === depth ? 0 : head + 1;
          ws.send(payload);
        };
        ws.on('message', (data: Buffer) => {
          const now = performance.now();
          const t = sentAt[tail]!;
          tail = tail + 1 === depth ? 0 : tail + 1;
          if (recording) {
            hist.recordValue(Math.max(1, Math.round((now - t) * 1000)));
            c.units++;
            c.bytes += 2 * data.length;
          }
          if (running) send();
        });
        for (let i = 0; i < depth; i++) send();
      }
      break;
    }
    case 'open-loop': {
      const perConn = task.ratePerSec / sockets.length;
      const t0 = performance.now() + 1;
      const conns = opened.map(({ ws, target }, i) => {
        const tc = counts[target]!;
        // Stagger the connections over one interval so the shard's sends are spread evenly in time.
        const c = new OpenLoopConnection(t0 + (i / sockets.length) * (1000 / perConn), perConn);
        ws.on('message', (data: Buffer) => {
          const latencyMs = c.onResponse(performance.now());
          if (recording && latencyMs !== undefined) {
            hist.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
            tc.units++;
            tc.bytes += 2 * data.length;
          }
        });
        return { ws, c };
      });
      const tick = () => {
        if (!running) return;
        const now = performance.now();
        let next = Infinity;
        for (const { ws, c } of conns) {
          c.tick(now, () => ws.send(payload));
          next = Math.min(next, c.nextDueMs);
        }
        openLoopTimer = setTimeout(tick, Math.max(0, next - performance.now()));
      };
      tick();
      result.outstanding = 0;
      stopP.then(() => {
        result.outstanding = conns.reduce((n, { c }) => n + c.outstanding, 0);
      }, () => undefined);
      break;
    }
    case 'bulk': {
      // Upload to the sink with a bounded window: send while fewer than windowBytes are unacknowledged.
      for (const { ws, target } of opened) {
        const c = counts[target]!;
        let sent = 0;
        let acked = 0;
        const pump = () => {
          while (running && sent - acked < task.windowBytes) {
            ws.send(payload);
            sent += payload.length;
          }
        };
        ws.on('message', () => {
          acked += ACK_BYTES;
          if (recording) {
            c.units += ACK_BYTES;
            c.bytes += ACK_BYTES;
          }
          pump();
        });
        pump();
      }
      break;
    }
    case 'handshake': {
      // Each loop opens a connection, records the time to 'open', closes it, waits for the close, repeats.
      for (let i = 0; i < task.connections * task.urls.length; i++) {
        const target = i % task.urls.length;
        const url = task.urls[target]!;
        const c = counts[target]!;
        handshakeLoops.push(
          (async () => {
            while (running) {
              const t = performance.now();
              let ws: WebSocket;
              try {
                ws = await open(url);
              } catch (err) {
                onError(err as Error);
                if (result.errors > 100) return; // the target is down: stop hammering it
                continue;
              }
              const openedAt = performance.now();
              const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
              ws.close();
              await closed;
              if (recording) {
                hist.recordValue(Math.max(1, Math.round((openedAt - t) * 1000)));
                c.units++;
              }
            }
          })(),
        );
      }
      break;
    }
    case 'idle':
    case 'burst':
      break; // idle: the connections are just held; main reads the proxy's RSS
  }

  await measureP;
  recording = true;
  if (task.kind === 'burst') {
    // Every connect at once (no batching): the listen queues and the kernel's spread across workers
    // see the whole burst. Each time to 'open' is recorded; the sockets are held until 'stop'.
    const t0 = performance.now();
    const settled = await Promise.allSettled(
      Array.from({ length: task.connections }, () =>
        open(task.urls[0]!).then((ws) => {
          hist.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
          ws.on('error', onError);
          return ws;
        }),
      ),
    );
    for (const r of settled) {
      if (r.status === 'fulfilled') {
        sockets.push(r.value);
        counts[0]!.units++;
      } else onError(r.reason as Error);
    }
  }
  await stopP;
  recording = false;
  running = false;
  if (openLoopTimer) clearTimeout(openLoopTimer);
  await Promise.all(handshakeLoops);
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.terminate();
        }),
    ),
  );
  port.close();
  for (const c of counts) {
    result.units += c.units;
    result.bytes += c.bytes;
  }
  result.histogram = hist.totalCount > 0 ? encodeHistogram(hist) : '';
  hist.destroy();
  return result;
}
