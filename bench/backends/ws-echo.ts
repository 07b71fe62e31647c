// The fallback echo/sink backend on `ws` + node:http, used where the uWebSockets.js binary is missing
// (uws-pack ships binaries for Node 18-22 only). About half as fast as uWS (DESIGN D5), which the
// output states so figures are not compared across implementations by mistake. Behaviour: protocol.ts.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ACK_BYTES, HTTP_BODY, isSinkUrl } from './protocol.js';

export async function startWsBackend(port: number): Promise<number> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': String(Buffer.byteLength(HTTP_BODY)) });
    res.end(HTTP_BODY);
  });
  server.keepAliveTimeout = 0; // keep-alive unlimited: autocannon mis-times reopened connections (DESIGN §5)
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  wss.on('connection', (ws, req) => {
    if (!isSinkUrl(req.url ?? '')) {
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
      return;
    }
    let received = 0;
    ws.on('message', (data: Buffer) => {
      const before = Math.floor(received / ACK_BYTES);
      received += data.length;
      for (let n = Math.floor(received / ACK_BYTES) - before; n > 0; n--) ws.send('a');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}
