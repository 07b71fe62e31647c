// TLS virtual hosts on one listener, with certificates made at test time: SNI picks the certificate (and a
// chain file completes it), Host picks the backend, and a Host naming a host with other certificate
// files than the SNI chose gets 421, as httpd answers (AH02032): not without SNI, nor between hosts that
// share a certificate. Also an Apache config with two TLS <VirtualHost> blocks, as .conf and as its YAML.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket, type ClientOptions } from 'ws';
import { makeCertificate, presentedFingerprint, tempDir, tlsExchange, type CertificateFiles } from '../helpers/certificates.js';
import { startConfAndYaml } from '../helpers/apache-fixture.js';
import { startProxy } from '../helpers/proxy.js';
import { nextMessage, startNamedBackend, statusOf, wsHandshake } from '../helpers/peers.js';

const get = (host: string) => `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

async function twoHosts(t: TestContext): Promise<{ port: number; a: CertificateFiles; b: CertificateFiles }> {
  const dir = tempDir(t);
  const a = makeCertificate(dir, 'a', 'a.test');
  const b = makeCertificate(dir, 'b', 'b.test');
  const [pa, pb, pc] = await Promise.all([startNamedBackend(t, 'A'), startNamedBackend(t, 'B'), startNamedBackend(t, 'C')]);
  const { port } = await startProxy(t, {
    listen: [
      {
        address: '127.0.0.1:0',
        tls: {
          names: ['a.test'],
          certFile: a.certFile,
          keyFile: a.keyFile,
          hosts: [
            { names: ['b.test', '*.b.test'], certFile: b.certFile, keyFile: b.keyFile },
            // Another virtual host on a's certificate (one certificate naming both, in real life).
            { names: ['c.test'], certFile: a.certFile, keyFile: a.keyFile },
          ],
        },
      },
    ],
    routes: [
      { host: 'a.test', path: '/', backend: `ws://127.0.0.1:${pa}/` },
      { host: ['b.test', '*.b.test'], path: '/', backend: `ws://127.0.0.1:${pb}/` },
      { host: 'c.test', path: '/', backend: `ws://127.0.0.1:${pc}/` },
    ],
  });
  return { port, a, b };
}

test('two TLS virtual hosts with certificates made at test time: SNI picks the certificate, Host the backend', async (t) => {
  const { port, a, b } = await twoHosts(t);
  assert.equal(await presentedFingerprint(t, port, 'a.test'), a.fingerprint);
  assert.equal(await presentedFingerprint(t, port, 'b.test'), b.fingerprint);
  assert.equal(await presentedFingerprint(t, port, 'x.B.test'), b.fingerprint, 'wildcard, case-insensitive');
  assert.equal(await presentedFingerprint(t, port, 'unknown.test'), a.fingerprint, 'an unknown name gets the default');
  assert.equal(await presentedFingerprint(t, port, undefined), a.fingerprint, 'no SNI gets the default');
  // A verified wss:// tunnel to each host: its own certificate, its own backend.
  for (const [name, cert, greeting] of [['a.test', a, 'A'], ['b.test', b, 'B']] as const) {
    // `servername` (SNI) is passed through to tls.connect; ws's types do not list it.
    const options: ClientOptions & { servername: string } = { servername: name, headers: { host: name }, ca: readFileSync(cert.certFile) };
    const ws = new WebSocket(`wss://127.0.0.1:${port}/`, options);
    t.after(() => ws.terminate());
    const first = nextMessage(ws);
    await once(ws, 'open');
    assert.equal((await first).data.toString(), greeting);
  }
});

test('421 when Host names a host with another certificate than the SNI chose, on plain HTTP and on upgrade; not without SNI, nor on a shared certificate; 400 for no host with SNI', async (t) => {
  const { port } = await twoHosts(t);
  const misdirected = [
    await tlsExchange(t, port, 'a.test', get('b.test')),
    await tlsExchange(t, port, 'a.test', wsHandshake('/', { Host: 'b.test:443' })),
    // An unknown Host is the default host's (a), whose certificate is not the one b's SNI chose.
    await tlsExchange(t, port, 'b.test', get('unknown.test')),
    // An absolute-form target names the host itself (RFC 9112 §3.2.2), as routes read it.
    await tlsExchange(t, port, 'b.test', 'GET https://a.test/ HTTP/1.1\r\nHost: b.test\r\n\r\n'),
  ];
  for (const r of misdirected) {
    assert.equal(statusOf(r.head), 421, r.head);
    assert.match(r.head, /X-Wspass-Error: WSP_MISDIRECTED_REQUEST/);
  }
  // No SNI: the Host alone decides (httpd checks only when SNI was sent).
  const noSni = await tlsExchange(t, port, undefined, get('b.test'));
  assert.equal(statusOf(noSni.head), 200);
  assert.match(noSni.rest, /B/);
  assert.equal(statusOf((await tlsExchange(t, port, undefined, wsHandshake('/', { Host: 'b.test' }))).head), 101);
  // c.test shares a.test's certificate: a's handshake may carry c's requests.
  const shared = await tlsExchange(t, port, 'a.test', get('c.test'));
  assert.equal(statusOf(shared.head), 200);
  assert.match(shared.rest, /C/);
  assert.equal(statusOf((await tlsExchange(t, port, 'a.test', wsHandshake('/', { Host: 'c.test' }))).head), 101);
  // With SNI, a request naming no host (HTTP/1.0 without Host) gets 400, as httpd's AH02031.
  const noHost = await tlsExchange(t, port, 'a.test', 'GET / HTTP/1.0\r\n\r\n');
  assert.equal(statusOf(noHost.head), 400);
  assert.match(noHost.head, /X-Wspass-Error: WSP_BAD_REQUEST/);
  // Without SNI it is an ordinary request: every route here names a host, so none matches.
  assert.equal(statusOf((await tlsExchange(t, port, undefined, 'GET / HTTP/1.0\r\n\r\n')).head), 404);
  // SNI and Host naming the same host, in other spellings (case, port, wildcard).
  assert.equal(statusOf((await tlsExchange(t, port, 'x.b.test', get('Y.b.test:443'))).head), 200);
});

test('a chain file is sent after the certificate: a client trusting only the root verifies the host', async (t) => {
  const dir = tempDir(t);
  const root = makeCertificate(dir, 'root', 'Test Root');
  const intermediate = makeCertificate(dir, 'intermediate', 'Test Intermediate', root);
  const leaf = makeCertificate(dir, 'leaf', 'chain.test', intermediate);
  const port = await startNamedBackend(t, 'chained');
  const listener = (chainFile?: string) => ({
    address: '127.0.0.1:0',
    tls: { certFile: leaf.certFile, keyFile: leaf.keyFile, ...(chainFile !== undefined && { chainFile }) },
  });
  const routes = [{ path: '/', backend: `ws://127.0.0.1:${port}/` }];
  const chained = await startProxy(t, { listen: [listener(intermediate.certFile)], routes });
  assert.equal(await presentedFingerprint(t, chained.port, 'chain.test', root.certFile), leaf.fingerprint);
  const bare = await startProxy(t, { listen: [listener()], routes });
  await assert.rejects(presentedFingerprint(t, bare.port, 'chain.test', root.certFile), /unable to verify|issuer/i);
});

test('Apache: two TLS <VirtualHost> blocks on one port (SSLCertificateFile, KeyFile, ChainFile) run as .conf and as their YAML', async (t) => {
  const dir = tempDir(t);
  const a = makeCertificate(dir, 'a', 'a.test');
  const root = makeCertificate(dir, 'root', 'Test Root');
  const intermediate = makeCertificate(dir, 'intermediate', 'Test Intermediate', root);
  const b = makeCertificate(dir, 'b', 'b.test', intermediate);
  const [pa, pb] = await Promise.all([startNamedBackend(t, 'A'), startNamedBackend(t, 'B')]);
  const conf = join(dir, 'site.conf');
  writeFileSync(
    conf,
    [
      'Listen 443',
      '<VirtualHost *:443>',
      '  ServerName a.test',
      '  SSLEngine on',
      `  SSLCertificateFile ${a.certFile}`,
      `  SSLCertificateKeyFile ${a.keyFile}`,
      `  ProxyPass / ws://127.0.0.1:${pa}/`,
      '</VirtualHost>',
      '<VirtualHost *:443>',
      '  ServerName b.test',
      '  SSLEngine on',
      '  SSLCertificateFile b.pem',
      '  SSLCertificateKeyFile b-key.pem',
      '  SSLCertificateChainFile intermediate.pem',
      `  ProxyPass / ws://127.0.0.1:${pb}/`,
      '</VirtualHost>',
      '',
    ].join('\n'),
  );
  for (const { file, ports } of await startConfAndYaml(t, conf)) {
    const port = ports[0]!;
    assert.equal(await presentedFingerprint(t, port, 'a.test'), a.fingerprint, file);
    assert.equal(await presentedFingerprint(t, port, 'b.test', root.certFile), b.fingerprint, file);
    assert.equal(await presentedFingerprint(t, port, undefined), a.fingerprint, 'the first virtual host is the default');
    assert.match((await tlsExchange(t, port, 'b.test', get('b.test'))).rest, /B/);
    assert.equal(statusOf((await tlsExchange(t, port, 'b.test', get('a.test'))).head), 421);
  }
});
