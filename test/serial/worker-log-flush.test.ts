// A worker thread's last log lines reach stdout even when the thread ends right after writing them: by
// process.exit, or by an uncaught exception (pino flushes on exit only for the main thread).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempFile } from '../helpers/cli.js';

const LOG_MODULE = pathToFileURL(fileURLToPath(new URL('../../src/log.js', import.meta.url))).href;
const LINES = 1000;

async function linesFromWorker(t: Parameters<typeof tempFile>[0], ending: string): Promise<number> {
  const worker = tempFile(t, 'worker.mjs', [
    `import { createLogger } from ${JSON.stringify(LOG_MODULE)};`,
    "const log = createLogger('info');",
    `for (let i = 0; i < ${LINES}; i++) log.info({ i }, 'line');`,
    ending,
  ].join('\n'));
  const main = tempFile(t, 'main.mjs', [
    "import { Worker } from 'node:worker_threads';",
    `new Worker(${JSON.stringify(worker)}).on('error', () => undefined);`,
  ].join('\n'));
  const child = spawn(process.execPath, [main], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  await once(child, 'close');
  assert.doesNotMatch(err, /ERR_|Cannot find/, err);
  return out.split('\n').filter((l) => l.includes('"msg":"line"')).length;
}

test('a worker that calls process.exit right after logging loses no line', async (t) => {
  assert.equal(await linesFromWorker(t, 'process.exit(0);'), LINES);
});

test('a worker that dies of an uncaught exception right after logging loses no line', async (t) => {
  assert.equal(await linesFromWorker(t, "throw new Error('boom');"), LINES);
});
