// Reloads the certificates of TLS listeners when their files change on disk, and on demand (SIGHUP).
//
// Folders are watched, not files: a file watch follows the inode, and certbot (like most deploy tools)
// renames a new file or symlink over the old name, after which a file watch sees nothing more. Both the
// folder of each configured path and the folder its symlinks resolve to are watched, so a file edited in
// place behind a link counts too. Events are debounced (tools write key and certificate one after the
// other), then each virtual host's files are read again: a host whose files now hold other material gets
// it; one whose files fail to load (half written, key of another certificate) keeps what it had and the
// reason is logged with the file.
import { watch, realpathSync, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { ListenerTlsConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { CertificateLoadError, loadSiteMaterial, type ListenerMaterial, type SiteMaterial } from './certificate-material.js';
import { TlsSites, type TlsSite } from './tls-sites.js';

/** Quiet time after the last change before the files are read again. */
export const CERTIFICATE_DEBOUNCE_MS = 200;

export interface WatchedListener {
  /** The address as written, for logs. */
  readonly address: string;
  readonly tls: ListenerTlsConfig;
  /** The material the listener serves now. */
  readonly material: ListenerMaterial;
}

export interface CertificateWatcherOptions {
  /** TLS listeners by listener index (plain listeners are absent). */
  readonly listeners: ReadonlyMap<number, WatchedListener>;
  readonly log: Logger;
  /** Puts new material in service; resolves once every server uses it. */
  readonly apply: (listener: number, material: ListenerMaterial) => Promise<void>;
  readonly debounceMs?: number;
}

interface State {
  readonly address: string;
  readonly sites: readonly TlsSite[];
  material: ListenerMaterial;
}

export class CertificateWatcher {
  readonly #opts: CertificateWatcherOptions;
  readonly #state = new Map<number, State>();
  readonly #watchers = new Map<string, FSWatcher>();
  /** Folder → names in it that matter (configured names and the names their links point to). */
  readonly #names = new Map<string, Set<string>>();
  #timer: NodeJS.Timeout | undefined;
  /** Reloads run one after another, so two quick changes cannot apply out of order. */
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(opts: CertificateWatcherOptions) {
    this.#opts = opts;
    for (const [i, l] of opts.listeners) this.#state.set(i, { address: l.address, sites: new TlsSites(l.tls).sites, material: l.material });
    this.#watchFolders();
  }

  /** Reads every certificate again now (SIGHUP); resolves when what changed is in service. */
  reloadNow(): Promise<void> {
    const run = this.#chain.then(() => this.#reload());
    this.#chain = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }

  #watchFolders(): void {
    for (const { sites } of this.#state.values()) {
      for (const site of sites) {
        for (const file of [site.files.certFile, site.files.keyFile, site.files.chainFile]) {
          if (file === undefined) continue;
          this.#watchName(resolve(file));
          try {
            this.#watchName(realpathSync(file));
          } catch {
            // Missing right now (being replaced): its folder is watched through the configured path.
          }
        }
      }
    }
  }

  #watchName(path: string): void {
    const dir = dirname(path);
    let names = this.#names.get(dir);
    if (names === undefined) {
      names = new Set();
      this.#names.set(dir, names);
    }
    names.add(basename(path));
    if (this.#watchers.has(dir)) return;
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        // Without a name (some platforms) any change in the folder may be ours.
        if (name === null || this.#names.get(dir)?.has(name.toString()) === true) this.#changed();
      });
      w.on('error', (err) => {
        this.#opts.log.warn({ dir, err: err.message }, 'cannot watch a certificate folder any more; reload with SIGHUP');
        w.close();
        this.#watchers.delete(dir);
      });
      this.#watchers.set(dir, w);
    } catch (err) {
      this.#opts.log.warn({ dir, err: (err as Error).message }, 'cannot watch a certificate folder; certificates there reload on SIGHUP only');
    }
  }

  #changed(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.reloadNow().catch((err: unknown) => this.#opts.log.error({ err: (err as Error).message }, 'certificate reload failed'));
    }, this.#opts.debounceMs ?? CERTIFICATE_DEBOUNCE_MS);
  }

  async #reload(): Promise<void> {
    const log = this.#opts.log;
    for (const [i, state] of this.#state) {
      const next: SiteMaterial[] = [...state.material];
      const reloaded: string[] = [];
      state.sites.forEach((site, j) => {
        try {
          const m = loadSiteMaterial(site.files);
          if (m.cert === next[j]!.cert && m.key === next[j]!.key) return;
          next[j] = m;
          reloaded.push(site.files.certFile);
        } catch (err) {
          const file = err instanceof CertificateLoadError ? err.file : site.files.certFile;
          log.error(
            { listener: state.address, names: site.names, file, err: (err as Error).message },
            'TLS certificate not reloaded; the previous one stays in service',
          );
        }
      });
      if (reloaded.length === 0) continue;
      await this.#opts.apply(i, next);
      state.material = next;
      log.info({ listener: state.address, files: reloaded }, 'TLS certificate reloaded');
    }
    // A link may now point into another folder (certbot: archive/…/cert2.pem): watch that too.
    if (!this.#closed) this.#watchFolders();
  }
}
