// A bounded fuzz lane: mutated request heads (byte flips, truncation, CR/LF/NUL injection, duplicate and
// conflicting framing headers, obs-fold, absolute-form and encoded paths, bytes pipelined after an upgrade
// head, a FIN right after the head) against `wspass run --workers 2`. Whatever arrives, no worker may
// restart, every connection must be answered or closed within a bound, and the fd count must come back.
// The seed and the statuses seen are printed; WSPASS_FUZZ_SEED=<n> replays a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom } from '../../bench/gate/stats.js';
import { adminStatus, spawnProxy } from '../helpers/cli.js';
import { startHttpBackend, startWsBackend, wsHandshake } from '../helpers/peers.js';

const CASES = 6_000;
const CONCURRENCY = 48;
/** Longest a connection may stay unanswered: head, connect and handshake timeouts are 800 ms each. */
const ANSWER_BOUND_MS = 5_000;
/** When a client that has had no answer half-closes its connection. */
const FIN_AFTER_MS = 1_500;
/** The lane stops generating after this long, however many cases it ran. */
const TIME_BUDGET_MS = 18_000;

const FRAME = Buffer.from([0x81, 0x85, 1, 2, 3, 4, 0x69, 0x67, 0x6f, 0x68, 0x6e]); // masked text "hello"

const BASES: readonly string[] = [
  wsHandshake('/ws/echo'),
  wsHandshake('/ws/echo') + FRAME.toString('latin1'),
  'GET /http/x HTTP/1.1\r\nHost: p.test\r\n\r\n',
  'POST /http/x HTTP/1.1\r\nHost: p.test\r\nContent-Length: 5\r\n\r\nhello',
  'POST /http/x HTTP/1.1\r\nHost: p.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  wsHandshake('/ws/echo', { 'Transfer-Encoding': 'chunked' }) + '3\r\nabc\r\n0\r\n\r\n' + FRAME.toString('latin1'),
  wsHandshake('/ws/echo', { 'Content-Length': '4' }) + 'body',
  wsHandshake('http://a.example/ws/echo'),
  wsHandshake('/ws/%2e%2e/http/x'),
  'GET /ws/echo HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'GET /http/a HTTP/1.1\r\nHost: p.test\r\n\r\nGET /http/b HTTP/1.1\r\nHost: p.test\r\n\r\n',
  'CONNECT p.test:443 HTTP/1.1\r\nHost: p.test:443\r\n\r\n',
];

const INJECT = ['\r', '\n', '\0', '\r\n', ' ', '\t', ':', '\x7f', '\xff'];
const FRAMING = [
  'Content-Length: 3\r\n',
  'Content-Length: 0\r\n',
  'Transfer-Encoding: chunked\r\n',
  'Transfer-Encoding: identity\r\n',
  'Content-Length: 7\r\nContent-Length: 8\r\n',
  'Transfer-Encoding: chunked\r\nContent-Length: 2\r\n',
  'Host: other.test\r\n',
  'Expect: 100-continue\r\n',
];
const PATHS = ['/%00', '/%0d%0a', '/a%2fb', '/..%2f..', '/%', '/%zz', '//ws//echo', '/ws/../../x', '*', 'http://[::1/x'];

function mutate(base: string, r: () => number): { bytes: Buffer; fin: boolean } {
  let s = base;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const at = () => Math.floor(r() * (s.length + 1));
  const rounds = 1 + Math.floor(r() * 3);
  for (let i = 0; i < rounds; i++) {
    switch (Math.floor(r() * 8)) {
      case 0: {
        const p = Math.floor(r() * s.length);
        s = s.slice(0, p) + String.fromCharCode(Math.floor(r() * 256)) + s.slice(p + 1);
        break;
      }
      case 1:
        s = s.slice(0, at());
        break;
      case 2: {
        const p = at();
        s = s.slice(0, p) + pick(INJECT) + s.slice(p);
        break;
      }
      case 3: {
        const eol = s.indexOf('\r\n') + 2;
        s = s.slice(0, eol) + pick(FRAMING) + s.slice(eol);
        break;
      }
      case 4: {
        const eol = s.indexOf('\r\n', s.indexOf('\r\n') + 2);
        if (eol > 0) s = s.slice(0, eol) + '\r\n folded' + s.slice(eol);
        break;
      }
      case 5:
        s = s.replace(/^(\S+) \S+/, `$1 ${pick(PATHS)}`);
        break;
      case 6:
        s += pick(BASES);
        break;
      default:
        s = s.replace(/\r\n([A-Za-z-]+):/, (_m, name: string) => `\r\n${name.toUpperCase()}:`);
    }
  }
  return { bytes: Buffer.from(s, 'latin1'), fin: r() < 0.3 };
}

type Outcome = string; // a status code, 'closed' (no bytes) or 'partial' (bytes without a full status line)

/** The error code wspass put on its own answers (X-Wspass-Error), by code, as the clients saw them. */
const refusalsSeen = new Map<string, number>();

function exchange(port: number, bytes: Buffer, fin: boolean): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = Buffer.alloc(0);
    // A head may promise a body it never sends; like any server, wspass then waits for it. Past
    // FIN_AFTER_MS the client says it has nothing more (FIN): from then on an answer or a close must come.
    const finTimer = setTimeout(() => socket.end(), FIN_AFTER_MS);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer and no close within ${ANSWER_BOUND_MS} ms for ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`));
    }, ANSWER_BOUND_MS);
    const done = (o: Outcome) => {
      clearTimeout(timer);
      clearTimeout(finTimer);
      socket.destroy();
      resolve(o);
    };
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      socket.write(bytes);
      if (fin) socket.end();
    });
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      // An interim 100 is not the answer: the final status line follows it (or the close does).
      const codes = [...got.toString('latin1').matchAll(/(?:^|\r\n\r\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]!);
      const final = codes.find((c) => c !== '100');
      if (final === undefined) return;
      const code = /\r\nX-Wspass-Error: (WSP_[A-Z_]+)\r\n/i.exec(got.toString('latin1'))?.[1];
      if (code !== undefined) refusalsSeen.set(code, (refusalsSeen.get(code) ?? 0) + 1);
      done(final);
    });
    socket.on('close', () => done(got.length === 0 ? 'closed' : 'partial'));
  });
}

test('fuzzed request heads: no worker restarts, every connection answered or closed, fds back to baseline', async (t) => {
  const seed = process.env.WSPASS_FUZZ_SEED !== undefined ? Number(process.env.WSPASS_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
  t.diagnostic(`seed ${seed} (replay with WSPASS_FUZZ_SEED=${seed})`);
  const r = seededRandom(seed);
  const ws = await startWsBackend(t);
  // Connection: close keeps no pooled backend connection behind, so the fd count can be compared exactly.
  const plain = await startHttpBackend(t, (req, res) => {
    req.resume();
    res.setHeader('Connection', 'close');
    res.end('ok');
  });
  const { child, port, admin } = await spawnProxy(
    t,
    {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      log: { level: 'error' },
      headTimeoutMs: 800,
      defaults: { connectTimeoutMs: 800, handshakeTimeoutMs: 800, idleTimeoutMs: 2_000 },
      routes: [
        { path: '/ws/', backend: `ws://127.0.0.1:${ws.port}/` },
        { path: '/', backend: `http://127.0.0.1:${plain.port}/` },
      ],
    },
    { args: ['--workers', '2'] },
  );
  const pid = child.pid!;
  // What went wrong in a worker, if anything, is in the error log lines: kept for the failure message.
  let errorLog = '';
  child.stdout!.on('data', (d: Buffer) => {
    if (errorLog.length < 20_000) errorLog += d.toString();
  });
  const fds = () => readdirSync(`/proc/${pid}/fd`).length;
  const baseline = fds();

  const seen = new Map<Outcome, number>();
  const cases = Array.from({ length: CASES }, () => mutate(BASES[Math.floor(r() * BASES.length)]!, r));
  const started = Date.now();
  let next = 0;
  let ran = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < cases.length && Date.now() - started < TIME_BUDGET_MS) {
        const c = cases[next++]!;
        const outcome = await exchange(port, c.bytes, c.fin);
        seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
        ran++;
      }
    }),
  );
  const counts = [...seen].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ');
  t.diagnostic(`${ran} cases in ${Date.now() - started} ms; outcomes: ${counts}`);
  assert.ok(ran >= 500, `only ${ran} cases ran`);

  const status = await adminStatus(admin!);
  assert.deepEqual(status.workers.map((w) => [w.state, w.restarts]), [['ready', 0], ['ready', 0]], `no worker restarted; error log:\n${errorLog}`);
  // Every refusal of wspass's own a client read is in the error counter under its code (a connection may
  // have had more answers than the one its client read, so the counter may be higher, never lower).
  const counted = status.counters.errors;
  t.diagnostic(`refusals seen: ${JSON.stringify(Object.fromEntries(refusalsSeen))}; counted: ${JSON.stringify(counted)}`);
  for (const [code, seen] of refusalsSeen) assert.ok((counted[code] ?? 0) >= seen, `${code}: ${seen} answered, ${counted[code] ?? 0} counted`);
  // Closed connections leave the fd table once both sides are done (idle tunnels close after 2 s at most).
  for (let i = 0; i < 300 && fds() > baseline; i++) await sleep(20);
  assert.equal(fds(), baseline, 'fd count back to its baseline');
});
