// Checks of the admin endpoint and the health listener that the schema cannot make: their addresses parse
// (else `wspass run` would only fail after the workers started), and an admin token file can be read and
// is not empty (else `wspass validate` would pass a config whose admin endpoint cannot start).
import { readFileSync } from 'node:fs';
import type { ConfigIssue } from './config-error.js';
import { parseListenAddress } from './listen-address.js';
import type { Config } from './schema.js';

/** The token in `file`, trimmed; throws when it cannot be read or holds nothing. */
export function readTokenFile(file: string): string {
  const token = readFileSync(file, 'utf8').trim();
  if (token === '') throw new Error(`"${file}" is empty`);
  return token;
}

function addressIssue(address: string, path: (string | number)[]): ConfigIssue[] {
  try {
    parseListenAddress(address);
    return [];
  } catch (err) {
    return [{ path, message: (err as Error).message }];
  }
}

export function endpointIssues(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (config.admin) issues.push(...addressIssue(config.admin.listen, ['admin', 'listen']));
  if (config.health) issues.push(...addressIssue(config.health.listen, ['health', 'listen']));
  const file = config.admin?.tokenFile;
  if (file !== undefined) {
    try {
      readTokenFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      issues.push({ path: ['admin', 'tokenFile'], message: code === 'ENOENT' ? `"${file}" does not exist` : (err as Error).message });
    }
  }
  return issues;
}
