// `wspass validate` checks the files of every TLS virtual host: `hosts` entries and chain files included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { checkTlsFiles } from '../../src/config/file-checks.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));

test('a host of `hosts` with a missing key, a chain file that holds no certificate, a key of another certificate', () => {
  const a = { certFile: fixture('vhost-a-cert.pem'), keyFile: fixture('vhost-a-key.pem') };
  const issues = checkTlsFiles(
    {
      listen: [
        {
          address: ':443',
          tls: {
            ...a,
            chainFile: fixture('vhost-a-key.pem'),
            hosts: [
              { names: ['b.example'], certFile: fixture('vhost-b-cert.pem'), keyFile: '/nonexistent/b.key' },
              { names: ['c.example'], certFile: fixture('vhost-b-cert.pem'), keyFile: a.keyFile },
            ],
          },
        },
      ],
    },
    (f) => readFileSync(f, 'utf8'),
  );
  assert.deepEqual(
    issues.map((i) => [i.path.join('.'), i.message.replace(/"[^"]*\//g, '"…/')]),
    [
      ['listen.0.tls.chainFile', '"…/vhost-a-key.pem" holds no PEM certificate ("-----BEGIN CERTIFICATE-----")'],
      ['listen.0.tls.hosts.0.keyFile', '"…/b.key" does not exist'],
      ['listen.0.tls.hosts.1.keyFile', '"…/vhost-a-key.pem" is not the private key of the certificate in "…/vhost-b-cert.pem"'],
    ],
  );
});
