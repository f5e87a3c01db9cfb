// System information commands, all derived from the machine profile so they agree with /proc,
// the prompt and the SSH banner: uname, id, w, ps, ifconfig, ip, free, df, uptime, sudo, su …
import { memoryFigures, processTable, procVersion, uptimeText } from '../proc.ts';
import { readContent } from '../vfs.ts';
import type { CommandContext, CommandFn } from '../types.ts';
import { human, parseFlags } from './fs.ts';
import { runInline } from './builtins.ts';
import { BUSYBOX_BUILD } from '../distro-facts.ts';

function uname(c: CommandContext): number {
  const p = c.sh.profile;
  const { flags, long } = parseFlags(c.args);
  if (long.includes('--version')) { c.out('uname (GNU coreutils) 9.1\n'); return 0; }
  const bad = [...flags].find((f) => !'asnrvmpio'.includes(f));
  if (bad) {
    c.err(`uname: invalid option -- '${bad}'\nTry 'uname --help' for more information.\n`);
    return 1;
  }
  const all = flags.has('a') || long.includes('--all');
  const parts: string[] = [];
  if (all || flags.has('s') || flags.size === 0) parts.push('Linux');
  if (all || flags.has('n')) parts.push(p.shortHostname);
  if (all || flags.has('r')) parts.push(p.facts.kernelRelease);
  if (all || flags.has('v')) parts.push(p.facts.kernelVersion);
  if (all || flags.has('m')) parts.push(p.machine);
  if (!all && flags.has('p')) parts.push(p.machine.startsWith('arm') ? 'unknown' : 'x86_64');
  if (!all && flags.has('i')) parts.push(p.machine.startsWith('arm') ? 'unknown' : 'x86_64');
  if (all || flags.has('o')) parts.push('GNU/Linux');
  c.out(parts.join(' ') + '\n');
  return 0;
}

function groupsOf(c: CommandContext, name: string, uid: number): string[] {
  if (uid === 0) return ['root'];
  const admin = c.sh.profile.extras.adminGroup;
  return c.sh.profile.extras.family === 'debian' ? [name, 'adm', 'cdrom', admin, 'dip', 'plugdev'] : [name, admin];
}

function id(c: CommandContext): number {
  const { flags, operands } = parseFlags(c.args);
  const who = operands[0];
  const u = who ? c.sh.findUser(who) : c.sh.user;
  if (!u) { c.err(`id: '${who}': no such user\n`); return 1; }
  const groups = groupsOf(c, u.name, u.uid);
  const gid = (g: string): number => (g === u.name ? u.gid : { adm: 4, cdrom: 24, sudo: 27, dip: 30, plugdev: 46, wheel: 10, root: 0 }[g] ?? 100);
  const names = flags.has('n');
  if (flags.has('u')) c.out(names ? `${u.name}\n` : `${u.uid}\n`);
  else if (flags.has('g')) c.out(names ? `${u.uid === 0 ? 'root' : u.name}\n` : `${u.gid}\n`);
  else if (flags.has('G')) c.out(names ? groups.join(' ') + '\n' : groups.map(gid).join(' ') + '\n');
  else c.out(`uid=${u.uid}(${u.name}) gid=${u.gid}(${u.uid === 0 ? 'root' : u.name}) groups=${groups.map((g) => `${gid(g)}(${g})`).join(',')}\n`);
  return 0;
}

function loginClock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

function w(c: CommandContext): number {
  const sh = c.sh;
  const tty = sh.host.tty === '?' ? 'pts/0' : sh.host.tty;
  const header = uptimeText(sh.profile, 1);
  if (c.name === 'uptime') {
    if (c.args.includes('-p')) {
      const mins = Math.floor((Date.now() - sh.profile.bootTime) / 60_000);
      const d = Math.floor(mins / 1440);
      const h = Math.floor((mins % 1440) / 60);
      c.out(`up ${d} days, ${h} hours, ${mins % 60} minutes\n`);
    } else if (c.args.includes('-s')) c.out(new Date(sh.profile.bootTime).toISOString().replace('T', ' ').slice(0, 19) + '\n');
    else c.out(header + '\n');
    return 0;
  }
  if (c.name === 'who') {
    if (c.args.includes('-b')) { c.out(`         system boot  ${new Date(sh.profile.bootTime).toISOString().replace('T', ' ').slice(0, 16)}\n`); return 0; }
    c.out(`${sh.loginUser.name.padEnd(8)} ${tty.padEnd(12)} ${new Date(sh.host.loginTime).toISOString().replace('T', ' ').slice(0, 16)} (${sh.host.clientIp})\n`);
    return 0;
  }
  c.out(`${header}\nUSER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT\n` +
    `${sh.loginUser.name.padEnd(8)} ${tty.padEnd(8)} ${sh.host.clientIp.padEnd(16)} ${loginClock(sh.host.loginTime)}    0.00s  0.02s  0.00s w\n`);
  return 0;
}

function last(c: CommandContext): number {
  const sh = c.sh;
  const boot = new Date(sh.profile.bootTime);
  const fmt = (d: Date): string => d.toUTCString().slice(0, 3) + ' ' + d.toUTCString().slice(8, 11) + ' ' + String(d.getUTCDate()).padStart(2) + ' ' + loginClock(d.getTime());
  c.out(`${sh.loginUser.name.padEnd(8)} pts/0        ${sh.host.clientIp.padEnd(16)} ${fmt(new Date(sh.host.loginTime))}   still logged in\n` +
    `reboot   system boot  ${sh.profile.facts.kernelRelease.padEnd(16)} ${fmt(boot)}   still running\n\nwtmp begins ${fmt(boot)} ${boot.getUTCFullYear()}\n`);
  return 0;
}

function ps(c: CommandContext): number {
  const sh = c.sh;
  const tty = sh.host.tty === '?' ? '?' : sh.host.tty;
  const rows = processTable(sh.profile, sh.loginUser.name, sh.pid, tty);
  const args = c.args.join(' ').slice(0, 256);
  const full = /(^|\s)-?[a-zA-Z]*[aAex]/.test(args) || args.includes('-ef') || args.includes('aux');
  const bsd = /(^|\s)[a-z]*u/.test(args) && !args.startsWith('-');
  const ownRows = [
    ...(full ? rows : rows.filter((r) => r.tty === tty && tty !== '?')),
    { pid: sh.pid + 37, user: sh.user.name, cmd: `ps ${c.args.join(' ')}`.trim(), rssKb: 3_900, vszKb: 11_200, tty, stat: 'R+', start: loginClock(Date.now()), kernel: false },
  ];
  const cmdOf = (r: (typeof ownRows)[number]): string => (r.kernel ? `[${r.cmd}]` : r.cmd);
  if (sh.isBusybox) {
    c.out('PID   USER     TIME  COMMAND\n' + ownRows.map((r) => `${String(r.pid).padStart(5)} ${r.user.padEnd(8)}  0:00 ${cmdOf(r)}`).join('\n') + '\n');
    return 0;
  }
  if (bsd) {
    c.out('USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n' +
      ownRows.map((r) => `${r.user.padEnd(8)} ${String(r.pid).padStart(7)}  0.0  ${((r.rssKb / sh.profile.memKb) * 100).toFixed(1)} ${String(r.vszKb).padStart(6)} ${String(r.rssKb).padStart(5)} ${r.tty.padEnd(8)} ${r.stat.padEnd(4)} ${r.start.padStart(5)}   0:00 ${cmdOf(r)}`).join('\n') + '\n');
    return 0;
  }
  if (full || args.includes('-f')) {
    c.out('UID          PID    PPID  C STIME TTY          TIME CMD\n' +
      ownRows.map((r) => `${r.user.padEnd(8)} ${String(r.pid).padStart(7)} ${String(r.pid === 1 || r.pid === 2 ? 0 : r.kernel ? 2 : 1).padStart(7)}  0 ${r.start.padStart(5)} ${r.tty.padEnd(8)} 00:00:00 ${cmdOf(r)}`).join('\n') + '\n');
    return 0;
  }
  const mine = ownRows.filter((r) => r.tty === tty);
  c.out('    PID TTY          TIME CMD\n' + mine.map((r) => `${String(r.pid).padStart(7)} ${r.tty.padEnd(8)} 00:00:00 ${r.cmd.split(' ')[0]!.replace(/^-/, '').split('/').pop()}`).join('\n') + '\n');
  return 0;
}

function top(c: CommandContext): number {
  const sh = c.sh;
  const m = memoryFigures(sh.profile);
  const mib = (kb: number): string => (kb / 1024).toFixed(1).padStart(8);
  const rows = processTable(sh.profile, sh.loginUser.name, sh.pid, sh.host.tty).filter((r) => !r.kernel).slice(0, 12);
  c.out(`top - ${uptimeText(sh.profile, 1).trim()}\nTasks: ${90 + sh.profile.cores * 4} total,   1 running, ${89 + sh.profile.cores * 4} sleeping,   0 stopped,   0 zombie\n` +
    `%Cpu(s):  0.3 us,  0.2 sy,  0.0 ni, 99.5 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st\n` +
    `MiB Mem : ${mib(m.total)} total, ${mib(m.free)} free, ${mib(m.used)} used, ${mib(m.buffers + m.cached)} buff/cache\n` +
    `MiB Swap:      0.0 total,      0.0 free,      0.0 used. ${mib(m.available)} avail Mem\n\n` +
    '    PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND\n' +
    rows.map((r) => `${String(r.pid).padStart(7)} ${r.user.padEnd(9)} 20   0 ${String(r.vszKb).padStart(7)} ${String(r.rssKb).padStart(6)} ${String(Math.floor(r.rssKb * 0.6)).padStart(6)} S   0.0 ${((r.rssKb / m.total) * 100).toFixed(1).padStart(5)}   0:00.${String(r.pid % 100).padStart(2, '0')} ${r.cmd.split(' ')[0]!.split('/').pop()}`).join('\n') + '\n');
  return 0;
}

function free(c: CommandContext): number {
  const m = memoryFigures(c.sh.profile);
  const { flags, long } = parseFlags(c.args);
  const h = flags.has('h') || long.includes('--human');
  const unit = (kb: number): string => (h ? human(kb * 1024).replace(/([KMGT])$/, '$1i') : flags.has('m') ? String(Math.floor(kb / 1024)) : flags.has('g') ? String(Math.floor(kb / 1048576)) : String(kb));
  const col = (v: number): string => unit(v).padStart(h ? 11 : 12);
  if (c.sh.isBusybox) {
    c.out('              total        used        free      shared  buff/cache   available\n' +
      `Mem:   ${col(m.total)}${col(m.used)}${col(m.free)}${col(1120)}${col(m.buffers + m.cached)}${col(m.available)}\nSwap:  ${col(0)}${col(0)}${col(0)}\n`);
    return 0;
  }
  c.out(`               total        used        free      shared  buff/cache   available\n` +
    `Mem:    ${col(m.total)}${col(m.used)}${col(m.free)}${col(1120)}${col(m.buffers + m.cached)}${col(m.available)}\n` +
    `Swap:   ${col(0)}${col(0)}${col(0)}\n`);
  return 0;
}

function df(c: CommandContext): number {
  const p = c.sh.profile;
  const h = c.args.some((a) => /^-[a-zA-Z]*h/.test(a));
  const total = p.diskGb * 1024 * 1024;
  const used = Math.floor(total * 0.23);
  const tmp = Math.floor(p.memKb / 10);
  const rows: [string, number, number, string][] = [
    ['udev', Math.floor(p.memKb / 2), 0, '/dev'],
    ['tmpfs', tmp, 1_100, '/run'],
    [p.embedded ? '/dev/root' : '/dev/sda1', total, used, '/'],
    ['tmpfs', Math.floor(p.memKb / 2), 0, '/dev/shm'],
    ['tmpfs', 5_120, 0, '/run/lock'],
  ];
  const v = (kb: number): string => (h ? human(kb * 1024) : String(kb));
  c.out(`Filesystem     ${h ? ' Size  Used Avail' : '1K-blocks    Used Available'} Use% Mounted on\n` +
    rows.map(([fs, size, u, mnt]) => `${fs.padEnd(14)} ${v(size).padStart(h ? 5 : 9)} ${v(u).padStart(h ? 5 : 7)} ${v(size - u).padStart(h ? 5 : 9)} ${String(Math.ceil((u / size) * 100)).padStart(3)}% ${mnt}`).join('\n') + '\n');
  return 0;
}

function ifconfig(c: CommandContext): number {
  const p = c.sh.profile;
  const mask = p.prefix === 24 ? '255.255.255.0' : '255.255.0.0';
  const bcast = p.ip.split('.').slice(0, 3).join('.') + '.255';
  c.out(`${p.iface}: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n        inet ${p.ip}  netmask ${mask}  broadcast ${bcast}\n` +
    `        ether ${p.mac}  txqueuelen 1000  (Ethernet)\n        RX packets 4829713  bytes 1923845120 (1.7 GiB)\n        RX errors 0  dropped 12  overruns 0  frame 0\n` +
    '        TX packets 3012288  bytes 498213904 (475.1 MiB)\n        TX errors 0  dropped 0 overruns 0  carrier 0  collisions 0\n\n' +
    'lo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536\n        inet 127.0.0.1  netmask 255.0.0.0\n        inet6 ::1  prefixlen 128  scopeid 0x10<host>\n' +
    '        loop  txqueuelen 1000  (Local Loopback)\n        RX packets 8812  bytes 722184 (705.2 KiB)\n        RX errors 0  dropped 0  overruns 0  frame 0\n' +
    '        TX packets 8812  bytes 722184 (705.2 KiB)\n        TX errors 0  dropped 0 overruns 0  carrier 0  collisions 0\n\n');
  return 0;
}

function ip(c: CommandContext): number {
  const p = c.sh.profile;
  const sub = (c.args.find((a) => !a.startsWith('-')) ?? '').toLowerCase();
  const bcast = p.ip.split('.').slice(0, 3).join('.') + '.255';
  if (sub === '' || sub === 'help') {
    c.err('Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n       ip [ -force ] -batch filename\nwhere  OBJECT := { address | link | route | neigh | rule | ... }\n');
    return 255;
  }
  if ('address'.startsWith(sub)) {
    c.out(`1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n` +
      `2: ${p.iface}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n    link/ether ${p.mac} brd ff:ff:ff:ff:ff:ff\n` +
      `    inet ${p.ip}/${p.prefix} brd ${bcast} scope global ${p.iface}\n       valid_lft forever preferred_lft forever\n`);
  } else if ('link'.startsWith(sub)) {
    c.out(`1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n` +
      `2: ${p.iface}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\n    link/ether ${p.mac} brd ff:ff:ff:ff:ff:ff\n`);
  } else if ('route'.startsWith(sub)) {
    const net = p.ip.split('.').slice(0, 3).join('.') + '.0';
    c.out(`default via ${p.gateway} dev ${p.iface} proto static\n${net}/${p.prefix} dev ${p.iface} proto kernel scope link src ${p.ip}\n`);
  } else if ('neighbour'.startsWith(sub)) {
    c.out(`${p.gateway} dev ${p.iface} lladdr 52:54:00:12:35:02 REACHABLE\n`);
  } else {
    c.err(`Object "${sub}" is unknown, try "ip help".\n`);
    return 255;
  }
  return 0;
}

function netstat(c: CommandContext): number {
  const p = c.sh.profile;
  const port = c.sh.host.serverPort;
  const peer = `${c.sh.host.clientIp}:${c.sh.host.clientPort}`;
  if (c.name === 'ss') {
    c.out('Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n' +
      `tcp   LISTEN 0      128          0.0.0.0:${port}       0.0.0.0:*\n` +
      `tcp   ESTAB  0      0        ${p.ip}:${port} ${peer}\n` +
      `tcp   LISTEN 0      128             [::]:${port}          [::]:*\n`);
    return 0;
  }
  c.out('Active Internet connections (servers and established)\nProto Recv-Q Send-Q Local Address           Foreign Address         State\n' +
    `tcp        0      0 0.0.0.0:${port}${' '.repeat(Math.max(1, 16 - String(port).length))}0.0.0.0:*               LISTEN\n` +
    `tcp        0     36 ${`${p.ip}:${port}`.padEnd(23)} ${peer.padEnd(23)} ESTABLISHED\n` +
    `tcp6       0      0 :::${port}${' '.repeat(Math.max(1, 20 - String(port).length))}:::*                    LISTEN\n`);
  return 0;
}

function hostname(c: CommandContext): number {
  const p = c.sh.profile;
  if (c.args.length && !c.args[0]!.startsWith('-')) {
    if (c.sh.user.uid !== 0) { c.err('hostname: you must be root to change the host name\n'); return 1; }
    return 0;
  }
  if (c.args.includes('-I') || c.args.includes('-i')) c.out(p.ip + (c.args.includes('-I') ? ' \n' : '\n'));
  else if (c.args.includes('-f')) c.out(p.hostname + '\n');
  else c.out((c.args.includes('-s') ? p.shortHostname : p.hostname) + '\n');
  return 0;
}

function nproc(c: CommandContext): number {
  c.out(c.sh.profile.cores + '\n');
  return 0;
}

function lscpu(c: CommandContext): number {
  const p = c.sh.profile;
  const arm = p.machine.startsWith('arm');
  c.out(`Architecture:            ${p.machine}\n${arm ? '' : '  CPU op-mode(s):        32-bit, 64-bit\n  Address sizes:         40 bits physical, 48 bits virtual\n'}  Byte Order:            Little Endian\n` +
    `CPU(s):                  ${p.cores}\n  On-line CPU(s) list:   0${p.cores > 1 ? `-${p.cores - 1}` : ''}\nVendor ID:               ${arm ? 'ARM' : p.cpuModel.startsWith('AMD') ? 'AuthenticAMD' : 'GenuineIntel'}\n` +
    `  Model name:            ${p.cpuModel}\n    Thread(s) per core:  1\n    Core(s) per socket:  ${p.cores}\n    Socket(s):           1\n` +
    (arm ? '' : `Virtualization features:\n  Hypervisor vendor:     KVM\n  Virtualization type:   full\n`));
  return 0;
}

function date(c: CommandContext): number {
  const now = new Date();
  const fmt = c.args.find((a) => a.startsWith('+'));
  if (fmt) {
    const pad = (n: number, l = 2): string => String(n).padStart(l, '0');
    const map: Record<string, string> = {
      Y: String(now.getUTCFullYear()), m: pad(now.getUTCMonth() + 1), d: pad(now.getUTCDate()), H: pad(now.getUTCHours()),
      M: pad(now.getUTCMinutes()), S: pad(now.getUTCSeconds()), s: String(Math.floor(now.getTime() / 1000)), Z: 'UTC', z: '+0000',
      y: pad(now.getUTCFullYear() % 100), j: pad(Math.floor((now.getTime() - Date.UTC(now.getUTCFullYear(), 0, 0)) / 86_400_000), 3), N: pad(now.getUTCMilliseconds() * 1_000_000, 9),
      F: now.toISOString().slice(0, 10), T: now.toISOString().slice(11, 19), '%': '%', n: '\n', t: '\t',
    };
    c.out(fmt.slice(1).replace(/%([A-Za-z%])/g, (m, k: string) => map[k] ?? m) + '\n');
    return 0;
  }
  const s = now.toUTCString();
  c.out(`${s.slice(0, 3)} ${s.slice(8, 11)} ${String(now.getUTCDate()).padStart(2)} ${s.slice(17, 25)} UTC ${now.getUTCFullYear()}\n`);
  return 0;
}

function envCmd(c: CommandContext): number | Promise<number> {
  const rest = c.args.filter((a) => !a.includes('=') && a !== '-i' && a !== '-');
  if (rest.length && c.name === 'env') return c.sh.invoke(rest, c.stdin, { write: c.out }, { write: c.err });
  if (c.name === 'printenv' && c.args.length) {
    let status = 1;
    for (const a of c.args) { const v = c.sh.env.get(a); if (v !== undefined) { c.out(v + '\n'); status = 0; } }
    return status;
  }
  c.out([...c.sh.env.entries()].map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  return 0;
}

async function sleep(c: CommandContext): Promise<number> {
  const secs = c.args.map((a) => parseFloat(a)).filter((n) => Number.isFinite(n) && n >= 0).reduce((a, b) => a + b, 0);
  if (c.args.length === 0) { c.err("sleep: missing operand\nTry 'sleep --help' for more information.\n"); return 1; }
  await c.sh.sleep(secs * 1000);
  return 0;
}

/** Asks for a password on the terminal; returns it, or undefined (printing sudo's error) without one. */
async function askPassword(c: CommandContext, prompt: string): Promise<string | null> {
  if (!c.sh.host.readSecret) return null;
  return c.sh.host.readSecret(prompt);
}

async function sudo(c: CommandContext): Promise<number> {
  const sh = c.sh;
  const args = [...c.args];
  let stdinPassword = false;
  while (args[0]?.startsWith('-')) {
    const opt = args.shift()!;
    if (opt.includes('S')) stdinPassword = true;
    if (opt === '-u' || opt === '-g') args.shift();
    if (opt === '-V') { c.out('Sudo version 1.9.13p3\nSudoers policy plugin version 1.9.13p3\n'); return 0; }
    if (opt === '-l') args.push('__list__');
  }
  if (sh.user.uid !== 0) {
    let password: string | null;
    if (stdinPassword) password = c.stdin.split('\n')[0] ?? '';
    else password = await askPassword(c, `[sudo] password for ${sh.user.name}: `);
    if (password === null) {
      c.err('sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required\n');
      return 1;
    }
    const ok = sh.host.checkPassword(sh.user.name, password);
    sh.record('auth_attempt', { username: sh.user.name, auth_method: 'sudo', success: ok }, password);
    if (!ok) {
      c.err('Sorry, try again.\n');
      return 1;
    }
  }
  if (args[0] === '__list__') {
    c.out(`User ${sh.user.name} may run the following commands on ${sh.profile.shortHostname}:\n    (ALL : ALL) ALL\n`);
    return 0;
  }
  if (args.length === 0) {
    c.err('usage: sudo -h | -K | -k | -V\nusage: sudo [-AbEHknPS] [-C num] [-D directory] [-g group] [-h host] [-p prompt] [-R directory] [-T timeout] [-u user] [VAR=value] [-i | -s] [command [arg ...]]\n');
    return 1;
  }
  const root = sh.findUser('root')!;
  const prev = sh.become(root, false);
  try {
    return await sh.invoke(args, c.stdin, { write: c.out }, { write: c.err });
  } finally {
    if (sh.user === root) sh.become(prev, false);
  }
}

async function su(c: CommandContext): Promise<number> {
  const sh = c.sh;
  const login = c.args.includes('-') || c.args.includes('-l') || c.args.includes('--login');
  const cIndex = c.args.indexOf('-c');
  const inline = cIndex !== -1 ? c.args[cIndex + 1] : undefined;
  const name = c.args.filter((a, i) => !a.startsWith('-') && (cIndex === -1 || i !== cIndex + 1))[0] ?? 'root';
  const target = sh.findUser(name);
  if (!target) { c.err(`su: user ${name} does not exist or the user entry does not contain all the required fields\n`); return 1; }
  if (sh.user.uid !== 0) {
    const password = await askPassword(c, 'Password: ');
    if (password === null) { c.err('su: must be run from a terminal\n'); return 1; }
    const ok = sh.host.checkPassword(target.name, password);
    sh.record('auth_attempt', { username: target.name, auth_method: 'su', success: ok }, password);
    if (!ok) {
      await sh.sleep(2000);
      c.err('su: Authentication failure\n');
      return 1;
    }
  }
  if (inline !== undefined) {
    const prev = sh.become(target, false);
    try {
      return await runInline(c, inline);
    } finally {
      sh.become(prev, false);
    }
  }
  sh.become(target, login);
  return 0;
}

async function passwd(c: CommandContext): Promise<number> {
  const sh = c.sh;
  const name = c.args.find((a) => !a.startsWith('-')) ?? sh.user.name;
  if (name !== sh.user.name && sh.user.uid !== 0) { c.err('passwd: You may not view or modify password information for ' + name + '.\n'); return 1; }
  const first = await askPassword(c, 'New password: ');
  if (first === null) { c.err('passwd: Authentication token manipulation error\npasswd: password unchanged\n'); return 10; }
  const second = await askPassword(c, 'Retype new password: ');
  sh.record('password_change', { username: name, tool: 'passwd', matched: first === second }, first);
  if (first !== second) { c.err('Sorry, passwords do not match.\npasswd: Authentication token manipulation error\npasswd: password unchanged\n'); return 10; }
  c.out('passwd: password updated successfully\n');
  return 0;
}

function chpasswd(c: CommandContext): number {
  const sh = c.sh;
  if (sh.user.uid !== 0) { c.err('chpasswd: Permission denied.\n'); return 1; }
  for (const line of c.stdin.split('\n').filter(Boolean).slice(0, 50)) {
    const name = line.split(':')[0] ?? '';
    sh.record('password_change', { username: name.slice(0, 64), tool: 'chpasswd' }, line.slice(name.length + 1));
    if (!sh.findUser(name)) { c.err(`chpasswd: (user ${name}) pam_chauthtok() failed, error:\nAuthentication token manipulation error\nchpasswd: (line 1, user ${name}) password not changed\n`); return 1; }
  }
  return 0;
}

function crontab(c: CommandContext): number {
  const sh = c.sh;
  const user = sh.user.name;
  const path = `/var/spool/cron/crontabs/${user}`;
  if (c.args.includes('-l')) {
    const node = sh.safeLookup(path);
    if (node?.kind === 'file') { c.out(readContent(node)); return 0; }
    c.err(`no crontab for ${user}\n`);
    return 1;
  }
  if (c.args.includes('-r')) {
    try { sh.vfs.remove(path, { uid: 0, gid: 0 }); } catch { c.err(`no crontab for ${user}\n`); return 1; }
    return 0;
  }
  const file = c.args.find((a) => !a.startsWith('-'));
  const content = file === undefined || file === '-' ? c.stdin : (() => { const n = sh.safeLookup(sh.resolve(file)); return n?.kind === 'file' ? readContent(n) : undefined; })();
  if (content === undefined) { c.err(`${file}: No such file or directory\n`); return 1; }
  if (c.args.includes('-e')) { c.err('no crontab for ' + user + ' - using an empty one\ncrontab: installing new crontab\n'); return 0; }
  try {
    sh.vfs.mkdir('/var/spool/cron/crontabs', { uid: 0, gid: 0 }, true);
    sh.vfs.writeFile(path, content, { uid: 0, gid: 0 });
  } catch (e) {
    c.err(`crontab: ${sh.fsMessage(e)}\n`);
    return 1;
  }
  sh.record('persistence', { kind: 'crontab', user, content: content.slice(0, 1024) });
  return 0;
}

function systemctl(c: CommandContext): number {
  const sh = c.sh;
  const verb = c.args.find((a) => !a.startsWith('-')) ?? 'list-units';
  const unit = c.args.filter((a) => !a.startsWith('-'))[1];
  if (['start', 'stop', 'restart', 'enable', 'disable', 'daemon-reload', 'mask', 'reload'].includes(verb)) {
    if (sh.user.uid !== 0) { c.err(`Failed to ${verb} ${unit ?? ''}: Access denied\nSee system logs and 'systemctl status ${unit ?? ''}' for details.\n`); return 1; }
    if (unit && !/^(ssh|sshd|cron|crond|rsyslog|systemd-\w+)(\.service)?$/.test(unit) && verb !== 'daemon-reload') {
      c.err(`Failed to ${verb} ${unit}: Unit ${unit.includes('.') ? unit : unit + '.service'} not found.\n`);
      return 5;
    }
    return 0;
  }
  if (verb === 'status') {
    const u = (unit ?? 'ssh').replace(/\.service$/, '');
    if (!/^(ssh|sshd|cron|crond|rsyslog)$/.test(u)) { c.err(`Unit ${u}.service could not be found.\n`); return 4; }
    c.out(`● ${u}.service - ${u.startsWith('ssh') ? 'OpenBSD Secure Shell server' : 'Regular background program processing daemon'}\n     Loaded: loaded (/lib/systemd/system/${u}.service; enabled; preset: enabled)\n` +
      `     Active: active (running) since ${new Date(sh.profile.bootTime).toUTCString()}\n   Main PID: ${u.startsWith('ssh') ? 561 : 418} (${u.startsWith('ssh') ? 'sshd' : 'cron'})\n`);
    return 0;
  }
  c.out('  UNIT                      LOAD   ACTIVE SUB     DESCRIPTION\n  cron.service              loaded active running Regular background program processing daemon\n' +
    '  rsyslog.service           loaded active running System Logging Service\n  ssh.service               loaded active running OpenBSD Secure Shell server\n' +
    '  systemd-journald.service  loaded active running Journal Service\n  systemd-logind.service    loaded active running User Login Management\n');
  return 0;
}

function rootOnly(message: string): CommandFn {
  return (c) => {
    if (c.sh.user.uid !== 0) { c.err(message.replace('%s', c.name) + '\n'); return 1; }
    return 0;
  };
}

function useradd(c: CommandContext): number {
  const sh = c.sh;
  if (sh.user.uid !== 0) { c.err(`${c.name}: Permission denied.\n${c.name}: cannot lock /etc/passwd; try again later.\n`); return 1; }
  const name = c.args.filter((a, i) => !a.startsWith('-') && !/^-[dgGsupcmk]$/.test(c.args[i - 1] ?? ''))[0];
  if (!name) { c.err(`Usage: ${c.name} [options] LOGIN\n`); return 2; }
  sh.record('persistence', { kind: 'account', user: name.slice(0, 64), tool: c.name });
  if (c.name === 'adduser') c.out(`Adding user \`${name}' ...\nAdding new group \`${name}' (1001) ...\nAdding new user \`${name}' (1001) with group \`${name}' ...\nCreating home directory \`/home/${name}' ...\n`);
  return 0;
}

async function reboot(c: CommandContext): Promise<number> {
  if (c.sh.user.uid !== 0) {
    c.err(`Failed to ${c.name === 'reboot' ? 'set wall message' : 'talk to init daemon'}, ignoring: Interactive authentication required.\nCall to ${c.name === 'halt' ? 'Halt' : c.name === 'reboot' ? 'Reboot' : 'PowerOff'} failed: Interactive authentication required.\n`);
    return 1;
  }
  c.out(`\nBroadcast message from root@${c.sh.profile.shortHostname} on pts/0 (${new Date().toUTCString()}):\n\nThe system will ${c.name === 'reboot' ? 'reboot' : 'power off'} now!\n\n`);
  return c.sh.exit(0);
}

async function busybox(c: CommandContext): Promise<number> {
  const sh = c.sh;
  const applet = c.args[0];
  if (!sh.isBusybox) {
    c.err(`${sh.errPrefix()}busybox: command not found\n`);
    return 127;
  }
  if (!applet) {
    c.out(`${BUSYBOX_BUILD} multi-call binary.\nBusyBox is copyrighted by many authors between 1998-2015.\nLicensed under GPLv2. See source distribution for detailed\ncopyright notices.\n\nUsage: busybox [function [arguments]...]\n   or: busybox --list[-full]\n`);
    return 0;
  }
  if (applet === '--list') { c.out([...sh.commands.keys()].filter((k) => /^[a-z]/.test(k)).sort().join('\n') + '\n'); return 0; }
  if (!sh.commands.has(applet)) {
    c.err(`${applet}: applet not found\n`);
    return 127;
  }
  return sh.invoke(c.args, c.stdin, { write: c.out }, { write: c.err });
}

async function shCmd(c: CommandContext): Promise<number> {
  const sh = c.sh;
  const ci = c.args.indexOf('-c');
  if (ci !== -1) return runInline(c, c.args[ci + 1] ?? '');
  const script = c.args.find((a) => !a.startsWith('-'));
  if (script) {
    const node = sh.safeLookup(sh.resolve(script));
    // Each shell words a missing script its own way: BusyBox ash, dash (Debian's sh), bash.
    const dash = c.name === 'dash' || (c.name === 'sh' && sh.profile.extras.family === 'debian');
    if (!node) {
      c.err(sh.isBusybox ? `${c.name}: can't open '${script}': No such file or directory\n` : dash ? `${c.name}: 0: cannot open ${script}: No such file\n` : `${c.name}: ${script}: No such file or directory\n`);
      return sh.isBusybox || dash ? 2 : 127;
    }
    if (node.kind !== 'file') { c.err(`${c.name}: ${script}: Is a directory\n`); return 126; }
    const text = readContent(node);
    if (text.startsWith('\x7fELF')) { c.err(`${c.name}: ${script}: cannot execute binary file\n`); return 126; }
    return runInline(c, text.replace(/^#![^\n]*\n/, ''));
  }
  if (c.stdin) return runInline(c, c.stdin);
  return 0;
}

async function wrapper(c: CommandContext): Promise<number> {
  // nohup, timeout, nice, setsid, stdbuf, watch: run the rest of the command line.
  const args = [...c.args];
  if (c.name === 'timeout') { while (args[0]?.startsWith('-')) args.shift(); args.shift(); }
  else if (c.name === 'nice' || c.name === 'watch' || c.name === 'stdbuf') { while (args[0]?.startsWith('-')) { const o = args.shift()!; if (/^-[ninoe]$/.test(o)) args.shift(); } }
  if (args.length === 0) { c.err(`${c.name}: missing operand\n`); return 125; }
  if (c.name === 'nohup' && c.tty) c.err('nohup: ignoring input and appending output to \'nohup.out\'\n');
  return c.sh.invoke(args, c.stdin, { write: c.out }, { write: c.err });
}

function packageManager(c: CommandContext): number {
  const sh = c.sh;
  const verb = c.args.find((a) => !a.startsWith('-')) ?? '';
  const pkgs = c.args.filter((a) => !a.startsWith('-')).slice(1);
  if (['install', 'update', 'upgrade', 'add', 'remove', '-S', '-Syu'].includes(verb) || c.args.includes('-S') || c.args.includes('-Syu')) {
    sh.record('package_install', { tool: c.name, packages: pkgs.join(' ').slice(0, 512) });
    if (sh.user.uid !== 0) {
      c.err(c.name.startsWith('apt') ? 'E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?\n' : 'Error: This command has to be run with superuser privileges (under the root user on most systems).\n');
      return 100;
    }
    if (c.name.startsWith('apt')) {
      const host = sh.profile.facts.distro.startsWith('ubuntu') ? 'archive.ubuntu.com' : sh.profile.facts.distro === 'kali' ? 'http.kali.org' : 'deb.debian.org';
      c.out(`Ign:1 http://${host} stable InRelease\nErr:1 http://${host} stable InRelease\n  Temporary failure resolving '${host}'\nReading package lists... Done\n`);
      c.err(`W: Failed to fetch http://${host}/dists/stable/InRelease  Temporary failure resolving '${host}'\nW: Some index files failed to download. They have been ignored, or old ones used instead.\n`);
      if (pkgs.length) { c.err(`E: Unable to locate package ${pkgs[0]}\n`); return 100; }
      return 0;
    }
    if (c.name === 'apk') { c.err(`WARNING: fetching https://dl-cdn.alpinelinux.org/alpine/v3.19/main: temporary error (try again later)\nERROR: unable to select packages:\n  ${pkgs[0] ?? ''} (no such package):\n`); return 1; }
    c.err(`Errors during downloading metadata for repository 'baseos':\n  - Curl error (6): Couldn't resolve host name for https://mirrors.rockylinux.org/mirrorlist [Could not resolve host: mirrors.rockylinux.org]\nError: Failed to download metadata for repo 'baseos': Cannot download repomd.xml\n`);
    return 1;
  }
  if (verb === 'list' || c.args.includes('-l') || c.args.includes('-qa')) {
    c.out(c.name === 'dpkg' ? 'ii  bash           5.2.15-2+b2   amd64  GNU Bourne Again SHell\nii  coreutils      9.1-1         amd64  GNU core utilities\nii  openssh-server 1:9.2p1-2+deb12u2 amd64 secure shell (SSH) server\n' : 'bash\ncoreutils\nopenssh-server\n');
    return 0;
  }
  return 0;
}

const notPermitted = rootOnly('%s: Permission denied (you must be root)');

export const SYSTEM_COMMANDS: Record<string, CommandFn> = {
  uname, id, whoami: (c) => { c.out(c.sh.user.name + '\n'); return 0; }, groups: (c) => { c.out(groupsOf(c, c.sh.user.name, c.sh.user.uid).join(' ') + '\n'); return 0; },
  w, who: w, uptime: w, users: (c) => { c.out(c.sh.loginUser.name + '\n'); return 0; }, last, lastlog: last,
  ps, top, htop: top, free, df, ifconfig, ip, netstat, ss: netstat, hostname, nproc, lscpu, date, env: envCmd, printenv: envCmd, sleep,
  sudo, su, passwd, chpasswd, crontab, systemctl, service: (c) => systemctl({ ...c, args: [c.args[1] ?? 'status', c.args[0] ?? ''] }),
  useradd, adduser: useradd, userdel: useradd, usermod: useradd,
  iptables: notPermitted, 'ip6tables': notPermitted, ufw: notPermitted, modprobe: notPermitted, insmod: notPermitted, setenforce: notPermitted,
  reboot, shutdown: reboot, halt: reboot, poweroff: reboot, init: reboot,
  busybox, sh: shCmd, bash: shCmd, dash: shCmd, ash: shCmd, zsh: shCmd,
  nohup: wrapper, timeout: wrapper, nice: wrapper, setsid: wrapper, stdbuf: wrapper, watch: wrapper,
  apt: packageManager, 'apt-get': packageManager, yum: packageManager, dnf: packageManager, apk: packageManager, pacman: packageManager, dpkg: packageManager, rpm: packageManager,
  arch: (c) => { c.out(c.sh.profile.machine + '\n'); return 0; },
  getconf: (c) => { c.out(c.args[0] === 'LONG_BIT' ? (c.sh.profile.machine.startsWith('arm') ? '32\n' : '64\n') : c.args[0] === '_NPROCESSORS_ONLN' ? `${c.sh.profile.cores}\n` : 'undefined\n'); return 0; },
  lsb_release: (c) => {
    const o = c.sh.profile.osRelease;
    c.out(`${c.args.length ? '' : 'No LSB modules are available.\n'}Distributor ID:\t${o.NAME?.split(' ')[0] ?? 'Linux'}\nDescription:\t${o.PRETTY_NAME ?? ''}\nRelease:\t${o.VERSION_ID ?? ''}\nCodename:\t${o.VERSION_CODENAME ?? 'n/a'}\n`);
    return 0;
  },
  hostnamectl: (c) => {
    const p = c.sh.profile;
    c.out(` Static hostname: ${p.hostname}\n       Icon name: computer-vm\n         Chassis: vm\n      Machine ID: ${p.facts.machineId}\n  Virtualization: kvm\nOperating System: ${p.facts.prettyName}\n          Kernel: Linux ${p.facts.kernelRelease}\n    Architecture: x86-64\n`);
    return 0;
  },
  dmesg: (c) => {
    if (c.sh.user.uid !== 0) { c.err('dmesg: read kernel buffer failed: Operation not permitted\n'); return 1; }
    c.out(`[    0.000000] ${procVersion(c.sh.profile)}\n[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-${c.sh.profile.facts.kernelRelease} ro quiet\n[    0.000000] BIOS-provided physical RAM map:\n[    0.004000] Hypervisor detected: KVM\n`);
    return 0;
  },
  mount: (c) => { const n = c.sh.safeLookup('/proc/mounts'); c.out(n?.kind === 'file' ? readContent(n).replace(/^(\S+) (\S+) (\S+) (\S+) .*$/gm, '$1 on $2 type $3 ($4)') : ''); return 0; },
  lsblk: (c) => { const p = c.sh.profile; c.out(`NAME   MAJ:MIN RM  SIZE RO TYPE MOUNTPOINTS\nsda      8:0    0   ${p.diskGb}G  0 disk \n└─sda1   8:1    0 ${p.diskGb - 1}.9G  0 part /\nsr0     11:0    1 1024M  0 rom  \n`); return 0; },
  tty: (c) => { c.out(c.sh.host.tty === '?' ? 'not a tty\n' : `/dev/${c.sh.host.tty}\n`); return c.sh.host.tty === '?' ? 1 : 0; },
  stty: () => 0, clear: (c) => { c.out('\x1b[H\x1b[2J\x1b[3J'); return 0; }, reset: (c) => { c.out('\x1bc'); return 0; },
  locale: (c) => { c.out('LANG=C.UTF-8\nLANGUAGE=\nLC_CTYPE="C.UTF-8"\nLC_ALL=\n'); return 0; },
  which: (c) => {
    let status = 0;
    for (const name of c.args.filter((a) => !a.startsWith('-'))) {
      let found = false;
      for (const dir of (c.sh.env.get('PATH') ?? '').split(':')) {
        const n = dir ? c.sh.safeLookup(`${dir}/${name}`) : undefined;
        if (n && n.kind !== 'dir') { c.out(`${dir}/${name}\n`); found = true; break; }
      }
      if (!found) status = 1;
    }
    return status;
  },
  whereis: (c) => { for (const a of c.args) c.out(`${a}: /usr/bin/${a}\n`); return 0; },
  lsof: (c) => { c.out(`COMMAND PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\nsshd    561 root    3u  IPv4  18213      0t0  TCP *:ssh (LISTEN)\n`); return 0; },
  lspci: (c) => { c.out('00:00.0 Host bridge: Intel Corporation 440FX - 82441FX PMC [Natoma] (rev 02)\n00:01.1 IDE interface: Intel Corporation 82371SB PIIX3 IDE [Natoma/Triton II]\n00:02.0 VGA compatible controller: Device 1234:1111 (rev 02)\n00:03.0 Ethernet controller: Red Hat, Inc. Virtio network device\n'); return 0; },
  lsusb: () => 0, lsmod: (c) => { c.out('Module                  Size  Used by\nvirtio_net             65536  0\nnet_failover           24576  1 virtio_net\n'); return 0; },
};
