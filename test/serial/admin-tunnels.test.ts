// The admin endpoint's tunnel listing and closing on a real `wspass run` with 2 workers, on both tunnel
// engines: tunnels of both workers in one listing, paged; one tunnel closed by id (its client sees the
// close, the others go on); every tunnel of a balancer member closed; the bearer token required on the
// admin endpoint (401 without) and not on the health listener.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { runCli, spawnProxy } from '../helpers/cli.js';
import { nextMessage, openWs, startWsBackend } from '../helpers/peers.js';
import { skipFor } from '../helpers/engines.js';
import { pollUntil } from '../helpers/poll.js';


const TOKEN = 'test-token-0123456789abcdef';

interface Listed {
  id: number;
  worker: number;
  route: string;
  member: string | null;
  client: string;
  engine: string;
  ageMs: number;
  bytesToBackend: number;
  bytesToClient: number;
}

interface Page {
  tunnels: Listed[];
  next: number | null;
  unanswered: number[];
}

/** A request to the admin endpoint with `token` (null: none). */
async function adminFetch(url: string, init: RequestInit = {}, token: string | null = TOKEN): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  return fetch(url, { ...init, headers });
}

/** Every open tunnel, page by page (`limit` per page); also returns the pages' sizes. */
async function listAll(admin: string, limit: number): Promise<{ tunnels: Listed[]; pages: number[] }> {
  const tunnels: Listed[] = [];
  const pages: number[] = [];
  let after = 0;
  for (;;) {
    const res = await adminFetch(`${admin}/tunnels?limit=${limit}&after=${after}`);
    assert.equal(res.status, 200);
    const page = (await res.json()) as Page;
    assert.deepEqual(page.unanswered, []);
    pages.push(page.tunnels.length);
    tunnels.push(...page.tunnels);
    if (page.next === null) return { tunnels, pages };
    after = page.next;
  }
}

/** Polls the listing (bounded) until `ok` holds: tunnels close asynchronously and native counts lag. */
async function waitForListing(admin: string, ok: (l: Listed[]) => boolean, what: string): Promise<{ tunnels: Listed[]; pages: number[] }> {
  let all: { tunnels: Listed[]; pages: number[] } | undefined;
  await pollUntil(async () => ok((all = await listAll(admin, 5)).tunnels), what, { everyMs: 25 });
  return all!;
}

for (const engine of ['native', 'js'] as const) {
  test(`admin tunnels (${engine}): listed across 2 workers and paged, closed by id and by member; token required`, { skip: skipFor(engine) }, async (t) => {
    const named = (name: string) => (ws: WebSocket) => ws.on('message', (d: Buffer) => ws.send(`${name}:${d.length}`));
    const a = await startWsBackend(t, {}, named('A'));
    const b = await startWsBackend(t, {}, named('B'));
    const { port, admin, startup } = await spawnProxy(
      t,
      {
        listen: '127.0.0.1:0',
        admin: { listen: '127.0.0.1:0', token: TOKEN },
        health: { listen: '127.0.0.1:0' },
        log: { level: 'warn' },
        tunnel: { engine },
        routes: [{ name: 'lb', path: '/', backend: 'balancer://pair/' }],
        balancers: { pair: { members: [{ url: `ws://127.0.0.1:${a.port}/` }, { url: `ws://127.0.0.1:${b.port}/` }] } },
      },
      { args: ['--workers', '2'] },
    );
    const health = /"health":"([^"]+)"/.exec(startup)?.[1];

    // The token: 401 with WWW-Authenticate without it or with a wrong one; the health listener needs none.
    const bare = await adminFetch(`${admin}/tunnels`, {}, null);
    assert.equal(bare.status, 401);
    assert.match(bare.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
    assert.equal((await adminFetch(`${admin}/status`, {}, 'wrong-token-0123456789')).status, 401);
    assert.equal((await adminFetch(`${admin}/status`)).status, 200);
    assert.equal((await fetch(`${health}/healthz`)).status, 200);
    assert.equal((await fetch(`${health}/readyz`)).status, 200);

    // 14 tunnels; tunnel i has sent a message of 100*(i+1) bytes, so its byte count says which client it is.
    const count = 14;
    const sockets = await Promise.all(Array.from({ length: count }, () => openWs(t, `ws://127.0.0.1:${port}/`)));
    const memberOf: string[] = [];
    for (const [i, ws] of sockets.entries()) {
      const reply = nextMessage(ws);
      ws.send('x'.repeat(100 * (i + 1)));
      memberOf.push((await reply).data.toString().split(':')[0]!);
    }
    assert.ok(memberOf.includes('A') && memberOf.includes('B'), memberOf.join(''));
    // Native byte counts are pulled in bulk at most every 100 ms: wait until every tunnel shows its message.
    const { tunnels: listed, pages } = await waitForListing(
      admin!,
      (l) => l.length === count && l.every((x) => x.bytesToBackend > 0 && x.bytesToClient > 0),
      `${count} tunnels with their bytes`,
    );
    assert.deepEqual(pages, [5, 5, 4]);
    const ids = listed.map((l) => l.id);
    assert.equal(new Set(ids).size, count, 'ids are unique across workers');
    assert.deepEqual([...ids].sort((x, y) => x - y), ids, 'in id order across pages');
    assert.deepEqual(new Set(listed.map((l) => l.worker)), new Set([0, 1]), 'tunnels of both workers are listed');
    for (const l of listed) {
      assert.equal(l.route, 'lb');
      assert.equal(l.client, '127.0.0.1');
      assert.equal(l.engine, engine);
      assert.ok(l.ageMs >= 0);
    }
    const memberUrl = { A: listed.find((l) => l.member?.includes(`:${a.port}`))?.member, B: listed.find((l) => l.member?.includes(`:${b.port}`))?.member };
    assert.ok(memberUrl.A && memberUrl.B, JSON.stringify(listed.map((l) => l.member)));
    // Tunnel of client i: the i-th smallest byte count toward the backend.
    const byClient = [...listed].sort((x, y) => x.bytesToBackend - y.bytesToBackend);
    for (const [i, l] of byClient.entries()) assert.equal(l.member, memberUrl[memberOf[i] as 'A' | 'B'], `client ${i}`);

    // The same listing from the command line (the token from WSPASS_ADMIN_TOKEN with --admin).
    const cli = await runCli(['tunnels', '--admin', admin!, '--limit', '3'], { WSPASS_ADMIN_TOKEN: TOKEN });
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(((JSON.parse(cli.stdout) as Page).tunnels).map((l) => l.id), ids.slice(0, 3));
    assert.equal((await runCli(['tunnels', '--admin', admin!], { WSPASS_ADMIN_TOKEN: '' })).code, 1, 'refused without the token');

    // Closing one tunnel: its client sees the close, every other one goes on.
    const victim = 3;
    const victimClosed = once(sockets[victim]!, 'close');
    const del = await adminFetch(`${admin}/tunnels/${byClient[victim]!.id}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.deepEqual(await del.json(), { closed: 1 });
    await victimClosed;
    assert.equal((await adminFetch(`${admin}/tunnels/4294967295`, { method: 'DELETE' })).status, 404);
    for (const [i, ws] of sockets.entries()) {
      if (i === victim) continue;
      const reply = nextMessage(ws);
      ws.send('y');
      assert.equal((await reply).data.toString(), `${memberOf[i]}:1`, `client ${i} still tunnels`);
    }

    // Closing every tunnel of member A: exactly A's clients see a close; B's go on.
    const onA = sockets.filter((_, i) => i !== victim && memberOf[i] === 'A');
    const onB = sockets.filter((_, i) => i !== victim && memberOf[i] === 'B');
    const aClosed = Promise.all(onA.map((ws) => once(ws, 'close')));
    const byMember = await adminFetch(`${admin}/tunnels?member=${encodeURIComponent(memberUrl.A)}`, { method: 'DELETE' });
    assert.equal(byMember.status, 200);
    assert.equal(((await byMember.json()) as { closed: number }).closed, onA.length);
    await aClosed;
    for (const ws of onB) {
      assert.equal(ws.readyState, WebSocket.OPEN);
      const reply = nextMessage(ws);
      ws.send('zz');
      assert.equal((await reply).data.toString(), 'B:2');
    }
    const left = await waitForListing(admin!, (l) => l.length === onB.length, 'only B tunnels left');
    assert.deepEqual(new Set(left.tunnels.map((l) => l.member)), new Set([memberUrl.B]));
    assert.equal((await adminFetch(`${admin}/tunnels?limit=0`)).status, 400);
    assert.equal((await adminFetch(`${admin}/tunnels`, { method: 'DELETE' })).status, 400);
  });
}
