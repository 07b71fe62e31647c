// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) at the start of a connection:
// who the client is when a load balancer in front made the TCP connection. Pure: it reads bytes, never a
// socket, so it is fed whatever has arrived so far and says how many bytes it needs before it can say more.
//
//   v1: "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n", at most 107 bytes, text
//   v2: 12-byte signature, ver/cmd, family/transport, 16-bit length, address block, TLVs (skipped)
//
// A v2 LOCAL command (a load balancer's own health check), a v1 UNKNOWN line and a v2 PROXY for a family with
// no IP address (UNSPEC, UNIX) carry no client: the connection's own peer is the client then.
import { isIPv4, isIPv6 } from 'node:net';
import { formatIpv4, formatIpv6, ipv6Bytes } from './ip-bytes.js';

export const V2_SIGNATURE: Uint8Array = Uint8Array.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX: Uint8Array = Uint8Array.from(Buffer.from('PROXY ', 'latin1'));
/** The spec's bound on a v1 line, CRLF included. */
export const V1_MAX_BYTES = 107;
const V2_FIXED_BYTES = 16;

export interface ProxiedAddresses {
  readonly family: 'ipv4' | 'ipv6';
  readonly source: string;
  readonly sourcePort: number;
  readonly destination: string;
  readonly destinationPort: number;
}

export type ProxyHeader =
  | ({ readonly kind: 'proxy'; readonly version: 1 | 2 } & ProxiedAddresses)
  /** No client address in the header: use the connection's peer (v2 LOCAL, v1 UNKNOWN, v2 UNSPEC/UNIX). */
  | { readonly kind: 'local'; readonly version: 1 | 2 };

export type ParseResult =
  /** Not enough bytes yet: call again once at least `need` bytes (in total) have arrived. */
  | { readonly state: 'more'; readonly need: number }
  /** A complete header of `length` bytes; what follows it belongs to the next protocol (TLS or HTTP). */
  | { readonly state: 'done'; readonly header: ProxyHeader; readonly length: number }
  | { readonly state: 'invalid'; readonly reason: string };

function startsLike(buf: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(buf.length, prefix.length);
  for (let i = 0; i < n; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

/** Parses the PROXY header at the start of `buf` (everything received so far). */
export function parseProxyHeader(buf: Uint8Array): ParseResult {
  if (buf.length === 0) return { state: 'more', need: 1 };
  if (startsLike(buf, V1_PREFIX)) return parseV1(buf);
  if (startsLike(buf, V2_SIGNATURE)) return parseV2(buf);
  return { state: 'invalid', reason: 'no PROXY protocol signature' };
}

const PORT = /^(0|[1-9][0-9]{0,4})$/;

function port(text: string): number | undefined {
  if (!PORT.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function parseV1(buf: Uint8Array): ParseResult {
  if (buf.length < V1_PREFIX.length) return { state: 'more', need: V1_PREFIX.length };
  const scan = Math.min(buf.length, V1_MAX_BYTES);
  let cr = -1;
  for (let i = V1_PREFIX.length; i < scan; i++) {
    const c = buf[i]!;
    if (c === 0x0d) {
      cr = i;
      break;
    }
    if (c < 0x20 || c > 0x7e) return { state: 'invalid', reason: 'v1: a control or non-ASCII byte in the line' };
  }
  if (cr === -1) {
    if (buf.length >= V1_MAX_BYTES) return { state: 'invalid', reason: `v1: no CRLF within ${V1_MAX_BYTES} bytes` };
    return { state: 'more', need: buf.length + 1 };
  }
  if (cr + 1 >= buf.length) return { state: 'more', need: cr + 2 };
  if (buf[cr + 1] !== 0x0a) return { state: 'invalid', reason: 'v1: CR not followed by LF' };
  const length = cr + 2;
  const fields = Buffer.from(buf.buffer, buf.byteOffset, cr).toString('latin1').split(' ');
  const proto = fields[1];
  if (proto === 'UNKNOWN') return { state: 'done', header: { kind: 'local', version: 1 }, length };
  if (proto !== 'TCP4' && proto !== 'TCP6') return { state: 'invalid', reason: 'v1: protocol is not TCP4, TCP6 or UNKNOWN' };
  if (fields.length !== 6) return { state: 'invalid', reason: 'v1: expected "PROXY proto src dst sport dport"' };
  const [, , source, destination, sp, dp] = fields as [string, string, string, string, string, string];
  const isFamily = proto === 'TCP4' ? isIPv4 : isIPv6;
  if (!isFamily(source) || !isFamily(destination)) return { state: 'invalid', reason: `v1: an address is not ${proto === 'TCP4' ? 'IPv4' : 'IPv6'}` };
  const sourcePort = port(sp);
  const destinationPort = port(dp);
  if (sourcePort === undefined || destinationPort === undefined) return { state: 'invalid', reason: 'v1: a port is not 0-65535' };
  const family = proto === 'TCP4' ? 'ipv4' : 'ipv6';
  // IPv6 text is normalised so it compares equal to what node:net reports for the same address.
  const norm = (a: string): string => (family === 'ipv6' ? formatIpv6(ipv6Bytes(a)!, 0) : a);
  return {
    state: 'done',
    header: { kind: 'proxy', version: 1, family, source: norm(source), sourcePort, destination: norm(destination), destinationPort },
    length,
  };
}

const FAMILY_UNSPEC = 0x0;
const FAMILY_INET = 0x1;
const FAMILY_INET6 = 0x2;
const FAMILY_UNIX = 0x3;
const TRANSPORT_STREAM = 0x1;
/** Bytes of the address block for each family (UNSPEC carries none). */
const ADDRESS_BYTES = [0, 12, 36, 216] as const;

function parseV2(buf: Uint8Array): ParseResult {
  if (buf.length < V2_FIXED_BYTES) return { state: 'more', need: V2_FIXED_BYTES };
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return { state: 'invalid', reason: `v2: version ${verCmd >> 4}, not 2` };
  const command = verCmd & 0x0f;
  if (command > 1) return { state: 'invalid', reason: `v2: unknown command ${command}` };
  const family = buf[13]! >> 4;
  const transport = buf[13]! & 0x0f;
  const bodyLength = (buf[14]! << 8) | buf[15]!;
  const length = V2_FIXED_BYTES + bodyLength;
  // LOCAL: the receiver discards the address block and uses the real endpoints, whatever the family says.
  if (command === 0) {
    if (buf.length < length) return { state: 'more', need: length };
    return { state: 'done', header: { kind: 'local', version: 2 }, length };
  }
  if (family > FAMILY_UNIX) return { state: 'invalid', reason: `v2: unknown address family ${family}` };
  if (transport > 2) return { state: 'invalid', reason: `v2: unknown transport ${transport}` };
  const addressBytes = ADDRESS_BYTES[family as 0 | 1 | 2 | 3];
  if (bodyLength < addressBytes) return { state: 'invalid', reason: `v2: length ${bodyLength} is shorter than the address block (${addressBytes})` };
  if ((family === FAMILY_INET || family === FAMILY_INET6) && transport !== TRANSPORT_STREAM) {
    return { state: 'invalid', reason: 'v2: only a TCP (stream) connection can be proxied here' };
  }
  if (buf.length < length) return { state: 'more', need: length };
  const tlvProblem = checkTlvs(buf, V2_FIXED_BYTES + addressBytes, length);
  if (tlvProblem !== undefined) return { state: 'invalid', reason: tlvProblem };
  if (family === FAMILY_UNSPEC || family === FAMILY_UNIX) return { state: 'done', header: { kind: 'local', version: 2 }, length };
  const ipv4 = family === FAMILY_INET;
  const size = ipv4 ? 4 : 16;
  const format = ipv4 ? formatIpv4 : formatIpv6;
  const at = V2_FIXED_BYTES;
  const ports = at + 2 * size;
  const header: ProxyHeader = {
    kind: 'proxy',
    version: 2,
    family: ipv4 ? 'ipv4' : 'ipv6',
    source: format(buf, at),
    destination: format(buf, at + size),
    sourcePort: (buf[ports]! << 8) | buf[ports + 1]!,
    destinationPort: (buf[ports + 2]! << 8) | buf[ports + 3]!,
  };
  return { state: 'done', header, length };
}

/** TLVs are skipped, but their framing must add up: one that runs past the header means a broken sender. */
function checkTlvs(buf: Uint8Array, from: number, end: number): string | undefined {
  let at = from;
  while (at < end) {
    if (end - at < 3) return 'v2: a truncated TLV';
    const len = (buf[at + 1]! << 8) | buf[at + 2]!;
    at += 3 + len;
    if (at > end) return 'v2: a TLV runs past the header';
  }
  return undefined;
}
