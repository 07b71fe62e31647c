// The JavaScript floor: the least a Node.js upgrade proxy can do and still be one. node:http's 'upgrade'
// event, `net.connect` to the backend, the request head written back out, the bytes the parser already
// read, then `pipe` both ways; plain HTTP through `http.request` with a keep-alive agent. No routing, no
// header rules, no limits, no logs. wspass's handshake cost is measured against this one (bench README),
// so what wspass spends beyond it is what its features cost.
//
// Run as a child: `node minimal-proxy.js <backendPort>`; it listens on 127.0.0.1, port 0, and prints
// {"msg":"listening","port":N} as wspass does.
import http from 'node:http';
import net from 'node:net';

const backendPort = Number(process.argv[2]);
const host = '127.0.0.1';
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function requestHead(req: http.IncomingMessage): string {
  let head = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n`;
  for (let i = 0; i < req.rawHeaders.length; i += 2) head += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
  return `${head}\r\n`;
}

const server = http.createServer((req, res) => {
  const up = http.request({ host, port: backendPort, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
});

server.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
  const backend = net.connect(backendPort, host);
  const close = () => {
    client.destroy();
    backend.destroy();
  };
  client.on('error', close);
  backend.on('error', close);
  backend.on('connect', () => {
    backend.write(requestHead(req));
    if (head.length > 0) backend.write(head);
    backend.pipe(client);
    client.pipe(backend);
  });
});

server.on('clientError', (_err, socket) => socket.destroy());
server.listen(0, host, () => {
  const addr = server.address() as net.AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: addr.port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
