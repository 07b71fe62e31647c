// `wspass run`: one proxy in this process, with signals: SIGHUP reloads (a bad config is rejected and the
// old one stays), SIGTERM/SIGINT drain and exit 0.
import type { Config } from '../config/schema.js';
import { ConfigError } from '../config/config-error.js';
import type { Logger } from '../log.js';
import { ProxyServer } from '../server/proxy-server.js';
import { loadAndCheckConfig } from './load-config.js';

const DRAIN_DEADLINE_MS = 10_000;

export async function runProxy(file: string, config: Config, log: Logger): Promise<number> {
  const proxy = new ProxyServer(config, { log });
  // Where it listens and when it stops are always logged, whatever the level: scripts wait for them.
  const lifecycle = log.level === 'silent' ? log : log.child({}, { level: 'info' });
  try {
    const addrs = await proxy.listen();
    for (const a of addrs) lifecycle.info({ address: a.address, port: a.port }, 'listening');
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'cannot listen');
    await proxy.destroy();
    return 1;
  }

  return new Promise<number>((resolve) => {
    const onHup = () => {
      try {
        proxy.reload(loadAndCheckConfig(file));
        log.info({ file }, 'config reloaded');
      } catch (err) {
        const message = err instanceof ConfigError ? err.message : (err as Error).message;
        log.error({ file, errors: message }, 'config reload rejected; the running config stays');
      }
    };
    let stopping = false;
    const onStop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      lifecycle.info({ signal }, 'draining');
      const deadline = setTimeout(() => {
        log.warn('drain deadline passed; closing what is left');
        void proxy.destroy();
      }, DRAIN_DEADLINE_MS);
      deadline.unref();
      proxy.close().then(
        () => {
          clearTimeout(deadline);
          process.removeListener('SIGHUP', onHup);
          lifecycle.info('stopped');
          resolve(0);
        },
        (err: unknown) => {
          log.error({ err: (err as Error).message }, 'error while closing');
          resolve(1);
        },
      );
    };
    process.on('SIGHUP', onHup);
    process.once('SIGTERM', onStop);
    process.once('SIGINT', onStop);
  });
}
