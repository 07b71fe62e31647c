// Certificates made at test time with the openssl CLI (EC P-256: fast to generate), and a TLS client
// that reports which certificate a listener presents for an SNI name. Files go to a temporary folder
// removed when the test ends.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { hasHead, readUntil } from './peers.js';

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** SHA-256 fingerprint, as TLSSocket.getPeerCertificate().fingerprint256 writes it. */
  readonly fingerprint: string;
}

export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'wspass-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

/**
 * A self-signed certificate for `name` written to `<dir>/<file>.pem` and `<dir>/<file>-key.pem`; with
 * `issuer`, signed by that CA instead (and usable as a CA itself, to build chains).
 */
export function makeCertificate(dir: string, file: string, name: string, issuer?: CertificateFiles): CertificateFiles {
  const certFile = join(dir, `${file}.pem`);
  const keyFile = join(dir, `${file}-key.pem`);
  const common = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', keyFile];
  if (issuer === undefined) {
    execFileSync('openssl', ['req', '-x509', ...common, '-addext', `subjectAltName=DNS:${name}`, '-out', certFile], { stdio: 'ignore' });
  } else {
    const csr = join(dir, `${file}.csr`);
    execFileSync('openssl', ['req', ...common, '-out', csr], { stdio: 'ignore' });
    const ext = join(dir, `${file}.ext`);
    execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:${name}\\nbasicConstraints=critical,CA:TRUE\\n' > '${ext}'`]);
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', issuer.certFile, '-CAkey', issuer.keyFile, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', certFile], { stdio: 'ignore' });
  }
  return { certFile, keyFile, fingerprint: fingerprintOf(certFile) };
}

/**
 * Completes a TLS handshake with 127.0.0.1:port sending `servername` as SNI (none when undefined) and
 * resolves with the fingerprint of the certificate presented; `ca` verifies it (chain included).
 */
export async function presentedFingerprint(t: TestContext, port: number, servername: string | undefined, ca?: string): Promise<string> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    ...(servername !== undefined && { servername }),
    ...(ca === undefined ? { rejectUnauthorized: false } : { ca: readFileSync(ca), checkServerIdentity: () => undefined }),
  });
  t.after(() => socket.destroy());
  await once(socket, 'secureConnect');
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return fingerprint;
}

/** Sends `raw` over TLS (SNI `servername`, none when undefined) and resolves with the answer's head and body start. */
export async function tlsExchange(t: TestContext, port: number, servername: string | undefined, raw: string): Promise<{ head: string; rest: string }> {
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername !== undefined && { servername }) });
  t.after(() => socket.destroy());
  await once(socket, 'secureConnect');
  socket.write(raw);
  const buf = await readUntil(socket, (b) => hasHead(b) && b.length > b.indexOf('\r\n\r\n') + 4);
  socket.destroy();
  const end = buf.indexOf('\r\n\r\n');
  return { head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4).toString('latin1') };
}
