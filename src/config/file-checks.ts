// Checks the certificate, key and CA files a config names, so `wspass validate` finds what would
// otherwise only fail when a worker starts (or, for a CA, on the first backend connection): each file
// must exist, be readable and parse as PEM of the right kind, and a listener's key must match its
// certificate. Works on the raw parsed document as well as on a validated Config, so these problems are
// reported even beside schema errors elsewhere in the file.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConfigIssue } from './config-error.js';

type Path = (string | number)[];
type Reader = (file: string) => string;

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readIssue(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `"${file}" does not exist`;
  if (code === 'EACCES' || code === 'EPERM') return `"${file}" cannot be read: permission denied`;
  if (code === 'EISDIR') return `"${file}" is a directory, not a file`;
  return `"${file}" cannot be read: ${err instanceof Error ? err.message : String(err)}`;
}

class Checker {
  readonly issues: ConfigIssue[] = [];
  readonly #read: Reader;
  constructor(read: Reader) {
    this.#read = read;
  }

  #text(file: string, path: Path): string | undefined {
    try {
      return this.#read(file);
    } catch (err) {
      this.issues.push({ path, message: readIssue(file, err) });
      return undefined;
    }
  }

  certificate(file: unknown, path: Path): X509Certificate | undefined {
    if (typeof file !== 'string' || file === '') return undefined;
    const text = this.#text(file, path);
    if (text === undefined) return undefined;
    const pem = text.match(PEM_CERT);
    try {
      if (pem === null) throw new Error('no "-----BEGIN CERTIFICATE-----" block');
      return new X509Certificate(pem[0]);
    } catch (err) {
      this.issues.push({ path, message: `"${file}" does not hold a PEM certificate: ${(err as Error).message}` });
      return undefined;
    }
  }

  key(file: unknown, path: Path): KeyObject | undefined {
    if (typeof file !== 'string' || file === '') return undefined;
    const text = this.#text(file, path);
    if (text === undefined) return undefined;
    try {
      if (!PEM_KEY.test(text)) throw new Error('no "-----BEGIN ... PRIVATE KEY-----" block');
      return createPrivateKey(text);
    } catch (err) {
      this.issues.push({ path, message: `"${file}" does not hold a PEM private key (unencrypted): ${(err as Error).message}` });
      return undefined;
    }
  }

  /** A certificate and its key: both parse, and the key is the certificate's; a chain file holds certificates. */
  pair(files: Record<string, unknown>, path: Path): void {
    this.caBundle(files.chainFile, [...path, 'chainFile']);
    const cert = this.certificate(files.certFile, [...path, 'certFile']);
    const key = this.key(files.keyFile, [...path, 'keyFile']);
    if (cert !== undefined && key !== undefined && !cert.checkPrivateKey(key)) {
      this.issues.push({
        path: [...path, 'keyFile'],
        message: `"${String(files.keyFile)}" is not the private key of the certificate in "${String(files.certFile)}"`,
      });
    }
  }

  /** A CA bundle or chain: every PEM block in it is a certificate, and there is at least one. */
  caBundle(file: unknown, path: Path): void {
    if (typeof file !== 'string' || file === '') return;
    const text = this.#text(file, path);
    if (text === undefined) return;
    const blocks = text.match(PEM_CERT) ?? [];
    if (blocks.length === 0) {
      this.issues.push({ path, message: `"${file}" holds no PEM certificate ("-----BEGIN CERTIFICATE-----")` });
      return;
    }
    for (const [i, block] of blocks.entries()) {
      try {
        new X509Certificate(block);
      } catch (err) {
        this.issues.push({ path, message: `"${file}": certificate ${i + 1} does not parse: ${(err as Error).message}` });
        return;
      }
    }
  }
}

/** Every problem with the certificate, key and chain files of one TLS virtual host. */
export function certificateFileIssues(files: Record<string, unknown>, path: Path, read: Reader = (f) => readFileSync(f, 'utf8')): ConfigIssue[] {
  const check = new Checker(read);
  check.pair(files, path);
  return check.issues;
}

/** Every problem with the TLS files `data` (a config, validated or not) names, with its key path. */
export function checkTlsFiles(data: unknown, read: Reader = (f) => readFileSync(f, 'utf8')): ConfigIssue[] {
  const check = new Checker(read);
  if (!isObject(data)) return check.issues;
  const listen = Array.isArray(data.listen) ? (data.listen as unknown[]) : [];
  listen.forEach((entry, i) => {
    if (!isObject(entry) || !isObject(entry.tls)) return;
    check.pair(entry.tls, ['listen', i, 'tls']);
    if (Array.isArray(entry.tls.hosts)) {
      (entry.tls.hosts as unknown[]).forEach((host, j) => {
        if (isObject(host)) check.pair(host, ['listen', i, 'tls', 'hosts', j]);
      });
    }
    if (isObject(entry.tls.sni)) {
      for (const [name, files] of Object.entries(entry.tls.sni)) {
        if (isObject(files)) check.pair(files, ['listen', i, 'tls', 'sni', name]);
      }
    }
  });
  if (isObject(data.defaults) && isObject(data.defaults.tls)) check.caBundle(data.defaults.tls.caFile, ['defaults', 'tls', 'caFile']);
  const routes = Array.isArray(data.routes) ? (data.routes as unknown[]) : [];
  routes.forEach((route, i) => {
    if (isObject(route) && isObject(route.tls)) check.caBundle(route.tls.caFile, ['routes', i, 'tls', 'caFile']);
  });
  return check.issues;
}
