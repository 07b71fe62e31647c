// The PROXY protocol v2 header wspass sends to a backend that asks for it (`proxyProtocol: v2`), so the
// backend learns the client's address as a load balancer in front of it would tell it. Pure.
import { V2_SIGNATURE } from './parse-header.js';
import { ipv4Bytes, ipv6Bytes, mappedV6Bytes } from './ip-bytes.js';

export interface V2Endpoints {
  /** The client's address and port (port 0 when unknown, e.g. an address taken from X-Forwarded-For). */
  readonly source: string;
  readonly sourcePort: number;
  /** The address and port the client connected to. */
  readonly destination: string;
  readonly destinationPort: number;
}

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** `::ffff:a.b.c.d` (what a dual-stack listener reports for an IPv4 client) as `a.b.c.d`. */
function unmapped(address: string): string {
  return MAPPED_V4.exec(address)?.[1] ?? address;
}

const CMD_LOCAL = 0x20;
const CMD_PROXY = 0x21;
const TCP4 = 0x11;
const TCP6 = 0x21;
const UNSPEC = 0x00;

function fixed(command: number, familyTransport: number, bodyLength: number): Buffer {
  const out = Buffer.alloc(16 + bodyLength);
  out.set(V2_SIGNATURE, 0);
  out[12] = command;
  out[13] = familyTransport;
  out.writeUInt16BE(bodyLength, 14);
  return out;
}

/**
 * PROXY v2 for a relayed client connection. Both IPv4: TCP over IPv4. Otherwise TCP over IPv6, an IPv4
 * side written IPv4-mapped (one header carries one family). A source that is no IP address at all gives
 * the PROXY command with family UNSPEC: the backend then uses the connection's own endpoints, as the spec says.
 */
export function encodeProxyV2(ends: V2Endpoints): Buffer {
  const s4 = ipv4Bytes(unmapped(ends.source));
  const d4 = ipv4Bytes(unmapped(ends.destination));
  if (s4 !== undefined && d4 !== undefined) return withAddresses(TCP4, s4, d4, ends);
  const s6 = s4 !== undefined ? mappedV6Bytes(s4) : ipv6Bytes(ends.source);
  const d6 = d4 !== undefined ? mappedV6Bytes(d4) : ipv6Bytes(ends.destination);
  if (s6 === undefined || d6 === undefined) return fixed(CMD_PROXY, UNSPEC, 0);
  return withAddresses(TCP6, s6, d6, ends);
}

/** The address block: source, destination (both of one size), source port, destination port. */
function withAddresses(familyTransport: number, source: Uint8Array, destination: Uint8Array, ends: V2Endpoints): Buffer {
  const size = source.length;
  const out = fixed(CMD_PROXY, familyTransport, 2 * size + 4);
  out.set(source, 16);
  out.set(destination, 16 + size);
  out.writeUInt16BE(ends.sourcePort, 16 + 2 * size);
  out.writeUInt16BE(ends.destinationPort, 18 + 2 * size);
  return out;
}

/** PROXY v2 LOCAL: a connection wspass makes on its own behalf (a health probe), carrying no client. */
export function encodeProxyV2Local(): Buffer {
  return fixed(CMD_LOCAL, UNSPEC, 0);
}
