// A plain listener and a TLS one side by side, as an Apache config with a <VirtualHost *:80> and two TLS
// <VirtualHost *:443> blocks maps them (run as .conf and as its YAML): each port serves only its own
// virtual hosts, SNI and 421 apply on the TLS port only, and the request limits (LimitRequestLine) hold
// on both ports, on the plain and the upgrade path, before the 421 check.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startConfAndYaml } from '../helpers/apache-fixture.js';
import { makeCertificate, presentedFingerprint, tempDir, tlsExchange } from '../helpers/certificates.js';
import { rawExchange, readUntil, startNamedBackend, statusOf, wsHandshake } from '../helpers/peers.js';

/** Sends `raw` in clear and resolves with the answer's head and the body start. */
async function plainExchange(t: TestContext, port: number, raw: string): Promise<{ head: string; rest: string }> {
  const { head, rest, socket } = await rawExchange(t, port, raw);
  const more = rest.length > 0 ? rest : await readUntil(socket, (b) => b.length > 0);
  socket.destroy();
  return { head, rest: more.toString('latin1') };
}

const get = (host: string, path = '/') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
/** A request target that makes the request line 201 bytes, one over LimitRequestLine 200. */
const LONG = `/${'a'.repeat(201 - 'GET / HTTP/1.1'.length)}`;

test('Apache: a plain <VirtualHost *:80> beside TLS ones on :443, with LimitRequestLine, as .conf and as its YAML', async (t) => {
  const dir = tempDir(t);
  const b = makeCertificate(dir, 'b', 'b.test');
  const c = makeCertificate(dir, 'c', 'c.test');
  const [pa, pb, pc] = await Promise.all([startNamedBackend(t, 'A'), startNamedBackend(t, 'B'), startNamedBackend(t, 'C')]);
  const conf = join(dir, 'site.conf');
  writeFileSync(
    conf,
    [
      'Listen 80',
      'Listen 443',
      'LimitRequestLine 200',
      '<VirtualHost *:80>',
      '  ServerName a.test',
      `  ProxyPass / ws://127.0.0.1:${pa}/`,
      '</VirtualHost>',
      '<VirtualHost *:443>',
      '  ServerName b.test',
      '  SSLEngine on',
      '  SSLCertificateFile b.pem',
      '  SSLCertificateKeyFile b-key.pem',
      `  ProxyPass / ws://127.0.0.1:${pb}/`,
      '</VirtualHost>',
      '<VirtualHost *:443>',
      '  ServerName c.test',
      '  SSLEngine on',
      '  SSLCertificateFile c.pem',
      '  SSLCertificateKeyFile c-key.pem',
      `  ProxyPass / ws://127.0.0.1:${pc}/`,
      '</VirtualHost>',
      '',
    ].join('\n'),
  );
  for (const { file, ports } of await startConfAndYaml(t, conf)) {
    const [plain, secure] = ports as [number, number];

    // Port 80: in clear, the only virtual host there serves every Host, b.test's too.
    assert.match((await plainExchange(t, plain, get('a.test'))).rest, /A/, file);
    assert.match((await plainExchange(t, plain, get('b.test'))).rest, /A/, file);
    const tunnel = await plainExchange(t, plain, wsHandshake('/', { Host: 'a.test' }));
    assert.equal(statusOf(tunnel.head), 101, file);
    assert.match(tunnel.rest, /A/);

    // Port 443: SNI picks the certificate, Host the virtual host; a.test is not served there.
    assert.equal(await presentedFingerprint(t, secure, 'b.test'), b.fingerprint, file);
    assert.equal(await presentedFingerprint(t, secure, 'c.test'), c.fingerprint, file);
    assert.match((await tlsExchange(t, secure, 'c.test', get('c.test'))).rest, /C/, file);
    assert.match((await tlsExchange(t, secure, 'b.test', get('a.test'))).rest, /B/, 'the first vhost of :443 is its default');
    const wss = await tlsExchange(t, secure, 'c.test', wsHandshake('/', { Host: 'c.test' }));
    assert.equal(statusOf(wss.head), 101, file);
    assert.match(wss.rest, /C/);
    for (const raw of [get('c.test'), wsHandshake('/', { Host: 'c.test' })]) {
      const r = await tlsExchange(t, secure, 'b.test', raw);
      assert.equal(statusOf(r.head), 421, r.head);
      assert.match(r.head, /X-Wspass-Error: WSP_MISDIRECTED_REQUEST/);
    }

    // LimitRequestLine on both ports and both paths; on :443 it is answered before the 421 check.
    const tooLong = [
      await plainExchange(t, plain, get('a.test', LONG)),
      await plainExchange(t, plain, wsHandshake(LONG, { Host: 'a.test' })),
      await tlsExchange(t, secure, 'b.test', get('b.test', LONG)),
      await tlsExchange(t, secure, 'b.test', wsHandshake(LONG, { Host: 'c.test' })),
    ];
    for (const r of tooLong) {
      assert.equal(statusOf(r.head), 414, r.head);
      assert.match(r.head, /X-Wspass-Error: WSP_URI_TOO_LONG/);
    }
  }
});
