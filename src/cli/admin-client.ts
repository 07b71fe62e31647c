// `wspass reload`, `status`, `tunnels` ...: talk to a running wspass through its admin endpoint, found from
// --admin URL or from the `admin.listen` of --config FILE. The bearer token comes from that config
// (`admin.token` or `admin.tokenFile`), or with --admin from the WSPASS_ADMIN_TOKEN environment variable.
import { adminToken } from '../admin/admin-token.js';
import { parseListenAddress } from '../config/listen-address.js';
import { loadAndCheckConfig } from './load-config.js';

export interface AdminTarget {
  readonly base: string;
  readonly token: string | undefined;
}

type Method = 'GET' | 'POST' | 'DELETE';

export function adminBase(admin: string | undefined, configFile: string | undefined): AdminTarget {
  if (admin) return { base: admin.replace(/\/+$/, ''), token: process.env.WSPASS_ADMIN_TOKEN || undefined };
  if (!configFile) throw new Error('give --admin URL, or --config FILE whose config has an admin section');
  const config = loadAndCheckConfig(configFile);
  if (!config.admin) throw new Error(`${configFile} has no admin section: the running wspass has no admin endpoint`);
  const { host, port } = parseListenAddress(config.admin.listen);
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return { base: `http://${h.includes(':') ? `[${h}]` : h}:${port}`, token: adminToken(config.admin) };
}

function send(target: AdminTarget, method: Method, path: string): Promise<Response> {
  const headers: Record<string, string> = target.token === undefined ? {} : { authorization: `Bearer ${target.token}` };
  return fetch(`${target.base}${path}`, { method, headers });
}

/** Sends one admin request; returns the exit code and prints the answer. */
export async function adminCall(target: AdminTarget, method: Method, path: string): Promise<number> {
  let res: Response;
  try {
    res = await send(target, method, path);
  } catch (err) {
    process.stderr.write(`wspass: cannot reach the admin endpoint at ${target.base}: ${(err as Error).message}\n`);
    return 1;
  }
  const text = await res.text();
  (res.ok ? process.stdout : process.stderr).write(text.endsWith('\n') ? text : `${text}\n`);
  return res.ok ? 0 : 1;
}

/** Sends one admin request and returns its JSON body; prints the error and returns undefined on failure. */
export async function adminJson(target: AdminTarget, method: Method, path: string): Promise<unknown> {
  let res: Response;
  try {
    res = await send(target, method, path);
  } catch (err) {
    process.stderr.write(`wspass: cannot reach the admin endpoint at ${target.base}: ${(err as Error).message}\n`);
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
