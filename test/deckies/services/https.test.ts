import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { ja3, ja4, scanClientHello } from '../../../src/deckies/tls-fingerprint.ts';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { TextClient } from './text-client.ts';

const run = promisify(execFile);

/** A TCP relay to the decky that keeps the first bytes the client sent (its ClientHello). */
async function teeProxy(host: string, port: number): Promise<{ port: number; first: () => Buffer; close: () => void }> {
  let captured = Buffer.alloc(0);
  const server: Server = createServer((client) => {
    const upstream = connect({ host, port });
    client.on('data', (d: Buffer) => {
      if (captured.length < 65536) captured = Buffer.concat([captured, d]);
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, first: () => captured, close: () => server.close() };
}

function tlsGet(host: string, port: number, opts: { servername?: string; alpn?: string[] } = {}): Promise<{ body: string; socket: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host, port, rejectUnauthorized: false, ...(opts.servername ? { servername: opts.servername } : {}), ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}) }, () => {
      s.write(`GET /tls-check HTTP/1.1\r\nHost: ${opts.servername ?? host}\r\nConnection: close\r\n\r\n`);
    });
    let body = '';
    s.on('data', (d) => (body += d));
    s.on('end', () => resolve({ body, socket: s }));
    s.on('error', reject);
  });
}

describe('https', () => {
  let d: TestDecky;
  let port: number;
  before(async () => {
    d = await startTestDecky({ services: ['https'], persona: { hostname: 'web01.corp.lan' } });
    port = d.port('https');
  });
  after(() => d.stop());

  test('curl -k: page served over TLS; tls_hello recorded first with JA3/JA4 equal to those of the bytes on the wire', async () => {
    const proxy = await teeProxy(d.ip, port);
    try {
      const { stdout } = await run('curl', ['-sk', '-i', '--max-time', '5', `https://127.0.0.1:${proxy.port}/`]);
      assert.match(stdout, /^HTTP\/1\.1 200 OK\r\nServer: nginx\/1\.22\.1/);
      const scan = scanClientHello(proxy.first());
      assert.equal(scan.status, 'complete');
      const hello = (scan as Extract<typeof scan, { status: 'complete' }>).hello;
      const events = await d.events();
      const helloIdx = events.findIndex((e) => e.event === 'tls_hello' && e.fields.ja3 === ja3(hello).ja3Hash);
      assert.ok(helloIdx >= 0, 'tls_hello with the JA3 of the captured ClientHello');
      const e = events[helloIdx]!;
      assert.equal(e.fields.ja4, ja4(hello).ja4);
      assert.equal(e.fields.ja3_str, ja3(hello).ja3);
      assert.equal(e.fields.ja4_r, ja4(hello).ja4r);
      assert.equal(e.fields.tls_version, 'TLSv1.3');
      assert.equal(e.fields.via, 'implicit');
      assert.equal(e.fields.sni, undefined, 'curl sends no SNI for an IP address');
      const reqIdx = events.findIndex((x, i) => i > helloIdx && x.event === 'request' && x.src_port === e.src_port);
      assert.ok(reqIdx > helloIdx, 'the request is recorded after the hello of its connection');
      assert.equal(events[reqIdx]!.fields.tls, 'true');
    } finally {
      proxy.close();
    }
  });

  test('SNI and ALPN are recorded; the server selects http/1.1', async () => {
    const { body, socket } = await tlsGet(d.ip, port, { servername: 'portal.corp.lan', alpn: ['h2', 'http/1.1'] });
    assert.equal(socket.alpnProtocol, 'http/1.1');
    assert.match(body, /^HTTP\/1\.1 404 Not Found/);
    const e = await d.waitForEvent((x) => x.event === 'tls_hello' && x.fields.sni === 'portal.corp.lan');
    assert.equal(e.fields.alpn, 'h2,http/1.1');
    assert.match(e.fields.ja4!, /^t13d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$/);
  });

  test('certificate: CN and SAN name the decky (openssl s_client and the peer certificate agree)', async () => {
    const { socket } = await tlsGet(d.ip, port);
    const cert = new X509Certificate(socket.getPeerX509Certificate()!.raw);
    assert.equal(cert.subject, 'CN=web01.corp.lan');
    assert.match(cert.subjectAltName ?? '', new RegExp(`IP Address:${d.ip.replace(/\./g, '\\.')}`));
    const child = run('openssl', ['s_client', '-connect', `${d.ip}:${port}`, '-servername', 'web01.corp.lan'], { timeout: 10_000 });
    child.child.stdin?.end('');
    const { stdout } = await child;
    assert.match(stdout, /subject=CN ?= ?web01\.corp\.lan/);
    assert.match(stdout, /Verify return code: 18 \(self[- ]signed certificate\)/);
  });

  test('plain HTTP on the TLS port gets nginx\'s 400 and is recorded', async () => {
    const c = await TextClient.open(d.ip, port);
    c.send('GET /plain HTTP/1.1\r\nHost: x\r\n\r\n');
    const status = await c.line();
    assert.equal(status, 'HTTP/1.1 400 Bad Request');
    const rest = await c.linesUntil(/<\/html>/);
    assert.ok(rest.some((l) => l.includes('The plain HTTP request was sent to HTTPS port')));
    const e = await d.waitForEvent((x) => x.event === 'request' && x.fields.path === '/plain');
    assert.equal(e.fields.status, '400');
    assert.equal(e.fields.error, 'plain HTTP on TLS port');
  });

  test('malformed hellos and refused versions are recorded; the next client is served', async () => {
    const c = await TextClient.open(d.ip, port);
    c.send(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00]));
    await c.waitClosed();
    const bad = await d.waitForEvent((x) => x.event === 'tls_hello' && x.fields.error !== undefined);
    assert.equal(bad.fields.error, 'first handshake message is not a ClientHello');

    await new Promise<void>((resolve) => {
      const s = tlsConnect({ host: d.ip, port, rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
      s.on('error', () => resolve());
      s.on('secureConnect', () => {
        s.destroy();
        resolve();
      });
    });
    const old = await d.waitForEvent((x) => x.event === 'tls_hello' && x.fields.tls_version === 'TLSv1.1');
    await d.waitForEvent((x) => x.event === 'tls_error' && x.src_port === old.src_port);

    const { body } = await tlsGet(d.ip, port);
    assert.match(body, /^HTTP\/1\.1 404 Not Found/);
  });
});
