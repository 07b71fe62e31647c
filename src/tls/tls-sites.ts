// The TLS virtual hosts of one listener, in lookup order: the default (the listener's own certificate,
// which also serves clients without SNI or with an unknown name), then `hosts`, then the `sni` short
// form. A name selects the first host whose names match it, as httpd selects the first virtual host of
// an address whose ServerName or ServerAlias matches. Pure: no files, no sockets.
import { resolve } from 'node:path';
import type { ListenerTlsConfig } from '../config/schema.js';
import type { ConfigIssue } from '../config/config-error.js';
import { compileHostPattern, hostName, type HostMatcher } from '../routing/host-pattern.js';

/** The files of one TLS virtual host. */
export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly chainFile?: string | undefined;
}

export interface TlsSite {
  /** Names as written (empty for a default without `names`). */
  readonly names: readonly string[];
  readonly files: CertificateFiles;
  /** Hosts with the same certificate and key files share a TLS setup: a request may name any of them over the other's SNI. */
  readonly setup: string;
  /** Key path of the host in the config, for messages. */
  readonly path: readonly (string | number)[];
}

export class TlsSites {
  readonly sites: readonly TlsSite[];
  readonly #matchers: readonly (readonly HostMatcher[])[];

  constructor(tls: ListenerTlsConfig, path: readonly (string | number)[] = ['tls'], issues: ConfigIssue[] = []) {
    const sites: TlsSite[] = [site(tls.names ?? [], tls, path)];
    (tls.hosts ?? []).forEach((h, i) => sites.push(site(h.names, h, [...path, 'hosts', i])));
    for (const [name, files] of Object.entries(tls.sni ?? {})) sites.push(site([name], files, [...path, 'sni', name]));
    this.sites = sites;
    this.#matchers = sites.map((s) =>
      s.names.flatMap((name, j) => {
        const m = compileHostPattern(name);
        if (typeof m === 'string') {
          issues.push({ path: s.path.at(-2) === 'sni' ? [...s.path] : [...s.path, 'names', j], message: m });
          return [];
        }
        return [m];
      }),
    );
  }

  /** Every problem with the names (a config check); the lookup skips names that do not compile. */
  static issues(tls: ListenerTlsConfig, path: readonly (string | number)[]): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    new TlsSites(tls, path, issues);
    return issues;
  }

  /** Index of the site serving `name` (an SNI name or a Host value): the first that matches, else the default. */
  indexFor(name: string): number {
    const n = hostName(name);
    const i = this.#matchers.findIndex((ms) => ms.some((m) => m(n)));
    return i === -1 ? 0 : i;
  }

  /**
   * httpd's check of a request against the handshake's SNI (mod_ssl, ssl_hook_ReadReq): with SNI, a request
   * naming no host is refused (AH02031: 400), and one whose host selects a site with another TLS setup is
   * misdirected (AH02032: 421). Without SNI nothing is checked.
   */
  check(sni: string | false | null | undefined, host: string | undefined): 'no-host' | 'misdirected' | undefined {
    if (typeof sni !== 'string' || sni === '') return undefined;
    if (host === undefined || host === '') return 'no-host';
    return this.sites[this.indexFor(sni)]!.setup === this.sites[this.indexFor(host)]!.setup ? undefined : 'misdirected';
  }
}

function site(names: readonly string[], f: CertificateFiles, path: readonly (string | number)[]): TlsSite {
  const files: CertificateFiles = { certFile: f.certFile, keyFile: f.keyFile, ...(f.chainFile !== undefined && { chainFile: f.chainFile }) };
  // httpd's ssl_server_compatible compares the certificate and key files (not the chain), beside protocol,
  // ciphers and client verification, which wspass does not set per host.
  const setup = JSON.stringify([resolve(f.certFile), resolve(f.keyFile)]);
  return { names, files, setup, path };
}
