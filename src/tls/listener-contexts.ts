// The secure contexts of one TLS listener: one per virtual host, picked by SNI, and swappable while the
// server runs. A swap affects new handshakes only; connections already established (and their tunnels)
// keep the session they negotiated.
import type https from 'node:https';
import tls from 'node:tls';
import type { ListenerMaterial } from './certificate-material.js';
import type { TlsSites } from './tls-sites.js';

export class ListenerContexts {
  readonly sites: TlsSites;
  #material: ListenerMaterial;
  #contexts: tls.SecureContext[];
  #server: https.Server | undefined;

  constructor(sites: TlsSites, material: ListenerMaterial) {
    this.sites = sites;
    this.#material = material;
    this.#contexts = material.map((m) => tls.createSecureContext(m));
  }

  /** Options for https.createServer: the default host's certificate, and SNI picking the others. */
  serverOptions(): Pick<https.ServerOptions, 'cert' | 'key' | 'SNICallback'> {
    const first = this.#material[0]!;
    return {
      cert: first.cert,
      key: first.key,
      SNICallback: (servername, cb) => cb(null, this.#contexts[this.sites.indexFor(servername)]),
    };
  }

  /** The server whose default context follows the default host (clients without SNI get it). */
  attach(server: https.Server): void {
    this.#server = server;
  }

  /** Swaps in new material (one entry per site); builds every context first, so a failure changes nothing. */
  update(material: ListenerMaterial): void {
    if (material.length !== this.#contexts.length) throw new Error(`expected material for ${this.#contexts.length} TLS hosts, got ${material.length}`);
    const contexts = material.map((m) => tls.createSecureContext(m));
    const first = material[0]!;
    this.#server?.setSecureContext({ cert: first.cert, key: first.key });
    this.#contexts = contexts;
    this.#material = material;
  }
}
