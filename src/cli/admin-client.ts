// `wspass reload` and `wspass status`: talk to a running wspass through its admin endpoint, found from
// --admin URL or from the `admin.listen` of --config FILE.
import { parseListenAddress } from '../config/listen-address.js';
import { loadAndCheckConfig } from './load-config.js';

export function adminBase(admin: string | undefined, configFile: string | undefined): string {
  if (admin) return admin.replace(/\/+$/, '');
  if (!configFile) throw new Error('give --admin URL, or --config FILE whose config has an admin section');
  const config = loadAndCheckConfig(configFile);
  if (!config.admin) throw new Error(`${configFile} has no admin section: the running wspass has no admin endpoint`);
  const { host, port } = parseListenAddress(config.admin.listen);
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** Sends one admin request; returns the exit code and prints the answer. */
export async function adminCall(base: string, method: 'GET' | 'POST', path: string): Promise<number> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { method });
  } catch (err) {
    process.stderr.write(`wspass: cannot reach the admin endpoint at ${base}: ${(err as Error).message}\n`);
    return 1;
  }
  const text = await res.text();
  (res.ok ? process.stdout : process.stderr).write(text.endsWith('\n') ? text : `${text}\n`);
  return res.ok ? 0 : 1;
}

/** Sends one admin request and returns its JSON body; prints the error and returns undefined on failure. */
export async function adminJson(base: string, method: 'GET' | 'POST', path: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { method });
  } catch (err) {
    process.stderr.write(`wspass: cannot reach the admin endpoint at ${base}: ${(err as Error).message}\n`);
    return undefined;
  }
  const body = (await res.json());
  if (!res.ok) {
    const error = (body as { error?: string }).error ?? JSON.stringify(body);
    process.stderr.write(`wspass: ${error}\n`);
    return undefined;
  }
  return body;
}
