// Error lines during a storm: N identical errors within a second give one line, then one line with the
// count of those left out; the counters still count every one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { observedProxy } from '../helpers/observed-proxy.js';
import { pino } from 'pino';
import { RateLimitedLog } from '../../src/log/rate-limited.js';

test('a storm of 40 requests no route matches: one WSP_NO_ROUTE line, then one saying 39 were left out', async (t) => {
  const p = await observedProxy(t, { log: { access: false }, routes: [{ path: '/only/', respond: { status: 503 } }] });
  const N = 40;
  const answers = await Promise.all(Array.from({ length: N }, (_, i) => fetch(`http://127.0.0.1:${p.port}/nowhere/${i}`).then((r) => r.status)));
  assert.deepEqual(new Set(answers), new Set([404]));
  const [summary] = await p.linesWhen((l) => l.code === 'WSP_NO_ROUTE' && l.suppressed !== undefined, 1);
  const lines = p.lines.filter((l) => l.code === 'WSP_NO_ROUTE');
  assert.equal(lines.length, 2, 'the first line and the summary');
  assert.equal(lines[0]!.suppressed, undefined);
  assert.match(String(lines[0]!.url), /^\/nowhere\/\d+$/);
  assert.equal(summary!.suppressed, N - 1);
  assert.ok((summary!.time as number) - (lines[0]!.time as number) >= 900, 'the summary ends the one-second window');
  assert.equal((await p.scrape()).get('wspass_errors_total', { code: 'WSP_NO_ROUTE' }), N, 'every error is counted');
});

test('the limiter: one line per code per window; other codes have their own; a new window writes again', () => {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  const limiter = new RateLimitedLog(60_000);
  for (let i = 0; i < 5; i++) limiter.write(log, 'warn', 'WSP_BACKEND_REFUSED', { n: i }, 'refused');
  limiter.write(log, 'info', 'WSP_BAD_REQUEST', {}, 'bad');
  assert.deepEqual(lines.map((l) => [l.code, l.n]), [['WSP_BACKEND_REFUSED', 0], ['WSP_BAD_REQUEST', undefined]]);
  // flush() ends every window now (a planned exit): the summaries are written, at the first line's level.
  limiter.flush();
  assert.deepEqual(lines.slice(2).map((l) => [l.code, l.suppressed, l.level]), [['WSP_BACKEND_REFUSED', 4, 40]], 'no summary when nothing was left out');
  limiter.write(log, 'warn', 'WSP_BACKEND_REFUSED', { n: 5 }, 'refused');
  assert.equal(lines.at(-1)!.n, 5, 'a new window writes its first line');
  limiter.flush();
});
