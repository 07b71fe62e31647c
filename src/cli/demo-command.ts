// `wspass demo` (what `npm start` runs): a WebSocket echo backend with wspass in front of it, a self-check
// that sends one message through the proxy, and the URLs to try.
import { startEchoBackend } from '../demo/echo-backend.js';
import { configSchema } from '../config/schema.js';
import type { Logger } from '../log.js';
import { ProxyServer } from '../server/proxy-server.js';

async function selfCheck(url: string): Promise<string> {
  const { WebSocket } = await import('ws');
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const ws = new WebSocket(url);
    ws.once('open', () => ws.send('hello through wspass'));
    ws.once('message', (data: Buffer) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ws.close();
      resolve(`sent "hello through wspass", got "${data.toString()}" back (${ms.toFixed(1)} ms including the handshake)`);
    });
    ws.once('error', reject);
  });
}

export async function runDemo(port: number, log: Logger): Promise<number> {
  const backend = await startEchoBackend();
  const config = configSchema.parse({
    listen: `127.0.0.1:${port}`,
    routes: [
      { name: 'echo', path: '/echo', backend: `ws://127.0.0.1:${backend.port}/`, upgradeOnly: true },
      { name: 'page', path: '/', backend: `http://127.0.0.1:${backend.port}/` },
    ],
  });
  let proxy = new ProxyServer(config, { log });
  let addr;
  try {
    [addr] = await proxy.listen();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    log.warn({ port }, 'port in use; taking a free one instead (choose one with --port N)');
    await proxy.destroy();
    proxy = new ProxyServer({ ...config, listen: '127.0.0.1:0' }, { log });
    [addr] = await proxy.listen();
  }
  const base = `127.0.0.1:${addr?.port ?? port}`;
  const check = await selfCheck(`ws://${base}/echo`).catch((err: unknown) => `FAILED: ${(err as Error).message}`);
  process.stdout.write(
    [
      '',
      'wspass demo is running (Ctrl-C to stop).',
      `  WebSocket echo through wspass:  ws://${base}/echo`,
      `  demo page through wspass:       http://${base}/   (open it in a browser)`,
      `  self-check: ${check}`,
      '  try it from another shell:',
      `    npx node -e "const w=new WebSocket('ws://${base}/echo');w.onopen=()=>w.send('hi');w.onmessage=(e)=>{console.log(e.data);w.close()}"`,
      '',
    ].join('\n') + '\n',
  );

  return new Promise<number>((resolve) => {
    const stop = () => {
      void Promise.all([proxy.close(), backend.close()]).then(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
