// The demo backend behind `npm start`: a WebSocket echo (the `ws` package) and a small page on the same
// port that opens a WebSocket through the proxy, so a first run shows the whole path working.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>wspass demo</title>
<h1>wspass demo</h1>
<p>This page came through wspass (plain HTTP). The box below talks to a WebSocket echo backend through the same
listener (an upgrade tunnelled by wspass).</p>
<form id="f"><input id="m" value="hello through wspass" size="40"> <button>send</button></form>
<pre id="log"></pre>
<script>
const log = (s) => { document.getElementById('log').textContent += s + '\\n'; };
const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/echo');
ws.onopen = () => log('open');
ws.onmessage = (e) => log('echo: ' + e.data);
ws.onclose = (e) => log('closed ' + e.code);
document.getElementById('f').onsubmit = (e) => { e.preventDefault(); ws.send(document.getElementById('m').value); };
</script>
`;

export interface EchoBackend {
  readonly port: number;
  close(): Promise<void>;
}

export async function startEchoBackend(host = '127.0.0.1', port = 0): Promise<EchoBackend> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(req.method === 'HEAD' ? undefined : PAGE);
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: true });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => ws.terminate());
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
