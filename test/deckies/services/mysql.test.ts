// mysql decoy against real clients: mysql2 (both plugins, with and without TLS), the MariaDB/MySQL
// command-line client when installed, and raw sockets for the greeting and for garbage.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { startTestDecky, type TestDecky } from '../harness.ts';

function sha1(...parts: Buffer[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** What a client sends for mysql_native_password: SHA1(pw) XOR SHA1(salt + SHA1(SHA1(pw))). */
function nativeScramble(password: string, salt: Buffer): Buffer {
  const s1 = sha1(Buffer.from(password));
  const s2 = sha1(salt, sha1(s1));
  return Buffer.from(s1.map((b, i) => b ^ s2[i]!));
}

async function login(d: TestDecky, opts: { user: string; password: string; database?: string; ssl?: boolean }): Promise<{ errno?: number; message: string }> {
  try {
    const c = await mysql.createConnection({
      host: d.ip,
      port: d.port('mysql'),
      user: opts.user,
      password: opts.password,
      database: opts.database,
      ssl: opts.ssl ? { rejectUnauthorized: false } : undefined,
      connectTimeout: 5000,
    });
    await c.end();
    return { message: 'connected' };
  } catch (err) {
    const e = err as { errno?: number; message: string };
    return { errno: e.errno, message: e.message };
  }
}

function readGreeting(d: TestDecky): Promise<{ socket: Socket; payload: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: d.ip, port: d.port('mysql') });
    let buf = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUIntLE(0, 3)) resolve({ socket: s, payload: buf.subarray(4, 4 + buf.readUIntLE(0, 3)) });
    });
    s.once('error', reject);
  });
}

function parseGreeting(p: Buffer): { version: string; salt: Buffer; plugin: string; capabilities: number } {
  const vEnd = p.indexOf(0, 1);
  const version = p.toString('latin1', 1, vEnd);
  let at = vEnd + 1 + 4;
  const salt1 = p.subarray(at, at + 8);
  at += 9;
  const capLow = p.readUInt16LE(at);
  at += 2 + 1 + 2;
  const capHigh = p.readUInt16LE(at);
  at += 2 + 1 + 10;
  const salt2 = p.subarray(at, at + 12);
  at += 13;
  const plugin = p.toString('latin1', at, p.indexOf(0, at));
  return { version, salt: Buffer.concat([salt1, salt2]), plugin, capabilities: ((capHigh << 16) | capLow) >>> 0 };
}

describe('mysql decoy (MySQL 8 persona)', () => {
  let d: TestDecky;
  before(async () => {
    d = await startTestDecky({ services: ['mysql'], persona: { distro: 'ubuntu22' } });
  });
  after(() => d.stop());

  it('greets like MySQL 8.0 on Ubuntu: version, 20-byte salt, caching_sha2_password, TLS offered', async () => {
    const { socket, payload } = await readGreeting(d);
    socket.destroy();
    assert.equal(payload[0], 10, 'protocol v10');
    const g = parseGreeting(payload);
    assert.equal(g.version, '8.0.36-0ubuntu0.22.04.1');
    assert.equal(g.plugin, 'caching_sha2_password');
    assert.equal(g.salt.length, 20);
    assert.ok(!g.salt.includes(0), 'salt has no NUL bytes');
    assert.ok(g.capabilities & 0x800, 'CLIENT_SSL advertised');
    assert.ok(g.capabilities & 0x80000, 'CLIENT_PLUGIN_AUTH advertised');
  });

  it('recovers the plaintext password through the RSA key exchange (no TLS) and denies with 1045', async () => {
    const r = await login(d, { user: 'root', password: 'hunter2!', database: 'billing' });
    assert.equal(r.errno, 1045);
    assert.match(r.message, /^Access denied for user 'root'@'[\d.]+' \(using password: YES\)$/);
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.database === 'billing');
    assert.equal(e.fields.username, 'root');
    assert.equal(e.fields.secret_kind, 'plaintext');
    assert.equal(e.fields.auth_plugin, 'caching_sha2_password');
    assert.equal(e.fields.tls, 'false');
    assert.equal(e.fields.client_name, 'Node-MySQL-2');
    assert.equal(e.secret?.toString(), 'hunter2!');
  });

  it('recovers the plaintext password over TLS', async () => {
    const r = await login(d, { user: 'deploy', password: 'tls-Secret', ssl: true });
    assert.equal(r.errno, 1045);
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'deploy');
    assert.equal(e.fields.tls, 'true');
    const hello = await d.waitForEvent((h) => h.event === 'tls_hello' && h.src_port === e.src_port);
    assert.equal(hello.fields.via, 'starttls');
    assert.match(hello.fields.ja3!, /^[0-9a-f]{32}$/);
    assert.equal(e.secret?.toString(), 'tls-Secret');
  });

  it('reports "using password: NO" and records the attempt when no password is sent', async () => {
    const r = await login(d, { user: 'nopass', password: '' });
    assert.equal(r.errno, 1045);
    assert.match(r.message, /\(using password: NO\)/);
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'nopass');
    assert.equal(e.fields.secret_kind, 'none');
    assert.equal(e.secret, undefined);
  });

  it('answers garbage with Bad handshake and keeps serving', async () => {
    for (const junk of [randomBytes(200), Buffer.from([0xff, 0xff, 0xff, 0x01, 0x00]), Buffer.from('GET / HTTP/1.0\r\n\r\n'), Buffer.from([0x05, 0, 0, 1, 0x8d])]) {
      const { socket } = await readGreeting(d);
      socket.on('error', () => undefined);
      const replies: Buffer[] = [];
      socket.on('data', (c: Buffer) => replies.push(c));
      // Half-close after the junk: the decoy either answers and closes, or sees the end and closes.
      socket.end(junk);
      await new Promise<void>((r) => socket.once('close', () => r()));
      const all = Buffer.concat(replies);
      if (all.length > 0) assert.match(all.toString('latin1'), /Bad handshake|Access denied/);
    }
    const r = await login(d, { user: 'after_junk', password: 'x' });
    assert.equal(r.errno, 1045);
    await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'after_junk');
  });

  it('is believed by the mysql command-line client (skipped when not installed)', async (t) => {
    const has = await new Promise<boolean>((resolve) => execFile('mysql', ['--version'], (err) => resolve(!err)));
    if (!has) {
      t.skip('mysql client is not installed');
      return;
    }
    const stderr = await new Promise<string>((resolve) =>
      execFile('mysql', ['-h', d.ip, '-P', String(d.port('mysql')), '-u', 'admin', '-pCli-Pass1', '-e', 'select 1'], { timeout: 10_000 }, (_e, _o, err) => resolve(String(err))),
    );
    assert.match(stderr, /ERROR 1045 \(28000\): Access denied for user 'admin'/);
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'admin');
    assert.equal(e.secret?.toString(), 'Cli-Pass1');
  });
});

describe('mysql decoy (MariaDB persona, mysql_native_password)', () => {
  let d: TestDecky;
  before(async () => {
    d = await startTestDecky({ services: ['mysql'], persona: { distro: 'debian' } });
  });
  after(() => d.stop());

  it('greets as MariaDB and records a native scramble that verifies against the password', async () => {
    const { socket, payload } = await readGreeting(d);
    socket.destroy();
    const g = parseGreeting(payload);
    assert.match(g.version, /^5\.5\.5-10\.11\.\d+-MariaDB/);
    assert.equal(g.plugin, 'mysql_native_password');

    const r = await login(d, { user: 'wp_admin', password: 'Summer2024', database: 'wordpress' });
    assert.equal(r.errno, 1045);
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'wp_admin');
    assert.equal(e.fields.secret_kind, 'mysql_native_password');
    const salt = Buffer.from(e.fields.salt!, 'hex');
    assert.equal(salt.length, 20);
    assert.deepEqual(e.secret, nativeScramble('Summer2024', salt), 'the recorded scramble cracks with the right password');
    assert.equal(e.fields.hashcat, `$mysqlna$${salt.toString('hex')}*${e.secret!.toString('hex')}`);
  });

  it('switches a caching_sha2 client to its own plugin, as a real server does', async () => {
    const s = connect({ host: d.ip, port: d.port('mysql') });
    const packets: Buffer[] = [];
    let buf = Buffer.alloc(0);
    let waiting: (() => void) | null = null;
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUIntLE(0, 3)) {
        const len = buf.readUIntLE(0, 3);
        packets.push(buf.subarray(4, 4 + len));
        buf = buf.subarray(4 + len);
      }
      waiting?.();
    });
    const next = async (n: number): Promise<Buffer> => {
      while (packets.length < n) await new Promise<void>((r) => (waiting = r));
      return packets[n - 1]!;
    };
    const greeting = parseGreeting(await next(1));
    // HandshakeResponse41 claiming caching_sha2_password with a 32-byte scramble.
    const caps = 0x200 | 0x8000 | 0x80000 | 0x200000;
    const head = Buffer.alloc(32);
    head.writeUInt32LE(caps, 0);
    head.writeUInt32LE(1 << 24, 4);
    head[8] = 45;
    const resp = Buffer.concat([head, Buffer.from('switcher\0'), Buffer.from([32]), randomBytes(32), Buffer.from('caching_sha2_password\0')]);
    const frame = Buffer.alloc(4);
    frame.writeUIntLE(resp.length, 0, 3);
    frame[3] = 1;
    s.write(Buffer.concat([frame, resp]));
    const sw = await next(2);
    assert.equal(sw[0], 0xfe, 'AuthSwitchRequest');
    assert.equal(sw.toString('latin1', 1, sw.indexOf(0, 1)), 'mysql_native_password');
    const scramble = nativeScramble('switch-pw', greeting.salt);
    const f2 = Buffer.from([20, 0, 0, 3]);
    s.write(Buffer.concat([f2, scramble]));
    const err = await next(3);
    assert.equal(err[0], 0xff);
    assert.equal(err.readUInt16LE(1), 1045);
    s.destroy();
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'switcher');
    assert.equal(e.fields.secret_kind, 'mysql_native_password');
    assert.deepEqual(e.secret, scramble);
  });
});
