// `wspass run`: the primary thread. Loads the config (already validated by the caller), starts the
// worker threads that carry the traffic, serves the admin endpoint, and turns signals into actions:
// SIGHUP reloads (a bad config is rejected and the old one stays; certificate files are read again),
// SIGTERM/SIGINT stop (see onStop: not ready at once, serve on for shutdown.preStopDelayMs, then drain and
// exit 0; a second one exits at once). Certificates are also reloaded when their files change.
import { availableParallelism } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import type { Server } from 'node:http';
import { startAdminServer, startHealthServer } from '../admin/admin-server.js';
import { adminToken, TokenCheck } from '../admin/admin-token.js';
import { balancerRoutes } from '../admin/balancer-routes.js';
import type { Phase, ProbeSource } from '../admin/probes.js';
import { tunnelRoutes } from '../admin/tunnel-routes.js';
import { HealthChecker } from '../balancer/health-checker.js';
import type { MemberTable } from '../balancer/member-table.js';
import { BalancerRegistry } from '../balancer/registry.js';
import { composeRoutes } from '../server/compose-routes.js';
import { parseListenAddress, resolveListeners } from '../config/listen-address.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { createMetrics } from '../metrics/prometheus.js';
import { CertificateLoadError, loadListenerMaterial, type ListenerMaterial } from '../tls/certificate-material.js';
import { CertificateWatcher, type WatchedListener } from '../tls/certificate-watcher.js';
import { missingFeatures, runtimeSupport } from '../workers/runtime-support.js';
import { Supervisor } from '../workers/supervisor.js';
import { loadAndCheckConfig, type ReadSettings } from './load-config.js';

export interface RunOptions {
  /** Worker threads; default: the number of available cores. */
  readonly workers?: number;
  /** How the config file is read again on reload (--listen-map, Apache options). */
  readonly read?: ReadSettings;
}

export async function runProxy(file: string, config: Config, log: Logger, opts: RunOptions = {}): Promise<number> {
  // Where it listens and when it stops are always logged, whatever the level: scripts wait for them.
  const lifecycle = log.level === 'silent' ? log : log.child({}, { level: 'info' });
  const support = runtimeSupport();
  const reusePort = support.reusePort;
  let workers = opts.workers ?? availableParallelism();
  if (!reusePort) workers = 1;
  const missing = missingFeatures(support);
  if (missing.length > 0) {
    // One warning naming everything, so an operator sees the whole cost of the old runtime at once;
    // logged whatever the level, like the lifecycle lines.
    lifecycle.warn({ node: process.versions.node, platform: process.platform, missing }, 'this runtime lacks features wspass uses; running with less');
  }
  // Certificates are read here, once, and handed to every worker: a worker respawned later starts with
  // what is in service, not with whatever the files hold at that moment.
  const tlsListeners = new Map<number, WatchedListener>();
  try {
    resolveListeners(config).forEach((l, i) => {
      if (l.tls) tlsListeners.set(i, { address: l.address, tls: l.tls, material: loadListenerMaterial(l.tls) });
    });
  } catch (err) {
    log.fatal({ file: err instanceof CertificateLoadError ? err.file : undefined, err: (err as Error).message }, 'cannot start');
    return 1;
  }
  const tls: (ListenerMaterial | undefined)[] = [];
  for (const [i, l] of tlsListeners) tls[i] = l.material;
  const supervisor = new Supervisor({
    config,
    workers,
    log,
    reusePort,
    faultInjection: process.env.WSPASS_FAULT_INJECTION === '1',
    tls,
  });
  let phase: Phase = 'starting';
  const probes: ProbeSource = { phase: () => phase, workerStates: () => supervisor.status().workers.map((w) => w.state) };
  // Up before the workers, so a probe sees "starting" (readiness 503) rather than a refused connection.
  let health: Server | undefined;
  if (config.health) {
    const { host, port } = parseListenAddress(config.health.listen);
    const started = await startHealthServer(probes, log, host, port).catch((err: unknown) => {
      log.fatal({ err: (err as Error).message, health: config.health?.listen }, 'cannot start: the health listener cannot listen');
      return undefined;
    });
    if (started === undefined) return 1;
    health = started.server;
    lifecycle.info({ health: `http://${hostPort(host, started.address.port)}` }, 'health listening');
  }
  let token: TokenCheck | undefined;
  try {
    const t = config.admin && adminToken(config.admin);
    if (t !== undefined) token = new TokenCheck(t);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'cannot start: the admin token cannot be read');
    health?.close();
    return 1;
  }
  let ports: readonly number[];
  try {
    ports = await supervisor.start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'cannot start');
    health?.close();
    return 1;
  }
  phase = 'serving';
  const certificates = new CertificateWatcher({
    listeners: tlsListeners,
    log: lifecycle,
    apply: async (i, material) => {
      const errors = await supervisor.updateTls(i, material);
      if (errors.length) log.error({ errors }, 'new TLS certificate not applied on every worker');
    },
  });
  // The tunnel engine each worker runs (native or js), so a silent fallback shows at start-up.
  const engine = [...new Set(supervisor.status().workers.map((w) => w.engine))].join(',');
  resolveListeners(config).forEach((l, i) =>
    lifecycle.info({ address: l.host, engine, port: ports[i], workers }, 'listening'),
  );

  // Balancers: runtime control and active health checks live here, in the primary, over the member table
  // every worker shares (one prober per process, not per thread).
  // Built without starting its health checks, so a reload can prepare one and throw it away.
  const balancing = (cfg: Config, members: MemberTable) => {
    const balancers = [...composeRoutes(cfg, { members }).balancers.values()];
    const health = new HealthChecker(members, balancers);
    health.on('down', (e) => log.warn(e, 'balancer member failed its health checks'));
    health.on('up', (e) => log.info(e, 'balancer member healthy again'));
    return { registry: new BalancerRegistry(members, balancers), health };
  };
  let balancer = balancing(config, supervisor.members);
  balancer.health.start();

  let current = config;
  // All or nothing: the primary's balancers are prepared beside the workers' routes and swapped in only
  // when every worker has prepared the new config too.
  const reload = async () => {
    // The certificate files are read again even when the config is unchanged, or refused below.
    const certificatesReloaded = certificates.reloadNow();
    try {
      await reloadConfig();
    } finally {
      await certificatesReloaded;
    }
  };
  const reloadConfig = async () => {
    const next = loadAndCheckConfig(file, opts.read);
    await supervisor.reload(next, (members) => {
      const prepared = balancing(next, members);
      return () => {
        balancer.health.close();
        balancer = prepared;
        balancer.health.start();
      };
    });
    // Read when a listener starts: the native front (tunnel.front) is started or not with the listener.
    const fixed = { listen: (c: Config) => c.listen, admin: (c: Config) => c.admin, health: (c: Config) => c.health, 'tunnel.front': (c: Config) => c.tunnel.front !== false };
    const changed = Object.entries(fixed)
      .filter(([, of]) => !isDeepStrictEqual(of(next), of(current)))
      .map(([key]) => key);
    if (changed.length > 0) {
      log.warn({ keys: changed }, `${changed.join(', ')}: changes need a restart; the rest of the new config is applied`);
    }
    current = next;
    lifecycle.info({ file, routes: next.routes.length }, 'config reloaded');
  };

  let admin: Server | undefined;
  if (config.admin) {
    const { host, port } = parseListenAddress(config.admin.listen);
    // An admin endpoint that cannot bind stops the start: running on without it would also run without
    // the reload and drain the operator expects from it and from the signal handlers installed below.
    const started = await startAdminServer(
      {
        supervisor,
        metrics: createMetrics(() => ({ ...supervisor.status(), members: balancer.registry.listMembers() })),
        log,
        reload,
        handlers: [balancerRoutes(() => balancer.registry), tunnelRoutes(supervisor)],
        probes,
        token,
      },
      host,
      port,
    ).catch(async (err: unknown) => {
      log.fatal({ err: (err as Error).message, admin: config.admin?.listen }, 'cannot start: the admin endpoint cannot listen');
      balancer.health.close();
      certificates.close();
      health?.close();
      await supervisor.terminate();
      return undefined;
    });
    if (started === undefined) return 1;
    admin = started.server;
    lifecycle.info({ admin: `http://${hostPort(host, started.address.port)}` }, 'admin listening');
  }

  return new Promise<number>((resolve) => {
    const onHup = () => {
      reload().catch((err: unknown) => {
        log.error({ file, errors: (err as Error).message }, 'config reload rejected; the running config stays');
      });
    };
    const finish = (code: number) => {
      process.removeListener('SIGHUP', onHup);
      process.removeListener('SIGTERM', onStop);
      process.removeListener('SIGINT', onStop);
      health?.close();
      health?.closeAllConnections();
      resolve(code);
    };
    const drain = () => {
      const { tunnelDrainMs, deadlineMs } = current.shutdown;
      lifecycle.info({ tunnelDrainMs, deadlineMs }, 'draining');
      admin?.close();
      admin?.closeAllConnections();
      balancer.health.close();
      certificates.close();
      supervisor.drain(tunnelDrainMs, deadlineMs).then(
        () => {
          lifecycle.info('stopped');
          finish(0);
        },
        (err: unknown) => {
          log.error({ err: (err as Error).message }, 'error while draining');
          finish(1);
        },
      );
    };
    // First signal: readiness fails at once, but the listeners keep accepting for preStopDelayMs (the time
    // a load balancer or Kubernetes takes to stop sending new connections here), then the drain. Second
    // signal: exit now (an operator, or an orchestrator out of patience, means it).
    const onStop = (signal: NodeJS.Signals) => {
      if (phase === 'stopping') {
        lifecycle.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      phase = 'stopping';
      const { preStopDelayMs } = current.shutdown;
      lifecycle.info({ signal, preStopDelayMs }, 'stopping: not ready');
      if (preStopDelayMs === 0) drain();
      else setTimeout(drain, preStopDelayMs);
    };
    process.on('SIGHUP', onHup);
    // Benchmarks only: node started with --expose-gc (never in production) collects garbage on SIGUSR2 in
    // every thread, so a soak's memory reading is not the garbage collector's schedule.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (typeof gc === 'function') {
      process.on('SIGUSR2', () => {
        gc();
        supervisor.collectGarbage();
      });
    }
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
  });
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
