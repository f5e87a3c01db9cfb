// postgres decoy against the real `pg` client (cleartext, md5, SCRAM-SHA-256, with and without
// TLS), psql when installed, and raw sockets for nmap's probe and for garbage.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startTestDecky, type TestDecky } from '../harness.ts';

async function tryLogin(d: TestDecky, opts: { user: string; password: string; database?: string; ssl?: boolean; app?: string }): Promise<{ code?: string; message: string; severity?: string }> {
  const client = new pg.Client({
    host: d.ip,
    port: d.port('postgres'),
    user: opts.user,
    password: opts.password,
    database: opts.database,
    application_name: opts.app,
    ssl: opts.ssl ? { rejectUnauthorized: false } : false,
    connectionTimeoutMillis: 5000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.end();
    return { message: 'connected' };
  } catch (err) {
    const e = err as { code?: string; message: string; severity?: string };
    return { code: e.code, message: e.message, severity: e.severity };
  }
}

function rawExchange(d: TestDecky, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: d.ip, port: d.port('postgres') });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.once('connect', () => s.end(data));
    s.once('error', reject);
  });
}

describe('postgres decoy (cleartext, default)', () => {
  let d: TestDecky;
  before(async () => {
    d = await startTestDecky({ services: ['postgres'] });
  });
  after(() => d.stop());

  for (const ssl of [false, true]) {
    it(`captures the cleartext password ${ssl ? 'over TLS' : 'in clear'} and fails with 28P01`, async () => {
      const user = ssl ? 'app_tls' : 'app';
      const r = await tryLogin(d, { user, password: `pa$$-${ssl}`, database: 'billing', app: 'etl-job', ssl });
      assert.equal(r.code, '28P01');
      assert.equal(r.severity, 'FATAL');
      assert.equal(r.message, `password authentication failed for user "${user}"`);
      const start = await d.waitForEvent((e) => e.event === 'startup' && e.fields.username === user);
      assert.equal(start.fields.database, 'billing');
      assert.equal(start.fields.application_name, 'etl-job');
      assert.equal(start.fields.tls, String(ssl));
      const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === user);
      assert.equal(e.fields.auth_method, 'cleartext');
      assert.equal(e.fields.secret_kind, 'plaintext');
      assert.equal(e.fields.tls, String(ssl));
      assert.equal(e.secret?.toString(), `pa$$-${ssl}`);
      if (ssl) {
        const hello = await d.waitForEvent((h) => h.event === 'tls_hello' && h.src_port === e.src_port);
        assert.equal(hello.fields.via, 'starttls');
        assert.match(hello.fields.ja4!, /^t1[23][di]\d{4}/);
      }
    });
  }

  it("answers nmap's SMB probe like PostgreSQL 15 (unsupported frontend protocol)", async () => {
    const probe = Buffer.from('\0\0\0\xa4\xff\x53\x4d\x42\x72\0\0\0\0\x08\x01\x40\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x40\x06\0\0\x01\0\0\x81\0\x02PC NETWORK PROGRAM 1.0\0\x02MICROSOFT NETWORKS 1.03\0\x02MICROSOFT NETWORKS 3.0\0\x02LANMAN1.0\0\x02LM1.2X002\0\x02Samba\0\x02NT LANMAN 1.0\0\x02NT LM 0.12\0', 'latin1');
    const reply = await rawExchange(d, probe);
    assert.match(reply.toString('latin1'), /^E\0\0\0.SFATAL\0VFATAL\0C0A000\0Munsupported frontend protocol 65363\.19778: server supports 3\.0 to 3\.0\0Fpostmaster\.c\0L2194\0RProcessStartupPacket\0\0$/s);
  });

  it('rejects bad startup lengths, garbage and truncated messages, then serves the next client', async () => {
    const bad = await rawExchange(d, Buffer.from([0, 0, 0, 2, 1, 2, 3, 4]));
    assert.match(bad.toString('latin1'), /invalid length of startup packet/);
    for (const junk of [randomBytes(100), Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0, 0, 0, 40, 0, 3, 0, 0, 0x75])]) await rawExchange(d, junk);
    const r = await tryLogin(d, { user: 'after_junk', password: 'ok' });
    assert.equal(r.code, '28P01');
    await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'after_junk');
  });

  it('is believed by psql (skipped when not installed)', async (t) => {
    const has = await new Promise<boolean>((resolve) => execFile('psql', ['--version'], (err) => resolve(!err)));
    if (!has) {
      t.skip('psql is not installed');
      return;
    }
    const stderr = await new Promise<string>((resolve) =>
      execFile('psql', ['-h', d.ip, '-p', String(d.port('postgres')), '-U', 'postgres', '-d', 'prod', '-c', 'select 1'], { timeout: 10_000, env: { ...process.env, PGPASSWORD: 'psql-Secret' } }, (_e, _o, err) => resolve(String(err))),
    );
    assert.match(stderr, /FATAL: +password authentication failed for user "postgres"/);
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.application_name === 'psql');
    assert.equal(e.secret?.toString(), 'psql-Secret');
  });
});

describe('postgres decoy (md5 and SCRAM personas)', () => {
  let md5: TestDecky;
  let scram: TestDecky;
  before(async () => {
    md5 = await startTestDecky({ services: [{ name: 'postgres', config: { auth: 'md5' } }] });
    scram = await startTestDecky({ services: [{ name: 'postgres', config: { auth: 'scram-sha-256', ssl: 'off' } }], persona: { distro: 'ubuntu22' } });
  });
  after(async () => {
    await md5.stop();
    await scram.stop();
  });

  it('records an md5 response that verifies against the password with the recorded salt', async () => {
    const r = await tryLogin(md5, { user: 'reporting', password: 'Qwerty123' });
    assert.equal(r.code, '28P01');
    const e = await md5.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'reporting');
    assert.equal(e.fields.secret_kind, 'postgres_md5_challenge');
    const salt = Buffer.from(e.fields.salt!, 'hex');
    const inner = createHash('md5').update('Qwerty123reporting').digest('hex');
    const expected = 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex');
    assert.equal(e.secret?.toString(), expected);
    assert.equal(e.fields.hashcat, `$postgres$reporting*${e.fields.salt}*${expected.slice(3)}`);
  });

  it('runs SCRAM-SHA-256 to the proof and records a transcript that verifies against the password', async () => {
    const r = await tryLogin(scram, { user: 'svc', password: 'correct horse' });
    assert.equal(r.code, '28P01');
    const e = await scram.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'svc');
    assert.equal(e.fields.secret_kind, 'scram_sha256');
    assert.equal(e.fields.password_recovered, 'false');
    const [clientFirst, serverFirst, clientFinal] = e.secret!.toString().split('\n') as [string, string, string];
    const attrs = new Map(serverFirst.split(',').map((kv) => [kv[0]!, kv.slice(2)]));
    const salted = pbkdf2Sync('correct horse', Buffer.from(attrs.get('s')!, 'base64'), Number(attrs.get('i')), 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const storedKey = createHash('sha256').update(clientKey).digest();
    const authMessage = `${clientFirst.replace(/^[^,]*,[^,]*,/, '')},${serverFirst},${clientFinal.replace(/,p=.*$/, '')}`;
    const sig = createHmac('sha256', storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!)).toString('base64');
    assert.equal(proof, e.fields.scram_proof);
    assert.equal(Number(e.fields.scram_iterations), 4096);
  });

  it('refuses SSL when the persona says ssl=off (the client then continues in clear)', async () => {
    const reply = await rawExchange(scram, Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
    assert.equal(reply.toString('latin1'), 'N');
  });
});
