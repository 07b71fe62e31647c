// What the server does around a tunnel is the same whichever engine relays it: each test runs on the
// native engine (skipped where the addon is not built, required with CI=true) and on the JavaScript one.
// The close log line (reason, duration, bytes), balancer accounting (open tunnels and bytes per member, as
// bybusyness and bytraffic read them), drain (closes spread over the window, FIN both ways), reload (open
// tunnels untouched, even when the new config changes the engine) and the live tunnel listing.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { MemberTable } from '../../src/balancer/member-table.js';
import { BalancerRegistry } from '../../src/balancer/registry.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { composeRoutes } from '../../src/server/compose-routes.js';
import { ProxyServer } from '../../src/server/proxy-server.js';
import { closedLog, ENGINES, skipFor, type Engine } from '../helpers/engines.js';
import { echoThrough, rawTunnel } from '../helpers/peers.js';
import { switchEchoBackend } from '../helpers/scripted-backend.js';

/** An in-process proxy whose `tunnel closed` lines are kept. */
async function startProxy(t: TestContext, engine: Engine, input: Omit<ConfigInput, 'listen'>) {
  const config = configSchema.parse({ listen: '127.0.0.1:0', tunnel: { engine }, ...input });
  const { log, lines, nClosed } = closedLog();
  const table = new MemberTable(config);
  const routes = composeRoutes(config, { members: table });
  const proxy = new ProxyServer(config, { log, routes });
  const [addr] = await proxy.listen();
  t.after(() => proxy.destroy());
  return { proxy, port: addr!.port, lines, nClosed, registry: new BalancerRegistry(table, routes.balancers.values()) };
}

for (const engine of ENGINES) {
  const skip = skipFor(engine);

  test(`${engine}: the tunnel closed line has the reason, the duration and the bytes each way; idle-timeout is a reason too`, { skip }, async (t) => {
    const backend = await switchEchoBackend(t, 'hi');
    const { proxy, port, lines, nClosed } = await startProxy(t, engine, {
      routes: [
        { name: 'idle', path: '/idle', backend: `ws://127.0.0.1:${backend.port}/`, idleTimeoutMs: 150 },
        { name: 'held', path: '/', backend: `ws://127.0.0.1:${backend.port}/` },
      ],
    });
    const s = await rawTunnel(t, port, 'hi');
    assert.deepEqual([...proxy.liveTunnels()].map(([tunnel, route]) => [tunnel.engine, route]), [[engine, 'held']]);
    assert.equal(await echoThrough(s, 'x'.repeat(1000)), 'x'.repeat(1000));
    // Held open a while, so the duration shows it was measured from the start, not at the close.
    await new Promise((r) => setTimeout(r, 120));
    s.end();
    await once(s, 'close');
    await nClosed(1);
    const held = lines[0]!;
    assert.equal(held.route, 'held');
    assert.equal(held.reason, 'client-closed');
    assert.equal(held.bytesToBackend, 1000);
    assert.equal(held.bytesToClient, 2 + 1000);
    assert.ok(held.durationMs >= 110 && held.durationMs < 5_000, `durationMs ${held.durationMs}`);

    // The tunnel stays flowing after the greeting, so the proxy's FIN is read and the socket closes.
    const idle = await rawTunnel(t, port, 'hi', '/idle');
    await once(idle, 'close');
    await nClosed(2);
    assert.equal(lines[1]!.route, 'idle');
    assert.equal(lines[1]!.reason, 'idle-timeout');
    assert.ok(lines[1]!.durationMs >= 140, `durationMs ${lines[1]!.durationMs}`);
  });

  test(`${engine}: balancer members count open tunnels (bybusyness) and their bytes at close (bytraffic)`, { skip }, async (t) => {
    const [a, b] = await Promise.all([switchEchoBackend(t, 'a'), switchEchoBackend(t, 'b')]);
    const { port, registry, lines, nClosed } = await startProxy(t, engine, {
      routes: [{ path: '/', backend: 'balancer://pool/' }],
      balancers: { pool: { strategy: 'bytraffic', members: [{ url: `ws://127.0.0.1:${a.port}` }, { url: `ws://127.0.0.1:${b.port}` }] } },
    });
    const first = await rawTunnel(t, port, 'a');
    assert.deepEqual(registry.listMembers().map((m) => m.activeTunnels), [1, 0]);
    assert.equal(await echoThrough(first, 'y'.repeat(4096)), 'y'.repeat(4096));
    first.end();
    await nClosed(1);
    assert.equal(lines[0]!.member, `ws://127.0.0.1:${a.port}`);
    assert.deepEqual(registry.listMembers().map((m) => [m.activeTunnels, m.bytes]), [[0, 4096 + 1 + 4096], [0, 0]]);
    // bytraffic: the member that carried bytes is not picked next; the table counts the new tunnel there.
    const second = await rawTunnel(t, port, 'b');
    assert.deepEqual(registry.listMembers().map((m) => m.activeTunnels), [0, 1]);
    second.end();
    await nClosed(2);
    assert.deepEqual(registry.listMembers().map((m) => m.activeTunnels), [0, 0]);
  });

  test(`${engine}: drain closes open tunnels spread over the window, FIN both ways, reason "drain"`, { skip }, async (t) => {
    const backend = await switchEchoBackend(t, 'hi');
    const { proxy, port, lines, nClosed } = await startProxy(t, engine, { routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }] });
    const sockets = await Promise.all(Array.from({ length: 6 }, () => rawTunnel(t, port, 'hi')));
    assert.ok([...proxy.liveTunnels()].every(([tunnel]) => tunnel.engine === engine));
    const endedAt: number[] = [];
    // Each client sees the proxy's FIN (the raw client answers it): a close, not a reset.
    const ended = sockets.map((s) => once(s, 'end').then(() => endedAt.push(performance.now())));
    const started = performance.now();
    await proxy.drain({ tunnelDrainMs: 400, deadlineMs: 5_000 });
    await Promise.all(ended);
    await nClosed(6);
    endedAt.sort((x, y) => x - y);
    assert.ok(endedAt.at(-1)! - started >= 350, `all closed within ${endedAt.at(-1)! - started} ms`);
    assert.ok(endedAt.at(-1)! - endedAt[0]! >= 150, 'the closes were not spread over the window');
    assert.deepEqual(new Set(lines.map((l) => l.reason)), new Set(['drain']));
  });

  test(`${engine}: reload never touches an open tunnel, even one that changes the engine`, { skip }, async (t) => {
    const [a, b] = await Promise.all([switchEchoBackend(t, 'A'), switchEchoBackend(t, 'B')]);
    const other: Engine = engine === 'native' ? 'js' : 'native';
    const { proxy, port, lines, nClosed } = await startProxy(t, engine, { routes: [{ name: 'r', path: '/', backend: `ws://127.0.0.1:${a.port}/` }] });
    const old = await rawTunnel(t, port, 'A');
    assert.equal(await echoThrough(old, 'before'), 'before');
    const next = configSchema.parse({
      listen: '127.0.0.1:0',
      tunnel: { engine: skipFor(other) === false ? other : engine },
      routes: [{ name: 'r', path: '/', backend: `ws://127.0.0.1:${b.port}/`, idleTimeoutMs: 50 }],
    });
    proxy.reload(next);
    const fresh = await rawTunnel(t, port, 'B');
    const live = [...proxy.liveTunnels()].map(([tunnel]) => tunnel.engine);
    assert.deepEqual(live, [engine, next.tunnel.engine], 'the open tunnel keeps its engine; the new one runs the new config');
    // The new tunnel runs the new settings (idle for 50 ms: closed); the old one, idle just as long, keeps
    // its own (no idle timeout) and its backend.
    await once(fresh, 'close');
    await nClosed(1);
    assert.equal(lines[0]!.reason, 'idle-timeout');
    assert.equal(await echoThrough(old, 'after'), 'after');
    assert.equal(lines.length, 1, 'only the new tunnel was closed');
    old.end();
    await nClosed(2);
    assert.equal(lines[1]!.reason, 'client-closed');
    assert.equal(lines[1]!.bytesToBackend, 'before'.length + 'after'.length);
  });
}
