// Reads what a TLS virtual host serves: its certificate (with the chain after it) and key, as PEM text.
// Material crosses to worker threads as plain strings, so the primary reads and checks the files once and
// every worker builds the same secure context from the same bytes. Loading is all or nothing per host:
// anything wrong (a file missing or half-written, a key of another certificate) throws naming the file,
// and the caller keeps what it had.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { certificateFileIssues } from '../config/file-checks.js';
import type { ListenerTlsConfig } from '../config/schema.js';
import { TlsSites, type CertificateFiles } from './tls-sites.js';

export interface SiteMaterial {
  /** The certificate, then the chain file's certificates. */
  readonly cert: string;
  readonly key: string;
}

/** The material of each site of a listener, in TlsSites order. */
export type ListenerMaterial = readonly SiteMaterial[];

export class CertificateLoadError extends Error {
  /** The file at fault (the certificate file when the pair as a whole is refused). */
  readonly file: string;
  constructor(file: string, message: string) {
    super(message);
    this.name = 'CertificateLoadError';
    this.file = file;
  }
}

type Reader = (file: string) => string;
const readUtf8: Reader = (f) => readFileSync(f, 'utf8');

/** Reads and checks one host's files; throws CertificateLoadError. */
export function loadSiteMaterial(files: CertificateFiles, read: Reader = readUtf8): SiteMaterial {
  // Each file is read once: the checks and the material see the same bytes even while it is being replaced.
  const texts = new Map<string, string>();
  const once: Reader = (f) => {
    let text = texts.get(f);
    if (text === undefined) {
      text = read(f);
      texts.set(f, text);
    }
    return text;
  };
  const issue = certificateFileIssues({ ...files }, [], once)[0];
  if (issue !== undefined) {
    const key = issue.path.at(-1);
    const file = key === 'keyFile' ? files.keyFile : key === 'chainFile' ? (files.chainFile ?? files.certFile) : files.certFile;
    throw new CertificateLoadError(file, issue.message);
  }
  const cert = files.chainFile === undefined ? once(files.certFile) : `${once(files.certFile).trimEnd()}\n${once(files.chainFile)}`;
  const material = { cert, key: once(files.keyFile) };
  try {
    // What the checks above cannot see (an unsupported key type, a key too weak for OpenSSL's level).
    tls.createSecureContext(material);
  } catch (err) {
    throw new CertificateLoadError(files.certFile, `"${files.certFile}" with "${files.keyFile}" is refused by TLS: ${(err as Error).message}`);
  }
  return material;
}

/** Every site's material of a listener; throws CertificateLoadError for the first that fails. */
export function loadListenerMaterial(config: ListenerTlsConfig, read: Reader = readUtf8): ListenerMaterial {
  return new TlsSites(config).sites.map((s) => loadSiteMaterial(s.files, read));
}
