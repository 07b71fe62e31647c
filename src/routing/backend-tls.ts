// TLS settings toward secure backends (wss://, https://), with each CA file read once per compile and a
// file that cannot be read reported at its key path. Pure but for the injectable file reader.
import { readFileSync } from 'node:fs';
import type { RouteConfig } from '../config/schema.js';
import type { BackendTls } from './types.js';

export type ReportIssue = (path: (string | number)[], message: string) => void;

/** TLS toward a secure origin from a `tls` section (a route's, or `defaults.tls`); `where` is the caFile key path. */
export type BackendTlsReader = (source: RouteConfig['tls'], where: (string | number)[]) => BackendTls;

export function backendTlsReader(
  report: ReportIssue,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): BackendTlsReader {
  const caFiles = new Map<string, string | Error>();
  const readCa = (file: string): string | Error => {
    let ca = caFiles.get(file);
    if (ca === undefined) {
      try {
        ca = readFile(file);
      } catch (err) {
        ca = err instanceof Error ? err : new Error(String(err));
      }
      caFiles.set(file, ca);
    }
    return ca;
  };
  return (source, where) => {
    let ca: string | undefined;
    if (source?.caFile !== undefined) {
      const read = readCa(source.caFile);
      if (typeof read === 'string') ca = read;
      else report(where, `cannot read "${source.caFile}": ${read.message}`);
    }
    return Object.freeze({
      ...(ca !== undefined && { ca }),
      rejectUnauthorized: source?.rejectUnauthorized ?? true,
      ...(source?.servername !== undefined && { servername: source.servername }),
    });
  };
}
