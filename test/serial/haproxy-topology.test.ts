// The scale-out topology on loopback, with the real programs: HAProxy in TCP mode (send-proxy-v2, health
// checks on /readyz, retries, redispatch) in front of two `wspass run` instances, each in front of the
// same two WebSocket backends (hash balancer on a query key).
//
//   client 127.0.0.2 ──▶ HAProxy ──(from 127.0.0.3, PROXY v2)──▶ wspass w1 ─┬─▶ backend 0
//                                                          └─▶ wspass w2 ─┴─▶ backend 1
//
// The client and HAProxy use different source addresses, so a PROXY header ignored anywhere would show
// 127.0.0.3 where 127.0.0.2 is expected. It shows: each key reaches the same backend through either
// instance; the backends see the client in X-Forwarded-For; a rolling restart (SIGTERM, drain, exit,
// start again) of each instance in turn fails no handshake of a client opening a WebSocket every 10 ms,
// and closes the stopped instance's long-lived tunnels spread over the drain window, which reconnect
// through the other instance. HAProxy from the machine's package: skipped when it is missing, except under
// CI=true (where .ci/run installs it), where that fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../bench/processes/free-port.js';
import { haproxyMissing, startHaproxy, topologyConfig } from '../helpers/haproxy.js';
import { startWsBackend } from '../helpers/peers.js';
import { testTunnelEngine } from '../helpers/proxy.js';
import { echoOnce, LongLivedFleet, NewConnectionLoop, type TunnelClose } from '../helpers/ws-fleet.js';
import { WspassInstance } from '../helpers/wspass-instance.js';
import { pollUntil } from '../helpers/poll.js';

const CLIENT = '127.0.0.2';
const LB_SOURCE = '127.0.0.3';
const CHECK = { interMs: 100, fall: 2, rise: 2 };
// The instance must stay in service until the load balancer has seen it fail `fall` checks, with a margin:
// at least 3 × inter × fall.
const PRE_STOP_DELAY_MS = 1_000;
const TUNNEL_DRAIN_MS = 2_000;
const KEYS = Array.from({ length: 100 }, (_, i) => `key-${i}`);
const LONG_LIVED = 500;

const keyOf = (url: string | undefined): string | undefined => /[?&]k=([^&]+)/.exec(url ?? '')?.[1];

/** Lines of two processes and client closes have no event to wait on: a bounded poll. */
const waitUntil = (ok: () => boolean, what: string | (() => string), timeoutMs = 15_000) => pollUntil(ok, what, { timeoutMs });

function countBy<T>(items: readonly T[], by: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[by(item)] = (out[by(item)] ?? 0) + 1;
  return out;
}

/** Key → the instances that served it and the members they sent it to, from the access logs. */
function placements(instances: readonly WspassInstance[]): Map<string, { instances: Set<string>; members: Set<string> }> {
  const out = new Map<string, { instances: Set<string>; members: Set<string> }>();
  for (const inst of instances) {
    for (const line of inst.tunnels()) {
      const key = keyOf(line.url);
      if (key === undefined) continue;
      const p = out.get(key) ?? { instances: new Set(), members: new Set() };
      p.instances.add(inst.name);
      p.members.add(line.member ?? '(none)');
      out.set(key, p);
    }
  }
  return out;
}

const missing = haproxyMissing();
const skip = process.env.CI === 'true' ? false : (missing ?? false);

test('HAProxy (TCP, send-proxy-v2, /readyz checks) in front of two wspass: hash stickiness, X-Forwarded-For, a rolling restart without a failed handshake', { skip }, async (t) => {
  assert.equal(missing, null, missing ?? '');
  assert.ok(PRE_STOP_DELAY_MS >= 3 * CHECK.interMs * CHECK.fall, 'preStopDelayMs ≥ 3 × inter × fall');
  const backends = await Promise.all([0, 1].map(() => startWsBackend(t)));
  const members = backends.map((b) => `ws://127.0.0.1:${b.port}`);

  const instances: WspassInstance[] = [];
  for (const name of ['w1', 'w2']) {
    const port = await freePort();
    const healthPort = await freePort();
    const config = {
      listen: [{ address: `127.0.0.1:${port}`, proxyProtocol: { trustedSources: [`${LB_SOURCE}/32`] } }],
      health: { listen: `127.0.0.1:${healthPort}` },
      log: { level: 'info', tunnelOpen: true },
      tunnel: { engine: testTunnelEngine() },
      shutdown: { preStopDelayMs: PRE_STOP_DELAY_MS, tunnelDrainMs: TUNNEL_DRAIN_MS, deadlineMs: TUNNEL_DRAIN_MS + 4_000 },
      routes: [{ name: 'app', path: '/', backend: 'balancer://pair/' }],
      balancers: { pair: { strategy: 'hash', hash: { on: 'query', name: 'k' }, members: members.map((url) => ({ url })) } },
    };
    instances.push(new WspassInstance(t, name, config, ['--workers', '1'], { port, healthPort }));
  }
  await Promise.all(instances.map((i) => i.start()));
  const haproxy = await startHaproxy(t, (port, statsSocket) =>
    topologyConfig({ port, statsSocket, source: LB_SOURCE, check: CHECK, servers: instances.map((i) => ({ name: i.name, ...i.ports })) }),
  );
  await haproxy.waitForStatus({ w1: 'UP', w2: 'UP' });
  const url = (key: string) => `ws://127.0.0.1:${haproxy.port}/?k=${key}`;
  const accessLines = () => instances.reduce((n, i) => n + i.tunnels().length, 0);

  // Hash stickiness: rounds over the 100 keys, one connection at a time, so round-robin alternates the
  // instances; a connection between rounds shifts the alternation, so a key meets the other instance next
  // round. Rounds go on until every key was served by both (read from the access logs), at most 6.
  let connections = 0;
  for (let round = 0; round < 6; round++) {
    for (const key of KEYS) await echoOnce(url(key), CLIENT, `${key}/${round}`);
    await echoOnce(url('shift'), CLIENT, 'shift');
    connections += KEYS.length + 1;
    await waitUntil(() => accessLines() >= connections, `${connections} access lines`);
    if (KEYS.every((k) => placements(instances).get(k)?.instances.size === 2)) break;
  }
  const sticky = placements(instances);
  for (const key of KEYS) {
    const p = sticky.get(key);
    assert.deepEqual([...(p?.instances ?? [])].sort(), ['w1', 'w2'], `${key} was served by both instances`);
    assert.equal(p?.members.size, 1, `${key} reached one member through both instances: ${[...(p?.members ?? [])].join(', ')}`);
  }

  // The rolling restart, under load: 500 long-lived echoing tunnels and a new WebSocket every 10 ms.
  const longKeys = Array.from({ length: LONG_LIVED }, (_, i) => `long-${i}`);
  const fleet = new LongLivedFleet(url, CLIENT, longKeys);
  t.after(() => fleet.close());
  await fleet.open(500);
  const loop = new NewConnectionLoop(url, CLIENT, (n) => KEYS[n % KEYS.length]!, 10);
  t.after(() => loop.stop());

  for (const [inst, other] of [
    [instances[0]!, instances[1]!],
    [instances[1]!, instances[0]!],
  ] as const) {
    const from = inst.lines.length;
    const otherFrom = other.lines.length;
    const closesFrom = fleet.closes.length;
    const stopped = inst.stop();
    // The load balancer takes it out while it still serves (the preStop delay), before the drain.
    await haproxy.waitForStatus({ [inst.name]: 'DOWN' });
    const downAt = Date.now();
    const draining = await inst.waitForLine((l) => l.msg === 'draining', 'draining', from);
    assert.ok(downAt <= draining.readAt, `${inst.name}: HAProxy marked it DOWN before its drain began`);
    assert.equal(await stopped, 0, `${inst.name} exits 0 after the drain`);

    // Its long-lived tunnels: closed by the drain, spread over the window, reconnected via the other. Nothing
    // else closes a long-lived tunnel, so every close the clients saw meanwhile is one of these.
    const drained = inst.lines.slice(from).filter((l) => l.msg === 'tunnel closed' && keyOf(l.url)?.startsWith('long-'));
    assert.ok(drained.length > 0, `${inst.name} held long-lived tunnels when it stopped`);
    assert.deepEqual(countBy(drained, (l) => `${l.reason}/${l.closedBy}`), { 'drain/proxy': drained.length }, `${inst.name}: the access log names the drain`);
    await waitUntil(
      () => fleet.closes.length - closesFrom >= drained.length,
      () => `${drained.length} clients saw their close, ${fleet.closes.length - closesFrom} did`,
    );
    const closes = fleet.closes.slice(closesFrom);
    const goodbyeOf = new Map(drained.map((l) => [keyOf(l.url), l.goodbye]));
    assert.equal(closes.length, drained.length, `${inst.name}: clients saw as many closes as tunnels it logged; not logged: ${closes.filter((c) => !goodbyeOf.has(c.key)).map((c) => c.key).join(', ')}`);
    // The goodbye: the configured close code, unless the access log says the closing handshake could not complete.
    const wrongCode = closes.filter((c) => c.code !== 1012 && goodbyeOf.get(c.key) === 'handshake');
    assert.deepEqual(wrongCode, [], `${inst.name}: a completed goodbye gives the client 1012`);
    assertSpread(closes, TUNNEL_DRAIN_MS, inst.name);
    const drainedKeys = new Set(drained.map((l) => keyOf(l.url)!));
    await waitUntil(
      () => reopened(other, otherFrom, drainedKeys).size === drainedKeys.size,
      `${drainedKeys.size} drained tunnels of ${inst.name} reopened through ${other.name}`,
    );

    // Start it again on the same ports; HAProxy puts it back and sends it new connections.
    const restartFrom = inst.lines.length;
    await inst.start();
    await haproxy.waitForStatus({ [inst.name]: 'UP' });
    await inst.waitForLine((l) => l.access === true && l.msg === 'tunnel closed', `${inst.name} serving after its restart`, restartFrom);
  }

  await waitUntil(() => fleet.allOpen(), 'every long-lived tunnel open');
  assert.deepEqual(await fleet.finalEcho(), [], 'every long-lived tunnel echoes at the end');
  await loop.stop();
  assert.deepEqual(loop.failures, [], 'no failed handshake of the new-WebSocket loop');
  assert.ok(loop.opened >= 500, `the loop ran all along: ${loop.opened} WebSockets`);
  assert.deepEqual(fleet.problems, [], 'no failed handshake or wrong echo of the long-lived tunnels');
  assert.ok(fleet.echoes > LONG_LIVED, `the long-lived tunnels echoed all along: ${fleet.echoes}`);

  // Over the whole run, both starts of each instance: every key on one member, the client's address seen.
  for (const [key, p] of placements(instances)) assert.equal(p.members.size, 1, `${key} stayed on one member: ${[...p.members].join(', ')}`);
  const seen = new Map<string, Set<number>>();
  backends.forEach((b, i) => {
    for (const req of b.requests) {
      assert.equal(req.headers['x-forwarded-for'], CLIENT, `backend ${i} sees the client's address`);
      const key = keyOf(req.url)!;
      seen.set(key, (seen.get(key) ?? new Set()).add(i));
    }
  });
  for (const [key, at] of seen) assert.equal(at.size, 1, `${key} reached one backend`);
  for (const inst of instances) {
    for (const line of inst.tunnels()) assert.equal(line.client, CLIENT, `${inst.name} logs the client's address`);
  }
});

/** Keys of `keys` that `inst` opened a tunnel for from line `from` on. */
function reopened(inst: WspassInstance, from: number, keys: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const l of inst.lines.slice(from)) {
    const key = keyOf(l.url);
    if (l.msg === 'tunnel opened' && key !== undefined && keys.has(key)) out.add(key);
  }
  return out;
}

/** The closes are spread over the drain window: they span at least half of it, over many 100 ms slices. */
function assertSpread(closes: readonly TunnelClose[], windowMs: number, name: string): void {
  const times = closes.map((c) => c.at);
  const span = Math.max(...times) - Math.min(...times);
  const slices = new Set(times.map((at) => Math.floor(at / 100))).size;
  const tens = new Set(times.map((at) => Math.floor(at / 10))).size;
  const first = Math.min(...times);
  const histogram = JSON.stringify(countBy(times, (at) => String(Math.floor((at - first) / 100) * 100)));
  assert.ok(span >= windowMs / 2, `${name}: ${closes.length} closes span ${span} ms of the ${windowMs} ms window; per 100 ms: ${histogram}`);
  assert.ok(slices >= windowMs / 100 / 2, `${name}: ${closes.length} closes fall in ${slices} slices of 100 ms`);
  assert.ok(tens >= Math.min(closes.length, windowMs / 10) / 4, `${name}: ${closes.length} closes fall in ${tens} slices of 10 ms`);
}
