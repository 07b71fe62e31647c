// The PROXY protocol v2 header for a backend connection made on behalf of a client request: the client as
// X-Forwarded-For names it, and the address the client connected to.
import { encodeProxyV2 } from '../proxy-protocol/encode-v2.js';
import { clientAddress, connectionOrigin } from './client-address.js';
import type { RequestView } from './request-view.js';

export function proxyHeaderFor(req: RequestView): Buffer {
  const origin = connectionOrigin(req);
  const client = clientAddress(req);
  // A client found in X-Forwarded-For has no known port: 0 says so.
  return encodeProxyV2({
    source: client,
    sourcePort: client === origin.address ? origin.port : 0,
    destination: origin.localAddress,
    destinationPort: origin.localPort,
  });
}
