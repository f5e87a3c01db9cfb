// Which emulated commands a machine has, by distro family: a Debian box has apt, a Rocky box dnf,
// a BusyBox device its applets and no systemctl. The same set fills the fake /usr/bin, so `which`
// and `ls /usr/bin` agree with what runs.
import type { DistroFamily } from '../distro-facts.ts';
import type { CommandFn } from '../types.ts';
import { BUILTINS } from './builtins.ts';
import { FS_COMMANDS } from './fs.ts';
import { NET_COMMANDS } from './net.ts';
import { SYSTEM_COMMANDS } from './system.ts';
import { TEXT_COMMANDS } from './text.ts';

/** Commands a real install keeps in /usr/sbin (or /sbin). */
export const SBIN: ReadonlySet<string> = new Set([
  'ifconfig', 'ip', 'iptables', 'ip6tables', 'reboot', 'shutdown', 'halt', 'poweroff', 'init', 'useradd', 'userdel', 'usermod', 'adduser',
  'chpasswd', 'modprobe', 'insmod', 'lsmod', 'ufw', 'setenforce', 'service',
]);

const NOT_ON: Record<DistroFamily, readonly string[]> = {
  debian: ['yum', 'dnf', 'rpm', 'apk', 'pacman', 'zsh', 'ash', 'ftpget', 'ftpput', 'tftp', 'busybox', 'setenforce'],
  rhel: ['apt', 'apt-get', 'dpkg', 'apk', 'pacman', 'zsh', 'ash', 'dash', 'ftpget', 'ftpput', 'tftp', 'busybox', 'adduser', 'ufw', 'lsb_release'],
  arch: ['apt', 'apt-get', 'dpkg', 'apk', 'yum', 'dnf', 'rpm', 'zsh', 'ash', 'dash', 'ftpget', 'ftpput', 'tftp', 'busybox', 'adduser', 'ufw', 'setenforce', 'lsb_release'],
  alpine: ['apt', 'apt-get', 'dpkg', 'yum', 'dnf', 'rpm', 'pacman', 'bash', 'zsh', 'dash', 'systemctl', 'hostnamectl', 'lsb_release', 'ufw', 'setenforce', 'lscpu', 'htop', 'sudo', 'curl'],
  busybox: ['apt', 'apt-get', 'dpkg', 'yum', 'dnf', 'rpm', 'pacman', 'apk', 'bash', 'zsh', 'dash', 'systemctl', 'service', 'hostnamectl', 'lsb_release', 'ufw',
    'setenforce', 'lscpu', 'htop', 'sudo', 'curl', 'ssh', 'scp', 'lspci', 'lsusb', 'lsof', 'ss', 'file', 'stat', 'lsblk', 'useradd', 'usermod', 'userdel', 'crontab',
    'whereis', 'locale', 'sha512sum', 'lastlog', 'last', 'w', 'who', 'users', 'chattr', 'lsattr', 'hostnamectl', 'getconf', 'nproc', 'ncat', 'dig', 'host', 'xxd', 'strings'],
};

const CACHE = new Map<DistroFamily, Map<string, CommandFn>>();

export function commandsFor(family: DistroFamily, kali = false): Map<string, CommandFn> {
  const key = family;
  const cached = kali ? undefined : CACHE.get(key);
  if (cached) return cached;
  const all: Record<string, CommandFn> = { ...FS_COMMANDS, ...TEXT_COMMANDS, ...SYSTEM_COMMANDS, ...NET_COMMANDS, ...BUILTINS };
  const skip = new Set(NOT_ON[family]);
  if (kali) skip.delete('zsh');
  const map = new Map<string, CommandFn>();
  for (const [name, fn] of Object.entries(all)) if (!skip.has(name)) map.set(name, fn);
  if (!kali) CACHE.set(key, map);
  return map;
}
