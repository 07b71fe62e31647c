// Certificates reloaded from disk by `wspass run` with two workers, laid out as certbot does: the config
// names links in live/ that point into archive/. A file written in place behind its link and a new link
// renamed over the old both reach new handshakes, while a tunnel opened before keeps echoing; a broken
// certificate keeps the one in service and says which file is at fault, on a change and on SIGHUP.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { spawnProxy, waitForLine } from '../helpers/cli.js';
import { makeCertificate, presentedFingerprint, tempDir } from '../helpers/certificates.js';
import { nextMessage, openWs, startWsBackend } from '../helpers/peers.js';

async function echoes(ws: WebSocket, text: string): Promise<void> {
  const reply = nextMessage(ws);
  ws.send(text);
  assert.equal((await reply).data.toString(), text);
}

/** Several new handshakes (spread over both workers by the kernel) all present `fingerprint`. */
async function newHandshakesGet(t: TestContext, port: number, fingerprint: string): Promise<void> {
  const seen = await Promise.all(Array.from({ length: 8 }, () => presentedFingerprint(t, port, 'site.test')));
  assert.deepEqual(new Set(seen), new Set([fingerprint]));
}

test('certificates replaced in place and by a renamed link reach every worker; the open tunnel keeps echoing; a broken one keeps the old', async (t) => {
  const dir = tempDir(t);
  const [v1, v2, v3] = [1, 2, 3].map((n) => makeCertificate(dir, `made${n}`, 'site.test'));
  const archive = join(dir, 'archive');
  const live = join(dir, 'live');
  mkdirSync(archive);
  mkdirSync(live);
  copyFileSync(v1!.certFile, join(archive, 'cert1.pem'));
  copyFileSync(v1!.keyFile, join(archive, 'key1.pem'));
  symlinkSync('../archive/cert1.pem', join(live, 'cert.pem'));
  symlinkSync('../archive/key1.pem', join(live, 'key.pem'));
  const certFile = join(live, 'cert.pem');
  const keyFile = join(live, 'key.pem');

  const backend = await startWsBackend(t);
  const { child, port } = await spawnProxy(
    t,
    {
      listen: [{ address: '127.0.0.1:0', tls: { names: ['site.test'], certFile, keyFile } }],
      log: { level: 'warn' },
      routes: [{ path: '/', backend: `ws://127.0.0.1:${backend.port}/` }],
    },
    { args: ['--workers', '2'] },
  );
  const tunnel = await openWs(t, `wss://127.0.0.1:${port}/`, undefined, { rejectUnauthorized: false, headers: { host: 'site.test' } });
  await echoes(tunnel, 'first certificate');
  await newHandshakesGet(t, port, v1!.fingerprint);

  // In place, behind the links: the key, then the certificate (a half-done pair is never put in service).
  let reloaded = waitForLine(child, /"msg":"TLS certificate reloaded"/);
  writeFileSync(keyFile, readFileSync(v2!.keyFile));
  writeFileSync(certFile, readFileSync(v2!.certFile));
  await reloaded;
  await newHandshakesGet(t, port, v2!.fingerprint);
  await echoes(tunnel, 'after the in-place write');

  // certbot's renewal: new files in archive/, new links renamed over the old ones in live/.
  reloaded = waitForLine(child, /"msg":"TLS certificate reloaded"/);
  copyFileSync(v3!.certFile, join(archive, 'cert2.pem'));
  copyFileSync(v3!.keyFile, join(archive, 'key2.pem'));
  symlinkSync('../archive/key2.pem', join(live, 'key.pem.new'));
  symlinkSync('../archive/cert2.pem', join(live, 'cert.pem.new'));
  renameSync(join(live, 'key.pem.new'), keyFile);
  renameSync(join(live, 'cert.pem.new'), certFile);
  await reloaded;
  await newHandshakesGet(t, port, v3!.fingerprint);
  await echoes(tunnel, 'after the renamed links');

  // A broken certificate (written in place into what the link now points to) keeps the one in service.
  const refusal = /"file":"([^"]+)"[^\n]*"msg":"TLS certificate not reloaded; the previous one stays in service"/;
  let refused = waitForLine(child, refusal);
  writeFileSync(certFile, 'not a certificate\n');
  assert.equal((await refused)[1], certFile);
  await newHandshakesGet(t, port, v3!.fingerprint);
  await echoes(tunnel, 'after the broken certificate');

  // SIGHUP reads the files again too.
  refused = waitForLine(child, refusal);
  child.kill('SIGHUP');
  assert.equal((await refused)[1], certFile);
  await echoes(tunnel, 'after SIGHUP');
});
