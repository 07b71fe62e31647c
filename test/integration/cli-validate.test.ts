// `wspass validate` finds what would otherwise fail only at start: certificate, key and CA files that are
// missing, unreadable, not PEM or not a pair, each with its key path; and it lists every problem at once,
// backend URLs and files included, even when the schema rejects something else in the same file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runCli, tempFile } from '../helpers/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));

test('validate checks certificate, key and CA files and reports each at its key', async (t) => {
  const file = tempFile(t, 'tls.yaml', [
    'listen:',
    '  - address: 127.0.0.1:0',
    '    tls:',
    `      certFile: ${fixture('vhost-a-cert.pem')}`,
    `      keyFile: ${fixture('vhost-b-key.pem')}`,
    '      sni:',
    `        b.example: { certFile: /nonexistent/cert.pem, keyFile: ${fixture('vhost-b-cert.pem')} }`,
    'routes:',
    '  - path: /',
    '    backend: wss://127.0.0.1:9/',
    `    tls: { caFile: ${fixture('backend-key.pem')} }`,
    '',
  ].join('\n'));
  const r = await runCli(['validate', '--config', file]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 4, r.stderr);
  assert.match(lines[0]!, /tls\.yaml:5:\d+: listen\[0\]\.tls\.keyFile: .*vhost-b-key\.pem" is not the private key of the certificate/);
  assert.match(lines[1]!, /tls\.yaml:7:\d+: listen\[0\]\.tls\.sni\["b\.example"\]\.certFile: "\/nonexistent\/cert\.pem" does not exist/);
  assert.match(lines[2]!, /listen\[0\]\.tls\.sni\["b\.example"\]\.keyFile: .*vhost-b-cert\.pem" does not hold a PEM private key/);
  assert.match(lines[3]!, /tls\.yaml:11:\d+: routes\[0\]\.tls\.caFile: .*backend-key\.pem" holds no PEM certificate/);

  const good = tempFile(t, 'good.yaml', [
    'listen:',
    '  - address: 127.0.0.1:0',
    `    tls: { certFile: ${fixture('vhost-a-cert.pem')}, keyFile: ${fixture('vhost-a-key.pem')} }`,
    'routes:',
    '  - path: /',
    '    backend: wss://127.0.0.1:9/',
    `    tls: { caFile: ${fixture('backend-cert.pem')} }`,
    '',
  ].join('\n'));
  const ok = await runCli(['validate', '--config', good]);
  assert.equal(ok.code, 0, ok.stderr);
});

test('a schema error does not hide a bad backend URL, listener address or missing file', async (t) => {
  const file = tempFile(t, 'mixed.yaml', [
    'listen: 127.0.0.1:99999',
    'routes:',
    '  - path: /a',
    '    backend: ftp://127.0.0.1/',
    '    idleTimeout: 5',
    '  - path: /b',
    '    backend: wss://127.0.0.1:9/',
    '    tls: { caFile: /nonexistent/ca.pem }',
    '',
  ].join('\n'));
  const r = await runCli(['validate', '--config', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /mixed\.yaml:1:\d+: listen: /);
  assert.match(r.stderr, /mixed\.yaml:4:\d+: routes\[0\]\.backend: scheme "ftp:" is not allowed/);
  assert.match(r.stderr, /mixed\.yaml:5:5: routes\[0\]\.idleTimeout: unknown key/);
  assert.match(r.stderr, /mixed\.yaml:8:\d+: routes\[1\]\.tls\.caFile: "\/nonexistent\/ca\.pem" does not exist/);
});
