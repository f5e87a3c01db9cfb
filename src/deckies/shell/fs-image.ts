// The base filesystem image of a decky, derived from its machine profile: release files, users,
// /proc, home directories, binaries. Built once per decky and shared read-only by its sessions.
import { dir, file, link, type DirNode, type Node } from './vfs.ts';
import { seededRandom, pick, type MachineProfile } from './profile.ts';
import { formatMeminfo, formatCpuinfo, procVersion } from './proc.ts';

const B64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomString(rand: () => number, alphabet: string, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

/** Known binary sizes so that `ls -l /usr/bin` looks like a real install. */
const BINARY_SIZES: Record<string, number> = {
  bash: 1265648, ls: 151344, cat: 44016, cp: 153976, mv: 149888, rm: 75632, mkdir: 92720, chmod: 64624, chown: 72848,
  grep: 203152, ps: 154472, uname: 35200, id: 48248, whoami: 35200, echo: 35120, sh: 125688, dash: 125688,
  wget: 536152, curl: 260328, hostname: 22760, uptime: 14792, w: 23480, who: 52936, touch: 96976, head: 43904,
  tail: 64800, wc: 48336, sort: 117288, uniq: 48208, cut: 48240, awk: 690264, sed: 118736, df: 97016, free: 14888,
  ip: 752424, ifconfig: 84536, netstat: 154768, ss: 140600, sudo: 281624, su: 72000, passwd: 68248, crontab: 47800,
  busybox: 833104, sleep: 35280, date: 109800, env: 48352, which: 3036, base64: 43936, md5sum: 47480, sha256sum: 51576,
  nproc: 35224, lscpu: 108800, mount: 59704, kill: 31128, pkill: 31312, tar: 531200, gzip: 98136, ssh: 873416, scp: 125744,
};

export interface ImageOptions {
  /** Command names the shell implements; each gets a binary in the PATH. */
  commands: readonly string[];
  /** Where each command lives (default /usr/bin). */
  sbin: ReadonlySet<string>;
}

function put(root: DirNode, path: string, node: Node): void {
  const parts = path.split('/').filter(Boolean);
  let cur = root;
  for (let i = 0; i < parts.length - 1; i++) {
    let next = cur.children.get(parts[i]!);
    if (!next) {
      next = dir(0o755, 0, 0, root.mtime);
      cur.children.set(parts[i]!, next);
    }
    if (next.kind !== 'dir') throw new Error(`fs-image: ${path} crosses a non-directory`);
    cur = next;
  }
  cur.children.set(parts[parts.length - 1]!, node);
}

function passwd(p: MachineProfile): string {
  const system = p.extras.family === 'alpine' || p.extras.family === 'busybox'
    ? ['root:x:0:0:root:/root:/bin/ash', 'bin:x:1:1:bin:/bin:/sbin/nologin', 'daemon:x:2:2:daemon:/sbin:/sbin/nologin',
      'adm:x:3:4:adm:/var/adm:/sbin/nologin', 'lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin', 'sync:x:5:0:sync:/sbin:/bin/sync',
      'shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown', 'halt:x:7:0:halt:/sbin:/sbin/halt', 'mail:x:8:12:mail:/var/mail:/sbin/nologin',
      'news:x:9:13:news:/usr/lib/news:/sbin/nologin', 'nobody:x:65534:65534:nobody:/:/sbin/nologin', 'sshd:x:22:22:sshd:/dev/null:/sbin/nologin']
    : p.extras.family === 'rhel' || p.extras.family === 'arch'
      ? ['root:x:0:0:root:/root:/bin/bash', 'bin:x:1:1:bin:/bin:/sbin/nologin', 'daemon:x:2:2:daemon:/sbin:/sbin/nologin',
        'adm:x:3:4:adm:/var/adm:/sbin/nologin', 'lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin', 'sync:x:5:0:sync:/sbin:/bin/sync',
        'shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown', 'halt:x:7:0:halt:/sbin:/sbin/halt', 'mail:x:8:12:mail:/var/spool/mail:/sbin/nologin',
        'operator:x:11:0:operator:/root:/sbin/nologin', 'games:x:12:100:games:/usr/games:/sbin/nologin', 'ftp:x:14:50:FTP User:/var/ftp:/sbin/nologin',
        'nobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin', 'systemd-coredump:x:999:997:systemd Core Dumper:/:/sbin/nologin',
        'dbus:x:81:81:System message bus:/:/sbin/nologin', 'tss:x:59:59:Account used for TPM access:/dev/null:/sbin/nologin',
        'sshd:x:74:74:Privilege-separated SSH:/usr/share/empty.sshd:/sbin/nologin', 'chrony:x:998:996:chrony system user:/var/lib/chrony:/sbin/nologin']
      : ['root:x:0:0:root:/root:' + p.users[0]!.shell, 'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin', 'bin:x:2:2:bin:/bin:/usr/sbin/nologin',
        'sys:x:3:3:sys:/dev:/usr/sbin/nologin', 'sync:x:4:65534:sync:/bin:/bin/sync', 'games:x:5:60:games:/usr/games:/usr/sbin/nologin',
        'man:x:6:12:man:/var/cache/man:/usr/sbin/nologin', 'lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin', 'mail:x:8:8:mail:/var/mail:/usr/sbin/nologin',
        'news:x:9:9:news:/var/spool/news:/usr/sbin/nologin', 'uucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin',
        'proxy:x:13:13:proxy:/bin:/usr/sbin/nologin', 'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
        'backup:x:34:34:backup:/var/backups:/usr/sbin/nologin', 'list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin',
        'irc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
        'systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin', 'messagebus:x:100:107::/nonexistent:/usr/sbin/nologin',
        'sshd:x:101:65534::/run/sshd:/usr/sbin/nologin'];
  const users = p.users.filter((u) => u.uid !== 0).map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.gecos}:${u.home}:${u.shell}`);
  return [...system, ...users].join('\n') + '\n';
}

function group(p: MachineProfile): string {
  const admins = p.users.filter((u) => u.uid >= 1000).map((u) => u.name).join(',');
  const base = p.extras.family === 'debian'
    ? ['root:x:0:', 'daemon:x:1:', 'bin:x:2:', 'sys:x:3:', 'adm:x:4:' + admins, 'tty:x:5:', 'disk:x:6:', 'lp:x:7:', 'mail:x:8:',
      'news:x:9:', 'uucp:x:10:', 'man:x:12:', 'proxy:x:13:', 'kmem:x:15:', 'dialout:x:20:', 'cdrom:x:24:' + admins, `sudo:x:27:${admins}`,
      'audio:x:29:', 'www-data:x:33:', 'backup:x:34:', 'operator:x:37:', 'shadow:x:42:', 'utmp:x:43:', 'video:x:44:', 'plugdev:x:46:' + admins,
      'staff:x:50:', 'users:x:100:', 'nogroup:x:65534:']
    : ['root:x:0:', 'bin:x:1:', 'daemon:x:2:', 'sys:x:3:', 'adm:x:4:', 'tty:x:5:', 'disk:x:6:', 'lp:x:7:', 'mem:x:8:', 'kmem:x:9:',
      `wheel:x:10:${admins}`, 'mail:x:12:', 'man:x:15:', 'users:x:100:', 'nobody:x:65534:'];
  const own = p.users.filter((u) => u.uid !== 0).map((u) => `${u.name}:x:${u.gid}:`);
  return [...base, ...own].join('\n') + '\n';
}

function shadow(p: MachineProfile, rand: () => number): string {
  const yescrypt = p.extras.yescrypt;
  const hash = (): string => yescrypt
    ? `$y$j9T$${randomString(rand, B64, 22)}$${randomString(rand, B64, 43)}`
    : `$6$${randomString(rand, B64, 16)}$${randomString(rand, B64, 86)}`;
  const days = 19000 + Math.floor(rand() * 700);
  const lines = passwd(p).trim().split('\n').map((line) => {
    const name = line.split(':')[0]!;
    const login = p.users.some((u) => u.name === name);
    return `${name}:${login ? hash() : '*'}:${days}:0:99999:7:::`;
  });
  return lines.join('\n') + '\n';
}

function bashrc(p: MachineProfile, root: boolean): string {
  if (p.extras.family === 'rhel' || p.extras.family === 'arch') {
    return "# .bashrc\n\n# User specific aliases and functions\n\nalias rm='rm -i'\nalias cp='cp -i'\nalias mv='mv -i'\n\n" +
      '# Source global definitions\nif [ -f /etc/bashrc ]; then\n\t. /etc/bashrc\nfi\n';
  }
  if (root) {
    return "# ~/.bashrc: executed by bash(1) for non-login shells.\n\n# Note: PS1 and umask are already set in /etc/profile. You should not\n" +
      "# need this unless you want different defaults for root.\n# PS1='${debian_chroot:+($debian_chroot)}\\h:\\w\\$ '\n# umask 022\n\n" +
      "# You may uncomment the following lines if you want `ls' to be colorized:\n# export LS_OPTIONS='--color=auto'\n" +
      '# eval "$(dircolors)"\n# alias ls=\'ls $LS_OPTIONS\'\n';
  }
  return "# ~/.bashrc: executed by bash(1) for non-login shells.\n\n# If not running interactively, don't do anything\ncase $- in\n" +
    '    *i*) ;;\n      *) return;;\nesac\n\nHISTCONTROL=ignoreboth\nshopt -s histappend\nHISTSIZE=1000\nHISTFILESIZE=2000\n' +
    "shopt -s checkwinsize\n\nalias ll='ls -alF'\nalias la='ls -A'\nalias l='ls -CF'\n";
}

const ROOT_HISTORY = [
  'apt update', 'apt upgrade -y', 'systemctl status ssh', 'df -h', 'free -m', 'cd /var/log', 'tail -n 50 syslog', 'cd',
  'vi /etc/hosts', 'ip a', 'crontab -l', 'ls -la /opt', 'du -sh /var/lib/*', 'journalctl -u cron --since today', 'reboot',
];

/** Builds the shared base image for `profile`. */
export function buildImage(p: MachineProfile, opts: ImageOptions): DirNode {
  const rand = seededRandom(`fs:${p.seed}`);
  const installed = p.bootTime - Math.floor((60 + rand() * 400) * 86_400_000);
  const t = (): number => installed + Math.floor(rand() * 30 * 86_400_000);
  const root = dir(0o755, 0, 0, installed);
  const d = (path: string, mode = 0o755, uid = 0, gid = 0): void => put(root, path, dir(mode, uid, gid, t()));
  const f = (path: string, content: string | (() => string), mode = 0o644, uid = 0, gid = 0): void => put(root, path, file(content, mode, uid, gid, t()));
  const busybox = p.extras.family === 'alpine' || p.extras.family === 'busybox';

  for (const path of ['/boot', '/dev', '/dev/pts', '/etc', '/home', '/media', '/mnt', '/opt', '/proc', '/run', '/srv', '/sys', '/usr',
    '/usr/bin', '/usr/sbin', '/usr/lib', '/usr/local', '/usr/local/bin', '/usr/local/sbin', '/usr/share', '/var', '/var/log',
    '/var/lib', '/var/cache', '/var/spool', '/var/spool/cron', '/var/mail', '/var/backups', '/etc/ssh', '/etc/cron.d', '/etc/cron.daily',
    '/sys/class', '/sys/class/net', '/proc/net', '/proc/sys', '/proc/sys/kernel', '/run/user']) d(path);
  d('/root', 0o700);
  d('/tmp', 0o1777);
  d('/var/tmp', 0o1777);
  d('/dev/shm', 0o1777);
  if (p.extras.mergedUsr && !busybox) {
    for (const [name, target] of [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']] as const) {
      put(root, `/${name}`, link(target, installed));
    }
    d('/usr/lib64');
  } else {
    d('/bin');
    d('/sbin');
    d('/lib');
  }
  put(root, '/var/run', link('/run', installed));

  // Devices.
  put(root, '/dev/null', { kind: 'dev', read: 'null', mode: 0o666, uid: 0, gid: 0, mtime: p.bootTime });
  put(root, '/dev/zero', { kind: 'dev', read: 'zero', mode: 0o666, uid: 0, gid: 0, mtime: p.bootTime });
  put(root, '/dev/urandom', { kind: 'dev', read: 'random', mode: 0o666, uid: 0, gid: 0, mtime: p.bootTime });
  put(root, '/dev/random', { kind: 'dev', read: 'random', mode: 0o666, uid: 0, gid: 0, mtime: p.bootTime });
  put(root, '/dev/tty', { kind: 'dev', read: 'null', mode: 0o666, uid: 0, gid: 5, mtime: p.bootTime });

  // Binaries: everything the shell implements, where a real install keeps it.
  const binDir = busybox ? '/bin' : '/usr/bin';
  const sbinDir = busybox ? '/sbin' : '/usr/sbin';
  for (const name of opts.commands) {
    const where = opts.sbin.has(name) ? sbinDir : binDir;
    if (busybox) {
      put(root, `${where}/${name}`, link('/bin/busybox', installed));
      continue;
    }
    const size = BINARY_SIZES[name] ?? 18_000 + Math.floor(rand() * 300_000);
    put(root, `${where}/${name}`, file('\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00\x01\x00\x00\x00', 0o755, 0, 0, t(), size));
  }
  if (busybox) {
    put(root, '/bin/busybox', file('\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00\x01\x00\x00\x00', 0o755, 0, 0, t(), BINARY_SIZES.busybox));
    put(root, '/bin/sh', link('/bin/busybox', installed));
  } else {
    put(root, '/usr/bin/sh', link(p.extras.family === 'debian' ? 'dash' : 'bash', installed));
  }

  // /etc
  const facts = p.facts;
  f('/etc/hostname', p.hostname + '\n');
  f('/etc/hosts', `127.0.0.1\tlocalhost\n${p.ip}\t${p.hostname} ${p.shortHostname}\n\n# The following lines are desirable for IPv6 capable hosts\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n`);
  if (facts.osRelease) f('/etc/os-release', facts.osRelease);
  f('/etc/issue', facts.issue);
  f('/etc/issue.net', facts.issue.split('\n')[0]!.replace(/ \\[nl]/g, '') + '\n');
  f('/etc/motd', p.extras.motd(p.shortHostname, facts.kernelRelease, p.machine, facts.prettyName));
  for (const [path, content] of Object.entries(p.extras.releaseFiles(p.osRelease))) f(path, content);
  f('/etc/passwd', passwd(p));
  f('/etc/group', group(p));
  f('/etc/shadow', shadow(p, rand), 0o640, 0, 42);
  f('/etc/shells', busybox ? '# valid login shells\n/bin/sh\n/bin/ash\n' : '# /etc/shells: valid login shells\n/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/dash\n/usr/bin/dash\n');
  f('/etc/resolv.conf', `nameserver ${p.gateway || '1.1.1.1'}\n`);
  f('/etc/fstab', `UUID=${randomString(rand, '0123456789abcdef', 8)}-${randomString(rand, '0123456789abcdef', 4)}-${randomString(rand, '0123456789abcdef', 4)}-${randomString(rand, '0123456789abcdef', 4)}-${randomString(rand, '0123456789abcdef', 12)} /               ext4    errors=remount-ro 0       1\n`);
  f('/etc/timezone', 'Etc/UTC\n');
  f('/etc/machine-id', facts.machineId + '\n', 0o444);
  f('/etc/crontab', 'SHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n\n17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly\n25 6\t* * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }\n');
  f('/etc/sudoers', `Defaults\tenv_reset\nDefaults\tmail_badpass\nDefaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n\nroot\tALL=(ALL:ALL) ALL\n%${p.extras.adminGroup}\tALL=(ALL:ALL) ALL\n`, 0o440);
  f('/etc/ssh/sshd_config', 'Include /etc/ssh/sshd_config.d/*.conf\n\nPermitRootLogin yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\nSubsystem\tsftp\t/usr/lib/openssh/sftp-server\n');
  f('/etc/ssh/ssh_config', 'Host *\n    SendEnv LANG LC_*\n    HashKnownHosts yes\n    GSSAPIAuthentication yes\n');
  f('/etc/profile', 'if [ "$(id -u)" -eq 0 ]; then\n  PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\nelse\n  PATH="/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"\nfi\nexport PATH\n');
  if (facts.packageManager === 'apt' && !p.embedded) {
    d('/etc/apt');
    const codename = p.osRelease.VERSION_CODENAME || 'bookworm';
    f('/etc/apt/sources.list', facts.distro === 'debian'
      ? `deb http://deb.debian.org/debian ${codename} main\ndeb http://deb.debian.org/debian-security ${codename}-security main\ndeb http://deb.debian.org/debian ${codename}-updates main\n`
      : facts.distro === 'kali'
        ? 'deb http://http.kali.org/kali kali-rolling main contrib non-free non-free-firmware\n'
        : `deb http://archive.ubuntu.com/ubuntu/ ${codename} main restricted universe multiverse\n`);
  }

  // /proc and /sys: computed when read.
  f('/proc/cpuinfo', () => formatCpuinfo(p), 0o444);
  f('/proc/meminfo', () => formatMeminfo(p), 0o444);
  f('/proc/version', procVersion(p) + '\n', 0o444);
  f('/proc/uptime', () => {
    const up = (Date.now() - p.bootTime) / 1000;
    return `${up.toFixed(2)} ${(up * p.cores * 0.97).toFixed(2)}\n`;
  }, 0o444);
  f('/proc/loadavg', () => `0.${pick(Math.random, ['00', '02', '05', '08'])} 0.0${Math.floor(Math.random() * 9)} 0.00 1/${120 + p.cores * 10} ${2000 + Math.floor((Date.now() - p.bootTime) / 60_000) % 30000}\n`, 0o444);
  f('/proc/cmdline', `BOOT_IMAGE=/boot/vmlinuz-${facts.kernelRelease} root=UUID=${randomString(rand, '0123456789abcdef', 8)} ro quiet\n`, 0o444);
  f('/proc/mounts', `/dev/sda1 / ext4 rw,relatime,errors=remount-ro 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\nsysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\ntmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=${Math.floor(p.memKb / 10)}k,mode=755 0 0\ntmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0\n`, 0o444);
  f('/proc/sys/kernel/hostname', p.hostname + '\n');
  f('/proc/sys/kernel/osrelease', facts.kernelRelease + '\n');
  f('/proc/net/route', `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n${p.iface}\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n`);
  d(`/sys/class/net/${p.iface}`);
  f(`/sys/class/net/${p.iface}/address`, p.mac + '\n');
  f('/sys/class/net/lo/address', '00:00:00:00:00:00\n');
  if (!p.embedded) f('/boot/vmlinuz-' + facts.kernelRelease, '\x4d\x5a', 0o644);

  // Homes.
  for (const u of p.users) {
    if (u.uid !== 0) d(u.home, 0o750, u.uid, u.gid);
    d(`${u.home}/.ssh`, 0o700, u.uid, u.gid);
    f(`${u.home}/.bashrc`, bashrc(p, u.uid === 0), 0o644, u.uid, u.gid);
    f(`${u.home}/.profile`, '# ~/.profile: executed by the command interpreter for login shells.\nif [ -n "$BASH_VERSION" ]; then\n    if [ -f "$HOME/.bashrc" ]; then\n\t. "$HOME/.bashrc"\n    fi\nfi\n', 0o644, u.uid, u.gid);
    if (u.uid !== 0) f(`${u.home}/.bash_logout`, '# ~/.bash_logout: executed by bash(1) when login shell exits.\n', 0o644, u.uid, u.gid);
  }
  f('/root/.bash_history', ROOT_HISTORY.join('\n') + '\n', 0o600);
  f('/root/.ssh/authorized_keys', '', 0o600);
  f('/var/log/lastlog', '', 0o664, 0, 43);
  f('/var/log/wtmp', '', 0o664, 0, 43);
  f('/var/log/auth.log', '', 0o640, 0, 4);
  return root;
}
