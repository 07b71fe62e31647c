// What this Node runtime offers of the two features wspass builds on, and what is lost without them.
// wspass still starts on an older runtime (so an upgrade of the host does not have to be in lockstep),
// but it says once, at start, what it cannot do there.
//
//   reusePort (net listen option, Node 22.12 / 23.1)      → several worker threads on one port
//   shouldUpgradeCallback (http server option, Node 22.21) → an Upgrade wspass will not tunnel is served as
//                                                            plain HTTP instead of being refused
//   undici 8 (Node 22.19)                                  → plain HTTP proxying
export interface RuntimeSupport {
  readonly reusePort: boolean;
  readonly shouldUpgradeCallback: boolean;
  readonly httpClient: boolean;
}

function atLeast(version: string, floors: Readonly<Record<number, number>>, fromMajor: number): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major >= fromMajor) return true;
  const floor = floors[major];
  return floor !== undefined && minor >= floor;
}

export function runtimeSupport(version = process.versions.node, platform = process.platform): RuntimeSupport {
  return {
    // Linux and FreeBSD are where SO_REUSEPORT spreads connections over the sockets of a group.
    reusePort: (platform === 'linux' || platform === 'freebsd') && atLeast(version, { 22: 12, 23: 1 }, 24),
    shouldUpgradeCallback: atLeast(version, { 22: 21, 24: 9 }, 25),
    httpClient: atLeast(version, { 22: 19 }, 23),
  };
}

/** One line per missing feature: what is missing and what wspass does instead. Empty when nothing is. */
export function missingFeatures(support: RuntimeSupport): string[] {
  const missing: string[] = [];
  if (!support.reusePort) {
    missing.push('SO_REUSEPORT for worker threads (Node >= 22.12 on Linux): running 1 worker');
  }
  if (!support.shouldUpgradeCallback) {
    missing.push(
      'shouldUpgradeCallback (Node >= 22.21): an upgrade request wspass does not tunnel is answered 400/404 ' +
        'on a closed connection instead of being proxied as plain HTTP',
    );
  }
  if (!support.httpClient) {
    missing.push('undici 8 (Node >= 22.19): plain HTTP requests are answered 502 instead of proxied; tunnels work');
  }
  return missing;
}
