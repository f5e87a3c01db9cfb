// Text of /proc files and of the process/uptime views, all derived from the machine profile.
import type { MachineProfile } from './profile.ts';

export function procVersion(p: MachineProfile): string {
  return `Linux version ${p.facts.kernelRelease} (${p.extras.kernelBuilder}) (${p.extras.kernelCompiler}) ${p.facts.kernelVersion}`;
}

function armCpuinfo(p: MachineProfile): string {
  const blocks: string[] = [];
  for (let i = 0; i < p.cores; i++) {
    blocks.push(`processor\t: ${i}\nmodel name\t: ${p.cpuModel}\nBogoMIPS\t: 48.00\nFeatures\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm\n` +
      'CPU implementer\t: 0x41\nCPU architecture: 7\nCPU variant\t: 0x0\nCPU part\t: 0xc07\nCPU revision\t: 5\n');
  }
  return blocks.join('\n') + '\nHardware\t: Generic DT based system\nRevision\t: 0000\nSerial\t\t: 0000000000000000\n';
}

export function formatCpuinfo(p: MachineProfile): string {
  if (p.machine.startsWith('arm')) return armCpuinfo(p);
  const amd = p.cpuModel.startsWith('AMD');
  const blocks: string[] = [];
  for (let i = 0; i < p.cores; i++) {
    blocks.push([
      `processor\t: ${i}`,
      `vendor_id\t: ${amd ? 'AuthenticAMD' : 'GenuineIntel'}`,
      `cpu family\t: ${amd ? 25 : 6}`,
      `model\t\t: ${amd ? 1 : 79}`,
      `model name\t: ${p.cpuModel}`,
      'stepping\t: 1',
      'microcode\t: 0x1',
      `cpu MHz\t\t: ${p.cpuMhz.toFixed(3)}`,
      `cache size\t: ${amd ? '512 KB' : '16384 KB'}`,
      'physical id\t: 0',
      `siblings\t: ${p.cores}`,
      `core id\t\t: ${i}`,
      `cpu cores\t: ${p.cores}`,
      `apicid\t\t: ${i}`,
      `initial apicid\t: ${i}`,
      'fpu\t\t: yes',
      'fpu_exception\t: yes',
      'cpuid level\t: 13',
      'wp\t\t: yes',
      'flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx rdtscp lm constant_tsc rep_good nopl xtopology cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch fsgsbase bmi1 avx2 smep bmi2 erms invpcid xsaveopt arat',
      'bugs\t\t: spectre_v1 spectre_v2 spec_store_bypass',
      `bogomips\t: ${(p.cpuMhz * 2).toFixed(2)}`,
      'clflush size\t: 64',
      'cache_alignment\t: 64',
      'address sizes\t: 40 bits physical, 48 bits virtual',
      'power management:',
      '',
    ].join('\n'));
  }
  return blocks.join('\n') + '\n';
}

/** Memory figures (kB) that stay consistent between free, /proc/meminfo and top. */
export function memoryFigures(p: MachineProfile): { total: number; free: number; available: number; buffers: number; cached: number; used: number; swap: number } {
  const total = p.memKb;
  const used = Math.floor(total * 0.18);
  const buffers = Math.floor(total * 0.03);
  const cached = Math.floor(total * 0.35);
  const free = total - used - buffers - cached;
  return { total, free, available: free + cached + buffers - Math.floor(total * 0.02), buffers, cached, used, swap: 0 };
}

export function formatMeminfo(p: MachineProfile): string {
  const m = memoryFigures(p);
  const row = (k: string, v: number): string => `${(k + ':').padEnd(16)}${String(v).padStart(8)} kB`;
  return [
    row('MemTotal', m.total), row('MemFree', m.free), row('MemAvailable', m.available), row('Buffers', m.buffers), row('Cached', m.cached),
    row('SwapCached', 0), row('Active', Math.floor(m.total * 0.2)), row('Inactive', Math.floor(m.total * 0.25)), row('SwapTotal', m.swap),
    row('SwapFree', m.swap), row('Dirty', 48), row('Writeback', 0), row('AnonPages', Math.floor(m.used * 0.8)), row('Mapped', 98_304),
    row('Shmem', 1_120), row('Slab', 76_000), row('KernelStack', 3_200), row('PageTables', 5_100), row('CommitLimit', Math.floor(m.total / 2)),
    row('Committed_AS', Math.floor(m.used * 1.6)), row('VmallocTotal', 34359738367), row('HugePages_Total', 0),
  ].join('\n') + '\n';
}

export function uptimeText(p: MachineProfile, users: number, now = Date.now()): string {
  const up = Math.floor((now - p.bootTime) / 1000);
  const days = Math.floor(up / 86400);
  const h = Math.floor((up % 86400) / 3600);
  const m = Math.floor((up % 3600) / 60);
  const clock = new Date(now).toISOString().slice(11, 19);
  const span = days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${String(h).padStart(2)}:${String(m).padStart(2, '0')}` : `${String(h).padStart(2)}:${String(m).padStart(2, '0')}`;
  return ` ${clock} up ${span},  ${users} user${users === 1 ? '' : 's'},  load average: 0.00, 0.01, 0.00`;
}

export interface ProcessRow {
  pid: number;
  user: string;
  cmd: string;
  /** Kernel thread: shown in brackets. */
  kernel?: boolean;
  rssKb: number;
  vszKb: number;
  tty: string;
  stat: string;
  start: string;
}

/** A plausible process table for the persona, plus the attacker's own shell. */
export function processTable(p: MachineProfile, shellUser: string, shellPid: number, tty: string): ProcessRow[] {
  const boot = new Date(p.bootTime);
  const start = `${boot.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' })}${String(boot.getUTCDate()).padStart(2, '0')}`;
  const row = (pid: number, user: string, cmd: string, rssKb: number, vszKb: number, stat = 'Ss', kernel = false, ttyName = '?'): ProcessRow => ({ pid, user, cmd, rssKb, vszKb, stat, kernel, tty: ttyName, start });
  if (p.embedded || p.extras.family === 'alpine') {
    return [
      row(1, 'root', 'init', 820, 1620, 'S'),
      row(2, 'root', 'kthreadd', 0, 0, 'SW', true),
      row(312, 'root', '/sbin/syslogd -t -n', 900, 1620, 'S'),
      row(340, 'root', '/sbin/klogd -n', 880, 1620, 'S'),
      row(402, 'root', '/usr/sbin/crond -c /etc/crontabs', 860, 1620, 'S'),
      row(431, 'root', 'sshd: /usr/sbin/sshd [listener] 0 of 10-100 startups', 3100, 4228, 'S'),
      row(shellPid, shellUser, '-sh', 1000, 1684, 'S', false, tty),
    ];
  }
  const rhel = p.extras.family === 'rhel' || p.extras.family === 'arch';
  return [
    row(1, 'root', rhel ? '/usr/lib/systemd/systemd --switched-root --system --deserialize 31' : '/sbin/init', 11_800, 167_800),
    row(2, 'root', 'kthreadd', 0, 0, 'S', true),
    row(3, 'root', 'rcu_gp', 0, 0, 'I<', true),
    row(4, 'root', 'rcu_par_gp', 0, 0, 'I<', true),
    row(9, 'root', 'mm_percpu_wq', 0, 0, 'I<', true),
    row(10, 'root', 'rcu_tasks_kthread', 0, 0, 'I', true),
    row(13, 'root', 'ksoftirqd/0', 0, 0, 'S', true),
    row(14, 'root', 'rcu_preempt', 0, 0, 'I', true),
    row(15, 'root', 'migration/0', 0, 0, 'S', true),
    row(23, 'root', 'kdevtmpfs', 0, 0, 'S', true),
    row(28, 'root', 'kworker/0:1-events', 0, 0, 'I', true),
    row(245, 'root', rhel ? '/usr/lib/systemd/systemd-journald' : '/lib/systemd/systemd-journald', 31_400, 48_200, 'Ss'),
    row(271, 'root', rhel ? '/usr/lib/systemd/systemd-udevd' : '/lib/systemd/systemd-udevd', 6_900, 25_100, 'Ss'),
    row(402, 'message+', '/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only', 4_600, 8_900, 'Ss'),
    row(405, 'root', rhel ? '/usr/lib/systemd/systemd-logind' : '/lib/systemd/systemd-logind', 7_300, 16_400, 'Ss'),
    row(418, 'root', rhel ? '/usr/sbin/crond -n' : '/usr/sbin/cron -f', 2_700, 6_700, 'Ss'),
    row(421, 'root', rhel ? '/usr/sbin/rsyslogd -n' : '/usr/sbin/rsyslogd -n -iNONE', 5_100, 222_100, 'Ssl'),
    row(530, 'root', '/sbin/agetty -o -p -- \\u --noclear - linux', 1_900, 5_800, 'Ss+', false, 'tty1'),
    row(561, 'root', 'sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups', 9_300, 15_400, 'Ss'),
    row(shellPid - 3, 'root', `sshd: ${shellUser}@${tty}`, 10_900, 17_700, 'Ss'),
    row(shellPid, shellUser, shellUser === 'root' ? '-bash' : '-bash', 5_200, 8_900, 'Ss', false, tty),
  ];
}
