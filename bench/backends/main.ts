// Child-process entry of the bench backend: `node dist/bench/backends/main.js [--port N] [--impl ws]`.
// Uses uWebSockets.js when its binary loads, else the `ws` fallback, and prints the ready line
// (protocol.ts) so the parent knows the port and which implementation it got.
import { parseArgs } from 'node:util';
import type { BackendReadyLine } from './protocol.js';
import { startUwsBackend } from './uws-echo.js';
import { startWsBackend } from './ws-echo.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, impl: { type: 'string' } } });
  const port = Number(values.port);
  let line: BackendReadyLine;
  if (values.impl === 'ws') {
    line = { ready: true, port: await startWsBackend(port), impl: 'ws', fallbackReason: 'ws backend asked for (--backend ws)' };
  } else {
    try {
      line = { ready: true, port: await startUwsBackend(port), impl: 'uws' };
    } catch (err) {
      const reason = `uWebSockets.js unavailable (${(err as Error).message.split('\n')[0]}); using the ws echo backend`;
      line = { ready: true, port: await startWsBackend(port), impl: 'ws', fallbackReason: reason };
    }
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
  // The parent ends us with SIGTERM; a closed stdin (parent gone) ends us too.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench backend: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
