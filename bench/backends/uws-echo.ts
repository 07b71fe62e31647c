// The echo/sink backend on uWebSockets.js (npm package uws-pack): faster than the proxy under test, so
// the proxy is what saturates first (DESIGN D5). Behaviour: see protocol.ts.
import { ACK_BYTES, HTTP_BODY, isSinkUrl } from './protocol.js';

interface Conn {
  sink: boolean;
  received: number;
}

/** Listens on 127.0.0.1:port (0 = any free port) and resolves with the bound port. */
export async function startUwsBackend(port: number): Promise<number> {
  const uws = await import('uws-pack');
  const app = uws.App();
  app.ws<Conn>('/*', {
    maxPayloadLength: 64 * 1024 * 1024,
    maxBackpressure: 64 * 1024 * 1024,
    idleTimeout: 0,
    upgrade: (res, req, context) => {
      res.upgrade<Conn>(
        { sink: isSinkUrl(req.getUrl()), received: 0 },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    message: (ws, message, isBinary) => {
      const conn = ws.getUserData();
      if (!conn.sink) {
        ws.send(message, isBinary);
        return;
      }
      const before = Math.floor(conn.received / ACK_BYTES);
      conn.received += message.byteLength;
      for (let n = Math.floor(conn.received / ACK_BYTES) - before; n > 0; n--) ws.send('a', false);
    },
  });
  app.any('/*', (res) => {
    res.end(HTTP_BODY);
  });
  return new Promise<number>((resolve, reject) => {
    app.listen('127.0.0.1', port, (listenSocket) => {
      if (listenSocket === false) reject(new Error(`uWS could not listen on 127.0.0.1:${port}`));
      else resolve(uws.us_socket_local_port(listenSocket));
    });
  });
}
