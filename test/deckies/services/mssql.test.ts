// mssql decoy against a TDS client written here (PRELOGIN, TLS tunnelled in PRELOGIN packets,
// LOGIN7 with an obfuscated password, SSPI/NTLMv2), plus FreeTDS's tsql when it is installed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';

const ENCRYPT_OFF = 0;
const ENCRYPT_ON = 1;
const ENCRYPT_NOT_SUP = 2;

function packet(type: number, payload: Buffer, id = 1): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h[1] = 1;
  h.writeUInt16BE(payload.length + 8, 2);
  h[6] = id;
  return Buffer.concat([h, payload]);
}

function prelogin(encryption: number): Buffer {
  const opts: [number, Buffer][] = [
    [0, Buffer.from([0x0f, 0x00, 0x07, 0xd0, 0, 0])],
    [1, Buffer.from([encryption])],
    [2, Buffer.from('MSSQLServer\0', 'latin1')],
    [3, Buffer.from([0, 0, 0x12, 0x34])],
    [4, Buffer.from([0])],
  ];
  const head = Buffer.alloc(opts.length * 5 + 1);
  let off = head.length;
  opts.forEach(([t, d], i) => {
    head[i * 5] = t;
    head.writeUInt16BE(off, i * 5 + 1);
    head.writeUInt16BE(d.length, i * 5 + 3);
    off += d.length;
  });
  head[head.length - 1] = 0xff;
  return packet(0x12, Buffer.concat([head, ...opts.map(([, d]) => d)]));
}

function obfuscate(password: string): Buffer {
  const b = Buffer.from(password, 'utf16le');
  for (let i = 0; i < b.length; i++) b[i] = (((b[i]! << 4) & 0xf0) | (b[i]! >> 4)) ^ 0xa5;
  return b;
}

interface LoginFields {
  hostname: string;
  username: string;
  password: string;
  appName: string;
  serverName: string;
  library: string;
  database: string;
  sspi?: Buffer;
}

function login7(f: LoginFields): Buffer {
  const fixed = Buffer.alloc(94);
  fixed.writeUInt32LE(0x74000004, 4); // TDS 7.4
  fixed.writeUInt32LE(4096, 8);
  fixed.writeUInt32LE(0x07000000, 12);
  fixed.writeUInt32LE(4242, 16);
  fixed[24] = 0xe0;
  fixed[25] = f.sspi ? 0x83 : 0x03;
  const parts: Buffer[] = [];
  let off = 94;
  const put = (at: number, data: Buffer, chars: number): void => {
    fixed.writeUInt16LE(off, at);
    fixed.writeUInt16LE(chars, at + 2);
    parts.push(data);
    off += data.length;
  };
  const text = (at: number, s: string): void => put(at, Buffer.from(s, 'utf16le'), s.length);
  text(36, f.hostname);
  text(40, f.sspi ? '' : f.username);
  put(44, f.sspi ? Buffer.alloc(0) : obfuscate(f.password), f.sspi ? 0 : f.password.length);
  text(48, f.appName);
  text(52, f.serverName);
  text(56, '');
  text(60, f.library);
  text(64, 'us_english');
  text(68, f.database);
  Buffer.from([0x00, 0x15, 0x5d, 0x01, 0x02, 0x03]).copy(fixed, 72);
  if (f.sspi) {
    fixed.writeUInt16LE(off, 78);
    fixed.writeUInt16LE(f.sspi.length, 80);
    parts.push(f.sspi);
    off += f.sspi.length;
  } else fixed.writeUInt16LE(off, 78);
  fixed.writeUInt16LE(off, 82);
  fixed.writeUInt16LE(off, 86);
  const body = Buffer.concat([fixed, ...parts]);
  body.writeUInt32LE(body.length, 0);
  return packet(0x10, body);
}

/** Reads whole TDS messages from a stream. */
class TdsReader {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  ended = false;
  constructor(stream: NodeJS.ReadableStream) {
    stream.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.waiters.splice(0).forEach((w) => w());
    });
    stream.on('end', () => {
      this.ended = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    stream.on('close', () => {
      this.ended = true;
      this.waiters.splice(0).forEach((w) => w());
    });
  }
  async message(timeoutMs = 3000): Promise<{ type: number; payload: Buffer }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buf.length >= 8) {
        const len = this.buf.readUInt16BE(2);
        if (this.buf.length >= len) {
          const type = this.buf[0]!;
          const payload = this.buf.subarray(8, len);
          this.buf = this.buf.subarray(len);
          return { type, payload };
        }
      }
      if (this.ended) throw new Error('connection closed before a full TDS message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a TDS message');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

/** Client side of TLS-in-TDS: handshake records wrapped in PRELOGIN packets, then raw records. */
class ClientTdsTransport extends Duplex {
  private readonly raw: Socket;
  private inbox = Buffer.alloc(0);
  constructor(raw: Socket) {
    super();
    this.raw = raw;
    raw.on('data', (c: Buffer) => this.feed(c));
  }
  override _read(): void {}
  override _write(chunk: Buffer, _e: BufferEncoding, done: () => void): void {
    let at = 0;
    while (at + 5 <= chunk.length) {
      const len = chunk.readUInt16BE(at + 3);
      const rec = chunk.subarray(at, at + 5 + len);
      this.raw.write(rec[0] === 0x17 ? rec : packet(0x12, rec));
      at += 5 + len;
    }
    done();
  }
  private feed(c: Buffer): void {
    this.inbox = Buffer.concat([this.inbox, c]);
    while (this.inbox.length >= 5) {
      if (this.inbox[0] === 0x12) {
        if (this.inbox.length < 8) return;
        const len = this.inbox.readUInt16BE(2);
        if (this.inbox.length < len) return;
        this.push(this.inbox.subarray(8, len));
        this.inbox = this.inbox.subarray(len);
      } else if (this.inbox[0]! >= 0x14 && this.inbox[0]! <= 0x17) {
        const len = this.inbox.readUInt16BE(3);
        if (this.inbox.length < 5 + len) return;
        this.push(this.inbox.subarray(0, 5 + len));
        this.inbox = this.inbox.subarray(5 + len);
      } else {
        // Clear TDS after a login-only TLS session: hand it to whoever reads the raw socket.
        return;
      }
    }
  }
}

function parsePreloginResponse(payload: Buffer): { version: number[]; encryption: number } {
  let at = 0;
  const out = { version: [] as number[], encryption: -1 };
  while (payload[at] !== 0xff) {
    const token = payload[at]!;
    const off = payload.readUInt16BE(at + 1);
    if (token === 0) out.version = [payload[off]!, payload[off + 1]!, payload.readUInt16BE(off + 2), payload.readUInt16BE(off + 4)];
    if (token === 1) out.encryption = payload[off]!;
    at += 5;
  }
  return out;
}

function errorToken(payload: Buffer): { number: number; message: string } {
  assert.equal(payload[0], 0xaa, 'response starts with an ERROR token');
  const number = payload.readInt32LE(3);
  const chars = payload.readUInt16LE(9);
  return { number, message: payload.subarray(11, 11 + chars * 2).toString('utf16le') };
}

function open(d: TestDecky): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: d.ip, port: d.port('mssql') }, () => resolve(s));
    s.once('error', reject);
  });
}

const FIELDS: LoginFields = {
  hostname: 'WS-ATTACKER',
  username: 'sa',
  password: 'P@ssw0rd!2019',
  appName: 'sqlmap',
  serverName: '10.0.0.5',
  library: 'ODBC',
  database: 'master',
};

describe('mssql decoy', () => {
  let d: TestDecky;
  before(async () => {
    d = await startTestDecky({ services: ['mssql'], persona: { hostname: 'SQL-PROD-01', osFamily: 'windows', distro: 'win2019', archetype: 'windows-server' } });
  });
  after(() => d.stop());

  it('answers PRELOGIN like SQL Server 2019 (nmap ms-sql-s probe layout)', async () => {
    const s = await open(d);
    const reader = new TdsReader(s);
    // The exact probe nmap sends.
    s.write(Buffer.from('\x12\x01\x00\x34\x00\x00\x00\x00\x00\x00\x15\x00\x06\x01\x00\x1b\x00\x01\x02\x00\x1c\x00\x0c\x03\x00\x28\x00\x04\xff\x08\x00\x01\x55\x00\x00\x00MSSQLServer\x00\x48\x0f\x00\x00', 'latin1'));
    const m = await reader.message();
    s.destroy();
    assert.equal(m.type, 0x04);
    const raw = Buffer.concat([Buffer.from([0x04, 0x01, 0x00, 0x25, 0x00, 0x00, 0x01, 0x00]), m.payload]);
    assert.match(raw.toString('latin1'), /^\x04\x01\x00\x25\x00\x00\x01\x00\x00\x00\x15\x00\x06\x01\x00\x1b\x00\x01\x02\x00\x1c\x00\x01\x03\x00\x1d\x00\x00\xff\x0f\x00/);
    assert.deepEqual(parsePreloginResponse(m.payload).version, [15, 0, 2000, 5]);
    const e = await d.waitForEvent((e) => e.event === 'prelogin' && e.fields.instance === 'MSSQLServer');
    assert.equal(e.fields.client_version, '8.0.341.0');
  });

  it('captures a clear SQL login (client without TLS) and answers 18456', async () => {
    const s = await open(d);
    const reader = new TdsReader(s);
    s.write(prelogin(ENCRYPT_NOT_SUP));
    const pre = parsePreloginResponse((await reader.message()).payload);
    assert.equal(pre.encryption, ENCRYPT_NOT_SUP);
    s.write(login7(FIELDS));
    const reply = await reader.message();
    const err = errorToken(reply.payload);
    assert.equal(err.number, 18456);
    assert.equal(err.message, "Login failed for user 'sa'.");
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.tls === 'false' && e.fields.app_name === 'sqlmap');
    assert.equal(e.fields.username, 'sa');
    assert.equal(e.secret?.toString('utf8'), 'P@ssw0rd!2019');
    assert.equal(e.fields.hostname, 'WS-ATTACKER');
    assert.equal(e.fields.server_name, '10.0.0.5');
    assert.equal(e.fields.library, 'ODBC');
    assert.equal(e.fields.database, 'master');
    assert.equal(e.fields.client_mac, '00:15:5d:01:02:03');
    assert.equal(e.fields.secret_kind, 'plaintext');
    s.destroy();
  });

  for (const [label, enc] of [['login-only TLS (ENCRYPT_OFF)', ENCRYPT_OFF], ['full TLS (ENCRYPT_ON)', ENCRYPT_ON]] as const) {
    it(`captures the password through ${label}`, async () => {
      const s = await open(d);
      const reader = new TdsReader(s);
      s.write(prelogin(enc));
      const first = await reader.message();
      assert.equal(parsePreloginResponse(first.payload).encryption, enc);
      s.removeAllListeners('data');
      const transport = new ClientTdsTransport(s);
      const tls: TLSSocket = tlsConnect({ socket: transport as unknown as Socket, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
      await new Promise<void>((resolve, reject) => {
        tls.once('secureConnect', () => resolve());
        tls.once('error', reject);
      });
      const cert = tls.getPeerCertificate();
      assert.equal(cert.subject.CN, 'SQL-PROD-01');
      const password = `pw-${enc}-${randomBytes(3).toString('hex')}`;
      // In login-only mode the reply comes back in clear on the raw socket.
      const replyReader = new TdsReader(enc === ENCRYPT_ON ? tls : s);
      tls.write(login7({ ...FIELDS, password, appName: 'Microsoft SQL Server Management Studio' }));
      const reply = await replyReader.message();
      assert.equal(errorToken(reply.payload).number, 18456);
      const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.secret?.toString() === password);
      assert.equal(e.fields.tls, 'true');
      assert.equal(e.fields.app_name, 'Microsoft SQL Server Management Studio');
      const hello = await d.waitForEvent((h) => h.event === 'tls_hello' && h.src_port === e.src_port);
      assert.equal(hello.fields.via, 'tds');
      assert.match(hello.fields.ja3!, /^[0-9a-f]{32}$/);
      s.destroy();
    });
  }

  it('captures a Windows (NTLM via SSPI) login as a NetNTLMv2 hash that verifies against the password', async () => {
    const s = await open(d);
    const reader = new TdsReader(s);
    s.write(prelogin(ENCRYPT_NOT_SUP));
    await reader.message();
    const negotiate = Buffer.concat([Buffer.from('NTLMSSP\0', 'latin1'), Buffer.from([1, 0, 0, 0]), Buffer.from([0x97, 0x82, 0x08, 0xe2]), Buffer.alloc(16)]);
    s.write(login7({ ...FIELDS, sspi: negotiate }));
    const m = await reader.message();
    assert.equal(m.payload[0], 0xed, 'SSPI token');
    const challengeMsg = m.payload.subarray(3, 3 + m.payload.readUInt16LE(1));
    assert.equal(challengeMsg.readUInt32LE(8), 2);
    const serverChallenge = challengeMsg.subarray(24, 32);
    const infoLen = challengeMsg.readUInt16LE(40);
    const infoOff = challengeMsg.readUInt32LE(44);
    const targetInfo = challengeMsg.subarray(infoOff, infoOff + infoLen);
    // NTLMv2 response for CORP\svc_backup / Winter2024!
    const md4 = (b: Buffer): Buffer => createHash('md4').update(b).digest();
    let ntHash: Buffer;
    try {
      ntHash = md4(Buffer.from('Winter2024!', 'utf16le'));
    } catch {
      ntHash = Buffer.alloc(16, 7); // MD4 unavailable: the hash shape is still checked below
    }
    const v2Hash = createHmac('md5', ntHash).update(Buffer.from('SVC_BACKUPCORP', 'utf16le')).digest();
    const clientChallenge = randomBytes(8);
    const blob = Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), Buffer.alloc(8), clientChallenge, Buffer.alloc(4), targetInfo, Buffer.alloc(4)]);
    const proof = createHmac('md5', v2Hash).update(Buffer.concat([serverChallenge, blob])).digest();
    const nt = Buffer.concat([proof, blob]);
    const lm = Buffer.alloc(24);
    const strings = [lm, nt, Buffer.from('CORP', 'utf16le'), Buffer.from('svc_backup', 'utf16le'), Buffer.from('WS-ATTACKER', 'utf16le'), Buffer.alloc(0)];
    const header = Buffer.alloc(64);
    Buffer.from('NTLMSSP\0', 'latin1').copy(header);
    header.writeUInt32LE(3, 8);
    let off = 64;
    [12, 20, 28, 36, 44, 52].forEach((at, i) => {
      header.writeUInt16LE(strings[i]!.length, at);
      header.writeUInt16LE(strings[i]!.length, at + 2);
      header.writeUInt32LE(off, at + 4);
      off += strings[i]!.length;
    });
    header.writeUInt32LE(0xe2888215, 60);
    s.write(packet(0x11, Buffer.concat([header, ...strings])));
    const reply = await reader.message();
    const err = errorToken(reply.payload);
    assert.equal(err.number, 18456);
    assert.equal(err.message, "Login failed for user 'CORP\\svc_backup'.");
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.auth_method === 'ntlm');
    assert.equal(e.fields.username, 'CORP\\svc_backup');
    assert.equal(e.fields.secret_kind, 'ntlmssp_v2');
    assert.equal(e.secret?.toString(), `svc_backup::CORP:${serverChallenge.toString('hex')}:${proof.toString('hex')}:${blob.toString('hex')}`);
    s.destroy();
  });

  it('parses the old TDS 4.2 login packet', async () => {
    const s = await open(d);
    const reader = new TdsReader(s);
    const rec = Buffer.alloc(200);
    const put = (at: number, v: string): void => {
      rec.write(v, at, 'latin1');
      rec[at + 30] = v.length;
    };
    put(0, 'kali');
    put(31, 'sa');
    put(62, 'letmein');
    put(124, 'hydra');
    s.write(packet(0x02, rec));
    const reply = await reader.message();
    assert.equal(errorToken(reply.payload).number, 18456);
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.tds_version === '4.2');
    assert.equal(e.fields.username, 'sa');
    assert.equal(e.secret?.toString(), 'letmein');
    s.destroy();
  });

  it('survives garbage and truncated packets, then serves the next client', async () => {
    for (const junk of [randomBytes(300), Buffer.from('12010100', 'hex'), Buffer.from('GET / HTTP/1.0\r\n\r\n'), Buffer.from([0x10, 0x01, 0x00, 0x30, 0, 0, 1, 0, 1, 2, 3])]) {
      const s = await open(d);
      s.on('error', () => undefined);
      s.end(junk);
      await new Promise<void>((resolve) => s.once('close', () => resolve()));
    }
    const s = await open(d);
    const reader = new TdsReader(s);
    s.write(prelogin(ENCRYPT_NOT_SUP));
    await reader.message();
    s.write(login7({ ...FIELDS, username: 'after_fuzz', password: 'still-works' }));
    assert.equal(errorToken((await reader.message()).payload).number, 18456);
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'after_fuzz');
    assert.equal(e.secret?.toString(), 'still-works');
    s.destroy();
  });

  it("is believed by FreeTDS's tsql (skipped when tsql is not installed)", async (t) => {
    const tsql = await new Promise<boolean>((resolve) => execFile('tsql', ['-C'], (err) => resolve(!err)));
    if (!tsql) {
      t.skip('tsql (freetds-bin) is not installed');
      return;
    }
    const out = await new Promise<string>((resolve) => {
      const child = execFile('tsql', ['-H', d.ip, '-p', String(d.port('mssql')), '-U', 'sa', '-P', 'tsql-Secret1'], { timeout: 10_000, env: { ...process.env, TDSVER: '7.4' } }, (_err, stdout, stderr) => resolve(stdout + stderr));
      child.stdin?.end('quit\n');
    });
    assert.match(out, /Login failed for user 'sa'/);
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.secret?.toString() === 'tsql-Secret1');
    assert.equal(e.fields.username, 'sa');
  });
});
