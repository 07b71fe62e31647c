// `--listen-map 443=127.0.0.1:0`: binds the config's listeners elsewhere without editing the file (an
// Apache config written for ports 80/443 tried on a workstation, and tests, which need port 0). A key
// is a port, or the address as written; the value is the address to bind instead. Pure.

export type ListenMap = ReadonlyMap<string, string>;

/** "443=127.0.0.1:0,80=:8080" → map; a message when malformed. */
export function parseListenMap(text: string): ListenMap | string {
  const map = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) return `--listen-map takes PORT=ADDRESS[,PORT=ADDRESS...], e.g. 443=127.0.0.1:0 (got "${part}")`;
    map.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return map;
}

function mapAddress(address: string, map: ListenMap): string {
  const direct = map.get(address);
  if (direct !== undefined) return direct;
  const port = /:(\d+)$/.exec(address)?.[1];
  return (port !== undefined ? map.get(port) : undefined) ?? address;
}

/** The config data with its `listen` addresses replaced per the map (other keys untouched). */
export function applyListenMap(data: unknown, map: ListenMap | undefined): unknown {
  if (map === undefined || map.size === 0 || data === null || typeof data !== 'object') return data;
  const listen = (data as { listen?: unknown }).listen;
  const one = (entry: unknown): unknown => {
    if (typeof entry === 'string') return mapAddress(entry, map);
    if (entry !== null && typeof entry === 'object' && typeof (entry as { address?: unknown }).address === 'string') {
      return { ...entry, address: mapAddress((entry as { address: string }).address, map) };
    }
    return entry;
  };
  const mapped = Array.isArray(listen) ? listen.map(one) : one(listen);
  return { ...data, listen: mapped };
}
