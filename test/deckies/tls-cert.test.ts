import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, createServer } from 'node:tls';
import { promisify } from 'node:util';
import { createSelfSignedCertificate } from '../../src/deckies/tls-cert.ts';

const run = promisify(execFile);

test('EC certificate: subject, SAN, validity and self-signature', () => {
  const { key, cert } = createSelfSignedCertificate({ commonName: 'SRV-ALPHA-12', altNames: ['127.100.3.4', 'srv-alpha-12.corp.lan', '::1'] });
  const x = new X509Certificate(cert);
  assert.equal(x.subject, 'CN=SRV-ALPHA-12');
  assert.equal(x.issuer, 'CN=SRV-ALPHA-12');
  assert.equal(x.subjectAltName, 'DNS:SRV-ALPHA-12, IP Address:127.100.3.4, DNS:srv-alpha-12.corp.lan, IP Address:0:0:0:0:0:0:0:1');
  assert.ok(x.verify(x.publicKey), 'signature verifies with its own key');
  assert.ok(x.checkPrivateKey(createPrivateKey(key)), 'the key belongs to the certificate');
  assert.equal(x.publicKey.asymmetricKeyType, 'ec');
  const from = Date.parse(x.validFrom);
  const to = Date.parse(x.validTo);
  assert.ok(from < Date.now() - 19 * 86_400_000 && from > Date.now() - 402 * 86_400_000, `notBefore ${x.validFrom} is weeks to a year back`);
  assert.equal(Math.round((to - from) / 86_400_000), 3650);
  assert.ok(x.ca, 'basicConstraints CA:TRUE like `openssl req -x509`');
  assert.match(x.serialNumber, /^[0-9A-F]{40}$/);
});

test('RSA option, explicit dates and organization', () => {
  const notBefore = new Date('2024-01-02T03:04:05Z');
  const { cert } = createSelfSignedCertificate({ commonName: 'nas01', organization: 'Synology Inc.', keyType: 'rsa', notBefore, validDays: 30 * 365 });
  const x = new X509Certificate(cert);
  assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.equal(x.subject, 'O=Synology Inc.\nCN=nas01');
  assert.equal(new Date(x.validFrom).toISOString(), '2024-01-02T03:04:05.000Z');
  // 2053 is past 2049: the encoder must switch to GeneralizedTime.
  assert.equal(new Date(x.validTo).getUTCFullYear(), 2053);
  assert.ok(x.verify(x.publicKey));
});

test('openssl parses the certificate and verifies it as its own issuer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-cert-'));
  try {
    const { cert } = createSelfSignedCertificate({ commonName: 'mail.corp.lan', altNames: ['10.0.0.5'] });
    const file = join(dir, 'c.pem');
    writeFileSync(file, cert);
    const text = (await run('openssl', ['x509', '-in', file, '-noout', '-text'])).stdout;
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /DNS:mail\.corp\.lan, IP Address:10\.0\.0\.5/);
    assert.match(text, /X509v3 Subject Key Identifier/);
    const verify = await run('openssl', ['verify', '-CAfile', file, file]);
    assert.match(verify.stdout, /: OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a TLS client that trusts the certificate accepts it for the IP and the host name', async () => {
  const { key, cert } = createSelfSignedCertificate({ commonName: 'web01.corp.lan', altNames: ['127.0.0.1'] });
  const server = createServer({ key, cert }, (s) => s.end('hi'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    for (const servername of [undefined, 'web01.corp.lan']) {
      const got = await new Promise<string>((resolve, reject) => {
        const c = connect({ host: '127.0.0.1', port, ca: cert, ...(servername ? { servername } : {}) }, () => undefined);
        let data = '';
        c.on('data', (d) => (data += d));
        c.on('end', () => resolve(data));
        c.on('error', reject);
      });
      assert.equal(got, 'hi');
    }
  } finally {
    server.close();
  }
});

test('bad options are refused with a message naming the field', () => {
  assert.throws(() => createSelfSignedCertificate({ commonName: '' }), /commonName must be 1\.\.64/);
  assert.throws(() => createSelfSignedCertificate({ commonName: 'x'.repeat(65) }), /commonName/);
  assert.throws(() => createSelfSignedCertificate({ commonName: 'ok\nbad' }), /commonName/);
  assert.throws(() => createSelfSignedCertificate({ commonName: 'ok', altNames: ['bad name!'] }), /altName "bad name!"/);
  assert.throws(() => createSelfSignedCertificate({ commonName: 'ok', validDays: 0 }), /validDays/);
});
