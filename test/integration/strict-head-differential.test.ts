// The native front's strict head reader against node:http, on real sockets: every head goes to a node:http
// server configured as wspass configures its listeners (src/server/proxy-server.ts), and the reader must
// either say "not mine" or report exactly what node:http reported (method, url, version, raw fields) for a
// head that wspass's own head checks pass. A corpus of valid heads and of the smuggling and lenient-parser
// cases, then heads made by mutating valid ones at random (seeded; the seed is in every failure message,
// and STRICT_HEAD_SEED replays it).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { INCOMPLETE, readStrictHead, strictHeadMethods } from '../../src/http/strict-head.js';
import { parserFieldCount, parserHeadLimit, requestLimitProblem, type RequestLimits } from '../../src/http/request-limits.js';
import { requestHeadProblem } from '../../src/http/request-checks.js';

// Small limits, so that a head at and over each of them is cheap; maxHeaderBytes below the per-line room,
// so that it is the whole-head limit that binds (the parser limit is 256 + 10 × 512 + 1 = 5377).
const LIMITS: RequestLimits = { maxRequestLineBytes: 256, maxHeaderFieldBytes: 512, maxHeaderFields: 10, maxHeaderBytes: 2048 };
const ROOM = parserHeadLimit(LIMITS);

/** What node:http made of one connection's bytes. */
type Seen =
  | {
      readonly kind: 'request' | 'upgrade' | 'connect';
      readonly method: string;
      readonly url: string;
      readonly httpVersion: string;
      readonly rawHeaders: readonly string[];
      /** wspass answers this head itself (400, 414, 431) instead of taking it further. */
      readonly refused: boolean;
    }
  | { readonly kind: 'clientError'; readonly code: string }
  | { readonly kind: 'none' };

function refused(req: IncomingMessage): boolean {
  return (
    requestLimitProblem(req.method ?? '', req.url ?? '', req.httpVersion, req.rawHeaders, LIMITS) !== undefined ||
    requestHeadProblem(req.httpVersion, req.rawHeaders) !== undefined
  );
}

function parsed(kind: 'request' | 'upgrade' | 'connect', req: IncomingMessage): Seen {
  return { kind, method: req.method ?? '', url: req.url ?? '', httpVersion: req.httpVersion, rawHeaders: [...req.rawHeaders], refused: refused(req) };
}

/** A node:http server with wspass's parser settings; `see` sends one head on a new connection. */
async function startNodeParser(t: TestContext): Promise<(head: string) => Promise<Seen>> {
  const ports = new WeakMap<object, number>();
  const outcomes = new Map<number, Seen>();
  const waiters = new Map<number, (seen: Seen) => void>();
  const settle = (socket: object, seen: Seen): void => {
    const port = ports.get(socket);
    if (port === undefined || outcomes.has(port)) return;
    outcomes.set(port, seen);
    waiters.get(port)?.(seen);
  };
  const options: http.ServerOptions & { shouldUpgradeCallback: (req: IncomingMessage) => boolean } = {
    maxHeaderSize: ROOM,
    requestTimeout: 0,
    keepAliveTimeout: 5_000,
    requireHostHeader: false,
    // wspass tunnels only a head its checks pass; the rest goes to the plain path to be answered.
    shouldUpgradeCallback: (req) => !refused(req),
  };
  const server = http.createServer(options);
  server.maxHeadersCount = parserFieldCount(LIMITS);
  (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  const serverSockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    s.on('error', () => s.destroy());
    ports.set(s, s.remotePort!);
    serverSockets.add(s);
    s.on('close', () => {
      serverSockets.delete(s);
      settle(s, { kind: 'none' });
    });
  });
  server.on('request', (req: IncomingMessage) => {
    settle(req.socket, parsed('request', req));
    req.socket.destroy();
  });
  for (const kind of ['upgrade', 'connect'] as const) {
    server.on(kind, (req: IncomingMessage, socket: net.Socket) => {
      socket.on('error', () => socket.destroy());
      settle(socket, parsed(kind, req));
      socket.destroy();
    });
  }
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    settle(socket, { kind: 'clientError', code: err.code ?? String(err) });
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const clients = new Set<net.Socket>();
  t.after(async () => {
    for (const c of clients) c.destroy();
    for (const s of serverSockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  return async (head: string): Promise<Seen> => {
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => client.destroy());
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.resume();
    await once(client, 'connect');
    const local = client.localPort!;
    const seen = new Promise<Seen>((resolve) => {
      const done = outcomes.get(local);
      if (done !== undefined) resolve(done);
      else waiters.set(local, resolve);
    });
    // The FIN makes node:http judge a cut-short head now (an error at end of input) instead of waiting.
    client.end(Buffer.from(head, 'latin1'));
    const result = await seen;
    outcomes.delete(local);
    waiters.delete(local);
    client.destroy();
    return result;
  };
}

type Verdict = 'mine' | 'not mine' | 'incomplete';

/** The reader on `head`, held to what node:http saw; returns the reader's verdict. */
function compare(head: string, seen: Seen, context: string): Verdict {
  const got = readStrictHead(head, LIMITS);
  const where = `${context}: ${JSON.stringify(head.length > 300 ? `${head.slice(0, 300)}…` : head)}, node:http saw ${JSON.stringify(seen).slice(0, 300)}`;
  if (got === undefined) return 'not mine';
  if (got === INCOMPLETE) {
    // Waiting for more bytes is right only when node:http would wait too.
    assert.ok(seen.kind === 'clientError' || seen.kind === 'none', `reader waits for more, ${where}`);
    return 'incomplete';
  }
  assert.ok(seen.kind === 'request' || seen.kind === 'upgrade', `reader took the head, ${where}`);
  assert.equal(seen.refused, false, `reader took a head wspass refuses, ${where}`);
  assert.deepEqual(
    { method: got.method, url: got.target, httpVersion: got.httpVersion, rawHeaders: got.rawHeaders },
    { method: seen.method, url: seen.url, httpVersion: seen.httpVersion, rawHeaders: seen.rawHeaders },
    where,
  );
  assert.equal(got.headBytes, head.indexOf('\r\n\r\n') + 4, where);
  return 'mine';
}

const UPGRADE = ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];

function head(requestLine: string, fields: readonly string[]): string {
  return `${requestLine}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`;
}

const up = (fields: readonly string[], target = '/chat', method = 'GET'): string => head(`${method} ${target} HTTP/1.1`, ['Host: p.test', ...UPGRADE, ...fields]);

/** Filler fields that bring the head's size (the target plus every name and value) to `total`. */
function filledTo(total: number): string {
  const base = '/chat'.length + 'Hostp.test'.length + UPGRADE.reduce((n, f) => n + f.length - 2, 0);
  const fields: string[] = [];
  for (let left = total - base, i = 0; left > 0; i++) {
    const name = `F${i}`;
    const value = Math.min(left - name.length, 500);
    fields.push(`${name}: ${'f'.repeat(value)}`);
    left -= name.length + value;
  }
  return up(fields);
}

const CASES: readonly (readonly [string, string, Verdict])[] = [
  // Heads the front should take.
  ['a WebSocket upgrade', up([]), 'mine'],
  ['with early bytes after the head', `${up([])}\x81\x80abcd`, 'mine'],
  ['a plain GET', head('GET /x HTTP/1.1', ['Host: p.test']), 'mine'],
  ['h2c upgrade', head('GET / HTTP/1.1', ['Host: p.test', 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']), 'mine'],
  ['a query and sub-delims in the target', up([], "/a/b;p?x=1&y=%20&z=[]!$'()*+,@:~"), 'mine'],
  ['a target with visible ASCII outside the URI set', up([], '/a"<>\\^`{|}'), 'mine'],
  ['a Host with a port', head('GET / HTTP/1.1', ['Host: p.test:8080', ...UPGRADE]), 'mine'],
  ['an IPv6 Host', head('GET / HTTP/1.1', ['Host: [::1]:80', ...UPGRADE]), 'mine'],
  ['an empty Host', head('GET / HTTP/1.1', ['Host:', ...UPGRADE]), 'mine'],
  ['lower-case and mixed-case names', head('GET / HTTP/1.1', ['host: p.test', 'uPGRADE: websocket', 'connection: upgrade']), 'mine'],
  ['every token character in a name', up(["X-!#$%&'*+-.^_`|~09azAZ: v"]), 'mine'],
  ['an empty value', up(['X-Empty:']), 'mine'],
  ['a value of blanks only', up(['X-Blank: \t \t']), 'mine'],
  ['blanks inside a value', up(['X-In: a  b\tc']), 'mine'],
  ['leading and trailing blanks', up(['X-Around: \t  v v \t ']), 'mine'],
  ['no blank after the colon', up(['X-Tight:v']), 'mine'],
  ['obs-text in a value', up(['X-Latin: caf\xe9 \xff']), 'mine'],
  ['a repeated field', up(['Sec-WebSocket-Protocol: chat', 'Sec-WebSocket-Protocol: superchat']), 'mine'],
  ['Connection with keep-alive', head('GET / HTTP/1.1', ['Host: p.test', 'Connection: keep-alive, Upgrade', 'Upgrade: websocket']), 'mine'],
  ...strictHeadMethods().map((m) => [`method ${m}`, up([], '/m', m), 'mine'] as const),
  // Limits: at each one, and one over.
  ['request line at its limit', up([], `/${'a'.repeat(256 - 'GET / HTTP/1.1'.length)}`), 'mine'],
  ['request line one over', up([], `/${'a'.repeat(257 - 'GET / HTTP/1.1'.length)}`), 'not mine'],
  ['a field at its limit', up([`X-Long: ${'v'.repeat(512 - 'X-Long: '.length)}`]), 'mine'],
  ['a field one over', up([`X-Long: ${'v'.repeat(513 - 'X-Long: '.length)}`]), 'not mine'],
  ['fields at the limit', up(['A: 1', 'B: 2', 'C: 3', 'D: 4', 'E: 5']), 'mine'],
  ['one field over the limit', up(['A: 1', 'B: 2', 'C: 3', 'D: 4', 'E: 5', 'F: 6']), 'not mine'],
  ['a head at maxHeaderBytes', filledTo(2048), 'mine'],
  ['a head one over maxHeaderBytes', filledTo(2049), 'not mine'],
  // Merged: the values joined with ", " (httpd's merge), measured without the name.
  ['a repeated field at the limit once merged', up([`X-M: ${'a'.repeat(250)}`, `X-M: ${'b'.repeat(512 - 250 - 2)}`]), 'mine'],
  ['a repeated field one over once merged', up([`X-M: ${'a'.repeat(250)}`, `X-M: ${'b'.repeat(513 - 250 - 2)}`]), 'not mine'],
  // node:http counts trailing blanks against its own limit (trimming them afterwards): 1 + 10 + 1 + 1 + k.
  ['trailing blanks just within the parser limit', head('GET / HTTP/1.1', ['Host: p.test', `X: v${' '.repeat(ROOM - 14)}`]), 'mine'],
  ['trailing blanks at the parser limit', head('GET / HTTP/1.1', ['Host: p.test', `X: v${' '.repeat(ROOM - 13)}`]), 'not mine'],
  // ... but not the blanks before a value.
  ['leading blanks past the parser limit', head('GET / HTTP/1.1', ['Host: p.test', `X:${' '.repeat(ROOM)}v`]), 'mine'],
  ['a very long value', up([`X-Huge: ${'h'.repeat(20_000)}`]), 'not mine'],
  // Heads a lenient parser would read differently, or that carry a body.
  ['obs-fold', up(['X-Fold: a', ' b']), 'not mine'],
  ['obs-fold with a tab', up(['X-Fold: a', '\tb']), 'not mine'],
  ['a bare LF ending a field', up([]).replace('Host: p.test\r\n', 'Host: p.test\n'), 'not mine'],
  ['a bare LF ending the request line', up([]).replace(' HTTP/1.1\r\n', ' HTTP/1.1\n'), 'not mine'],
  ['bare LFs throughout', up([]).replaceAll('\r\n', '\n'), 'not mine'],
  ['a bare LF in a value', up(['X-Lf: a\nb']), 'not mine'],
  ['a bare CR in a value', up(['X-Cr: a\rb']), 'not mine'],
  ['a bare CR ending a field', up([]).replace('Host: p.test\r\n', 'Host: p.test\r'), 'not mine'],
  ['a space before the colon', up(['X-Sp : v']), 'not mine'],
  ['a tab before the colon', up(['X-Tab\t: v']), 'not mine'],
  ['Host with a space before the colon', head('GET / HTTP/1.1', ['Host : p.test', ...UPGRADE]), 'not mine'],
  ['a line without a colon', up(['X-NoColon']), 'not mine'],
  ['an empty name', up([': v']), 'not mine'],
  ['non-ASCII in a name', up(['X-\xe9: v']), 'not mine'],
  ['Content-Length: 0', up(['Content-Length: 0']), 'not mine'],
  ['Content-Length with a body', `${up(['Content-Length: 5'])}hello`, 'not mine'],
  ['two equal Content-Length', up(['Content-Length: 5', 'Content-Length: 5']), 'not mine'],
  ['conflicting Content-Length', up(['Content-Length: 5', 'Content-Length: 6']), 'not mine'],
  ['Content-Length list', up(['Content-Length: 5, 5']), 'not mine'],
  ['Transfer-Encoding: chunked', `${up(['Transfer-Encoding: chunked'])}0\r\n\r\n`, 'not mine'],
  ['TE and CL', up(['Transfer-Encoding: chunked', 'Content-Length: 3']), 'not mine'],
  ['chunked twice', up(['Transfer-Encoding: chunked, chunked']), 'not mine'],
  ['TE not ending in chunked', up(['Transfer-Encoding: chunked, identity']), 'not mine'],
  ['TE: xchunked', up(['Transfer-Encoding: xchunked']), 'not mine'],
  ['lower-case transfer-encoding', up(['transfer-encoding: chunked']), 'not mine'],
  ['Expect: 100-continue', up(['Expect: 100-continue']), 'not mine'],
  ['NUL in a value', up(['X-Nul: a\0b']), 'not mine'],
  ['a control character in a value', up(['X-Ctl: a\x01b']), 'not mine'],
  ['ESC in a value', up(['X-Esc: \x1b[0m']), 'not mine'],
  ['DEL in a value', up(['X-Del: a\x7fb']), 'not mine'],
  ['NUL in the target', up([], '/a\0b'), 'not mine'],
  ['a tab in the target', up([], '/a\tb'), 'not mine'],
  ['non-ASCII in the target', up([], '/caf\xe9'), 'not mine'],
  ['a fragment in the target', up([], '/a#b'), 'not mine'],
  ['a space in the target', up([], '/a b'), 'not mine'],
  ['absolute-form target', up([], 'http://p.test/chat'), 'not mine'],
  ['asterisk target', up([], '*', 'OPTIONS'), 'not mine'],
  ['CONNECT', head('CONNECT p.test:443 HTTP/1.1', ['Host: p.test:443']), 'not mine'],
  ['CONNECT with an origin-form target', up([], '/', 'CONNECT'), 'not mine'],
  ['HTTP/1.0', head('GET / HTTP/1.0', ['Host: p.test', ...UPGRADE]), 'not mine'],
  ['HTTP/1.0 without Host', head('GET / HTTP/1.0', UPGRADE), 'not mine'],
  ['HTTP/1.2', head('GET / HTTP/1.2', ['Host: p.test', ...UPGRADE]), 'not mine'],
  ['HTTP/2.0', head('GET / HTTP/2.0', ['Host: p.test']), 'not mine'],
  ['lower-case version', head('GET / http/1.1', ['Host: p.test']), 'not mine'],
  ['a version with a trailing space', head('GET / HTTP/1.1 ', ['Host: p.test']), 'not mine'],
  ['two spaces after the method', head('GET  / HTTP/1.1', ['Host: p.test']), 'not mine'],
  ['an empty line before the request line', `\r\n${up([])}`, 'not mine'],
  ['lower-case method', up([], '/', 'get'), 'not mine'],
  ['an unknown method', up([], '/', 'FOO'), 'not mine'],
  ['missing Host', head('GET / HTTP/1.1', UPGRADE), 'not mine'],
  ['two Host fields', head('GET / HTTP/1.1', ['Host: p.test', 'Host: q.test', ...UPGRADE]), 'not mine'],
  ['two equal Host fields', head('GET / HTTP/1.1', ['Host: p.test', 'host: p.test', ...UPGRADE]), 'not mine'],
  ['an invalid Host', head('GET / HTTP/1.1', ['Host: a b', ...UPGRADE]), 'not mine'],
  ['a Host with a path', head('GET / HTTP/1.1', ['Host: p.test/x', ...UPGRADE]), 'not mine'],
  ['no blank line yet', up([]).slice(0, -2), 'incomplete'],
  ['only the request line', 'GET /chat HTTP/1.1\r\n', 'incomplete'],
  ['a cut-short request line', 'GET /ch', 'incomplete'],
  ['nothing', '', 'incomplete'],
];

/** mulberry32: a small seeded generator, so that a failing run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const INSERTS = ['\r', '\n', ' ', '\t', '\0', ':', '\r\n', '\x7f', '\xe9', '#'];

/** One to three random edits: a character inserted or deleted, a line repeated, a letter's case flipped. */
function mutate(text: string, random: () => number): string {
  const at = (n: number): number => Math.floor(random() * n);
  let s = text;
  for (let edits = 1 + at(3); edits > 0; edits--) {
    const i = at(s.length);
    switch (at(4)) {
      case 0:
        s = s.slice(0, i) + INSERTS[at(INSERTS.length)]! + s.slice(i);
        break;
      case 1:
        s = s.slice(0, i) + s.slice(i + 1);
        break;
      case 2: {
        const lines = s.split('\r\n');
        const j = at(lines.length - 2);
        lines.splice(j, 0, lines[j]!);
        s = lines.join('\r\n');
        break;
      }
      default: {
        const c = s[i]!;
        const flipped = c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
        s = s.slice(0, i) + (flipped.length === 1 ? flipped : c) + s.slice(i + 1);
      }
    }
  }
  return s;
}

const BASES = [
  up([]),
  up(['Sec-WebSocket-Protocol: chat, superchat', 'Origin: http://p.test'], '/chat?room=1'),
  head('GET /x HTTP/1.1', ['Host: p.test:8080', 'Connection: Upgrade', 'Upgrade: h2c', 'X-Tab:\tv\t']),
  up(['Content-Length: 0']),
  head('GET / HTTP/1.1', ['Host: p.test', 'X-A: a', 'X-A: b', 'Cookie: a=1; b=2']),
];

test('the strict reader never reads a head otherwise than node:http (corpus and randomised heads)', { timeout: 30_000 }, async (t) => {
  const see = await startNodeParser(t);
  const verdicts = new Map<Verdict, number>();
  for (const [name, text, expected] of CASES) {
    const verdict = compare(text, await see(text), name);
    assert.equal(verdict, expected, `${name}: ${JSON.stringify(text.slice(0, 200))}`);
    verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
  }
  const seed = Number(process.env.STRICT_HEAD_SEED ?? Math.floor(Math.random() * 2 ** 32));
  const random = prng(seed);
  const randomVerdicts = new Map<Verdict, number>();
  for (let n = 0; n < 400; n++) {
    const text = mutate(BASES[n % BASES.length]!, random);
    const verdict = compare(text, await see(text), `seed ${seed} (STRICT_HEAD_SEED=${seed} replays it), head ${n}`);
    randomVerdicts.set(verdict, (randomVerdicts.get(verdict) ?? 0) + 1);
  }
  t.diagnostic(`corpus ${JSON.stringify([...verdicts])}; seed ${seed}: ${JSON.stringify([...randomVerdicts])}`);
  // Both outcomes occur among the random heads, or the comparison would say nothing about one of them.
  assert.ok((randomVerdicts.get('mine') ?? 0) > 0 && (randomVerdicts.get('not mine') ?? 0) > 0, `seed ${seed}: ${JSON.stringify([...randomVerdicts])}`);
});
