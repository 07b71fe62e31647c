// Runs an Apache fixture (test/fixtures/apache/*.conf) in-process, the way `wspass run` would load it:
// as the .conf itself, or as its `import-apache` YAML (with or without --fix) read back through the
// YAML loader. Host names in the fixtures are ${VARS} filled with loopback test backends; every
// listener is bound to 127.0.0.1:0 with the listen map.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { apacheToYaml } from '../../src/config/apache/emit-yaml.js';
import { loadApache } from '../../src/config/apache/index.js';
import { loadAndCheckConfig } from '../../src/cli/load-config.js';
import { silentLogger } from '../../src/log.js';
import { ProxyServer } from '../../src/server/proxy-server.js';
import { tempFile } from './cli.js';

export const APACHE_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/apache/', import.meta.url));

export type FixtureMode = 'conf' | 'yaml' | 'fix';

const LISTEN_MAP = new Map([
  ['80', '127.0.0.1:0'],
  ['443', '127.0.0.1:0'],
  ['8080', '127.0.0.1:0'],
  ['8081', '127.0.0.1:0'],
]);

export interface RunningFixture {
  readonly port: number;
  /** Every listener's port, in the config's order (`port` is the first). */
  readonly ports: readonly number[];
  readonly http: string;
  readonly ws: string;
  /** Notices (ignored lines, diagnostics) of the .conf, one line each. */
  readonly notices: readonly string[];
  /** The YAML the test ran ('conf' mode: the import-apache output anyway, for inspection). */
  readonly yaml: string;
}

export async function runFixture(t: TestContext, name: string, env: Record<string, string>, mode: FixtureMode): Promise<RunningFixture> {
  const file = `${APACHE_FIXTURES}${name}`;
  const notices: string[] = [];
  const imported = loadApache(file, { env, fix: mode === 'fix' });
  const yaml = apacheToYaml(name, imported);
  let configFile = file;
  if (mode !== 'conf') {
    configFile = tempFile(t, name.replace(/\.conf$/, '.yaml'), yaml);
    writeFileSync(configFile, yaml);
  }
  const config = loadAndCheckConfig(configFile, { listenMap: LISTEN_MAP, apache: { env }, onNotice: (l) => notices.push(l) });
  const proxy = new ProxyServer(config, { log: silentLogger() });
  const addrs = await proxy.listen();
  t.after(() => proxy.destroy());
  const port = addrs[0]!.port;
  return { port, ports: addrs.map((a) => a.port), http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}`, notices, yaml };
}

/**
 * The Apache config `conf` (paths in it relative to its folder) and its import-apache YAML, written beside
 * it, each started in process; resolves with each one's file and listener ports, in the config's order.
 */
export async function startConfAndYaml(t: TestContext, conf: string): Promise<{ file: string; ports: number[] }[]> {
  const yamlFile = join(conf, '..', 'site.yaml');
  writeFileSync(yamlFile, apacheToYaml('site.conf', loadApache(conf)));
  const started = [];
  for (const file of [conf, yamlFile]) {
    const proxy = new ProxyServer(loadAndCheckConfig(file, { listenMap: LISTEN_MAP }), { log: silentLogger() });
    const addrs = await proxy.listen();
    t.after(() => proxy.destroy());
    started.push({ file, ports: addrs.map((a) => a.port) });
  }
  return started;
}
