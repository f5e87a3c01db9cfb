import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { ja3, ja3String, ja4, offeredVersion, parseClientHelloBody, scanClientHello, type ClientHello } from '../../src/deckies/tls-fingerprint.ts';
import { buildClientHello } from './tls-hello-builder.ts';

function complete(buf: Buffer): ClientHello {
  const r = scanClientHello(buf);
  assert.equal(r.status, 'complete', JSON.stringify(r));
  return (r as { hello: ClientHello }).hello;
}

const sha12 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);

test('published Chrome vector: JA3 and JA4 match, with GREASE in every list and the hello split over records', () => {
  // Field lists published by browserleaks for Chrome 143 (ja3_text, ja4_ro), GREASE values added as Chrome sends them.
  const buf = buildClientHello({
    ciphers: [0x0a0a, 4865, 4866, 4867, 49195, 49199, 49196, 49200, 52393, 52392, 49171, 49172, 156, 157, 47, 53],
    extensions: [0x1a1a, 45, 51, 16, 65037, 23, 17613, 0, 11, 10, 43, 65281, 35, 18, 5, 13, 27, 0x2a2a],
    serverName: 'tls.browserleaks.com',
    alpn: ['h2', 'http/1.1'],
    groups: [0x3a3a, 4588, 29, 23, 24],
    pointFormats: [0],
    signatureAlgorithms: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
    supportedVersions: [0x4a4a, 0x0304, 0x0303],
    recordSize: 100,
  });
  const h = complete(buf);
  assert.equal(h.serverName, 'tls.browserleaks.com');
  assert.deepEqual(h.alpn, ['h2', 'http/1.1']);
  const j3 = ja3(h);
  assert.equal(j3.ja3, '771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0');
  assert.equal(j3.ja3Hash, '98487aa16281980e7d1120d399efb6a4');
  const j4 = ja4(h);
  assert.equal(j4.ja4, 't13d1516h2_8daaf6152771_d8a2da3f94cd');
  assert.equal(
    j4.ja4r,
    't13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,0033,44cd,fe0d,ff01_0403,0804,0401,0503,0805,0501,0806,0601',
  );
});

test('published JA3 README vector (TLS 1.0 client)', () => {
  const h = complete(
    buildClientHello({
      legacyVersion: 0x0301,
      ciphers: [47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
      extensions: [0, 10, 11],
      groups: [23, 24, 25],
      pointFormats: [0],
    }),
  );
  assert.equal(ja3String(h), '769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0');
  assert.equal(ja3(h).ja3Hash, 'ada70206e40642a3e4461f35503241d5');
  // No supported_versions: JA4 takes the legacy version; SNI present, no ALPN, no signature algorithms.
  assert.equal(ja4(h).ja4, `t10d120300_${sha12('0004,0005,000a,0013,002f,0032,0035,0038,c009,c00a,c013,c014')}_${sha12('000a,000b')}`);
});

test('JA4 edge cases: no ciphers or extensions, non-alphanumeric ALPN, counts capped at 99', () => {
  const bare = complete(buildClientHello({ ciphers: [], extensions: [] }));
  assert.equal(ja4(bare).ja4, 't12i000000_000000000000_000000000000');
  const odd = complete(buildClientHello({ ciphers: [0x1301], extensions: [16], alpn: ['\x01x\xff'] }));
  assert.equal(ja4(odd).ja4.slice(0, 10), 't12i0101' + '0f');
  const many = complete(buildClientHello({ ciphers: Array.from({ length: 120 }, (_, i) => 0x1000 + i), extensions: [] }));
  assert.equal(ja4(many).ja4.slice(4, 6), '99');
});

test('scanner states: incomplete, not TLS, invalid; hostile bytes never throw', () => {
  const full = buildClientHello({ ciphers: [0x1301], extensions: [0], serverName: 'a.example' });
  for (let n = 0; n < full.length; n += 7) assert.equal(scanClientHello(full.subarray(0, n)).status, 'incomplete', `prefix ${n}`);
  assert.equal(scanClientHello(Buffer.from('GET / HTTP/1.1\r\n')).status, 'not_tls');
  assert.equal(scanClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00])).status, 'invalid');
  assert.equal(scanClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0])).status, 'invalid'); // ServerHello first
  const lying = Buffer.from(full);
  lying.writeUInt16BE(0xffff, lying.length - 2 - 9); // a length field pointing past the end
  assert.doesNotThrow(() => scanClientHello(lying));
  for (let i = 0; i < 3000; i++) {
    const mutated = Buffer.from(full);
    for (let k = 0; k < 4; k++) mutated[5 + Math.floor(Math.random() * (mutated.length - 5))] = Math.floor(Math.random() * 256);
    const r = scanClientHello(i % 3 === 0 ? Buffer.concat([full.subarray(0, 5), randomBytes(200)]) : mutated);
    if (r.status === 'complete') {
      ja3(r.hello);
      ja4(r.hello);
    }
  }
  assert.equal(typeof parseClientHelloBody(Buffer.alloc(10)), 'string');
});

/** Accepts one connection and returns the client's complete ClientHello bytes. */
async function captureHello(startClient: (port: number) => void): Promise<Buffer> {
  let resolveHello!: (b: Buffer) => void;
  const got = new Promise<Buffer>((r) => (resolveHello = r));
  const server = createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (scanClientHello(buf).status !== 'incomplete') {
        resolveHello(buf);
        s.destroy();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  startClient((server.address() as { port: number }).port);
  try {
    return await got;
  } finally {
    server.close();
  }
}

test("node's TLS client: fingerprint fields follow the options it was given", async () => {
  const buf = await captureHello((port) => {
    const c = tlsConnect({ host: '127.0.0.1', port, servername: 'intranet.corp.lan', ALPNProtocols: ['h2', 'http/1.1'], ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384', maxVersion: 'TLSv1.2', rejectUnauthorized: false });
    c.on('error', () => undefined);
  });
  const h = complete(buf);
  assert.equal(h.serverName, 'intranet.corp.lan');
  assert.deepEqual(h.alpn, ['h2', 'http/1.1']);
  assert.equal(offeredVersion(h), 0x0303);
  // Node offers exactly the configured suite (it signals renegotiation with the extension, not the SCSV).
  assert.deepEqual(h.ciphers, [0xc02c]);
  assert.ok(h.extensions.includes(0xff01));
  const j3 = ja3(h);
  assert.equal(j3.ja3.split(',')[1], '49196');
  assert.equal(j3.ja3Hash, createHash('md5').update(j3.ja3).digest('hex'));
  const exts = h.extensions.length;
  const j4 = ja4(h).ja4;
  assert.equal(j4.split('_')[0], `t12d01${String(exts).padStart(2, '0')}h2`);
  assert.equal(j4.split('_')[1], sha12('c02c'));
});

test('openssl s_client: TLS 1.2 with one suite, then TLS 1.3 without SNI', async (t) => {
  const sClient = (port: number, args: string[]): void => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { timeout: 10_000 }, () => undefined);
    child.stdin?.end();
  };
  const v12 = complete(await captureHello((port) => sClient(port, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256', '-servername', 'files.corp.lan', '-alpn', 'http/1.1'])));
  assert.equal(v12.serverName, 'files.corp.lan');
  assert.deepEqual(v12.alpn, ['http/1.1']);
  assert.deepEqual(v12.ciphers, [0xc02f, 0x00ff]);
  assert.ok(!v12.extensions.includes(0x002b), 'no supported_versions when TLS 1.3 is off');
  assert.equal(ja4(v12).ja4.slice(0, 6), 't12d02');
  assert.equal(ja4(v12).ja4.slice(8, 10), 'h1');
  assert.equal(ja3(v12).ja3.split(',')[1], '49199-255');

  const v13 = complete(await captureHello((port) => sClient(port, ['-tls1_3', '-noservername'])));
  if (!v13.supportedVersions.includes(0x0304)) return t.skip('this openssl build does not offer TLS 1.3');
  assert.equal(v13.serverName, undefined);
  assert.equal(ja4(v13).ja4.slice(0, 4), 't13i');
  assert.equal(ja4(v13).ja4.slice(8, 10), '00');
});
