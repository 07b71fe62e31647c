// Loads a config file and checks everything that can be checked before anything binds: the schema, the
// listener addresses, the route table (regexes compile, backend URLs parse, CA files read), and the
// certificate, key and CA files (they exist, are readable and parse as PEM). Every problem is reported
// at once: when the schema rejects part of the file, backend URLs and files are still checked.
import type { ConfigIssue } from '../config/config-error.js';
import { endpointIssues } from '../config/endpoint-checks.js';
import { checkTlsFiles } from '../config/file-checks.js';
import { resolveListeners } from '../config/listen-address.js';
import { loadConfigFile, type LoadOptions } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { isBalancerUrl, parseBackendUrl, parseBalancerUrl } from '../routing/backend-url.js';
import { RouteCompileError } from '../routing/compile-issues.js';
import { composeRoutes } from '../server/compose-routes.js';
import { TlsSites } from '../tls/tls-sites.js';

function routeIssues(config: Config): readonly ConfigIssue[] {
  try {
    composeRoutes(config);
    return [];
  } catch (err) {
    if (err instanceof RouteCompileError) return err.issues;
    throw err;
  }
}

/** The server names of TLS virtual hosts (wildcards as in routes' `host`). */
function tlsNameIssues(config: Config): ConfigIssue[] {
  return resolveListeners(config).flatMap((l, i) => (l.tls ? TlsSites.issues(l.tls, ['listen', i, 'tls']) : []));
}

/** Backend URLs as written, for a document the schema rejected (compileRoutes needs a valid Config). */
function backendUrlIssues(data: unknown): ConfigIssue[] {
  const routes = (data as { routes?: unknown } | null)?.routes;
  if (!Array.isArray(routes)) return [];
  return routes.flatMap((route: unknown, i) => {
    const backend = (route as { backend?: unknown } | null)?.backend;
    if (typeof backend !== 'string' || backend === '') return [];
    const parsed = isBalancerUrl(backend) ? parseBalancerUrl(backend) : parseBackendUrl(backend);
    return typeof parsed === 'string' ? [{ path: ['routes', i, 'backend'], message: parsed }] : [];
  });
}

/** `first`, then those of `more` whose key has no problem in `first` yet (one message per key). */
function merge(first: readonly ConfigIssue[], more: readonly ConfigIssue[]): ConfigIssue[] {
  const taken = new Set(first.map((i) => JSON.stringify(i.path)));
  return [...first, ...more.filter((i) => !taken.has(JSON.stringify(i.path)))];
}

/** How a config file is read beyond its own text: --listen-map, Apache options, where notices go. */
export type ReadSettings = Pick<LoadOptions, 'listenMap' | 'apache' | 'onNotice'>;

export function loadAndCheckConfig(file: string, settings: ReadSettings = {}): Config {
  return loadConfigFile(file, {
    ...settings,
    extraChecks: (config) => merge(routeIssues(config), [...tlsNameIssues(config), ...checkTlsFiles(config), ...endpointIssues(config)]),
    rawChecks: (data) => [...backendUrlIssues(data), ...checkTlsFiles(data)],
  });
}
