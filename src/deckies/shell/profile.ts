// The machine an emulated shell pretends to be: one object that every fake file and command
// output is derived from, so uname, /proc/version, the prompt and the SSH banner always agree.
// Per-decky details (CPU, memory, uptime, MAC) come from a PRNG seeded with the decky's name:
// stable across restarts, different between deckies.
import { createHash } from 'node:crypto';
import type { DeckyInfo } from '../service.ts';
import type { PersonaFacts } from '../personas/facts.ts';
import { parseOsRelease, shellExtras, type ShellExtras } from './distro-facts.ts';

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

export interface MachineProfile {
  /** Full hostname (may contain a domain). */
  hostname: string;
  /** Short hostname, as the prompt shows it. */
  shortHostname: string;
  ip: string;
  /** Netmask prefix length of the decky's interface. */
  prefix: number;
  gateway: string;
  mac: string;
  iface: string;
  /** The persona's facts (kernel, os-release, banners, prompt). */
  facts: PersonaFacts;
  /** Shell-only details of the distro family. */
  extras: ShellExtras;
  osRelease: Record<string, string>;
  embedded: boolean;
  machine: string;
  cpuModel: string;
  cpuMhz: number;
  cores: number;
  memKb: number;
  diskGb: number;
  /** Boot time, epoch ms. */
  bootTime: number;
  users: UserEntry[];
  /** Seed for anything else that should be stable per decky. */
  seed: string;
}

/** A small deterministic PRNG (sfc32) seeded from a string. */
export function seededRandom(seed: string): () => number {
  const h = createHash('sha256').update(seed).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  return () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

const CPUS: readonly [string, number][] = [
  ['Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz', 2399.998],
  ['Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz', 2999.996],
  ['Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz', 2194.843],
  ['AMD EPYC 7543P 32-Core Processor', 2794.748],
  ['Intel(R) Xeon(R) CPU E5-2650 v2 @ 2.60GHz', 2599.998],
  ['AMD EPYC 7302P 16-Core Processor', 2999.998],
  ['Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz', 3191.998],
];

export interface ProfileOptions {
  /** Overrides the persona hostname (service config key `hostname`). */
  hostname?: string;
  /** The unprivileged login user (service config key `user`). */
  user?: string;
  /** Additional login names that must exist in /etc/passwd. */
  extraUsers?: readonly string[];
}

function ipv4Gateway(ip: string): { gateway: string; prefix: number } {
  const parts = ip.split('.');
  if (parts.length === 4) return { gateway: `${parts[0]}.${parts[1]}.${parts[2]}.1`, prefix: 24 };
  return { gateway: '', prefix: 64 };
}

const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

export function buildProfile(decky: DeckyInfo, facts: PersonaFacts, opts: ProfileOptions = {}): MachineProfile {
  const rand = seededRandom(`machine:${decky.name}`);
  const embedded = facts.busybox;
  const extras = shellExtras(facts.distro, embedded);
  const hostname = opts.hostname || facts.hostname || decky.name;
  const [cpuModel, cpuMhz] = embedded ? ['ARMv7 Processor rev 5 (v7l)', 800] as const : pick(rand, CPUS);
  const cores = embedded ? pick(rand, [1, 2, 4]) : pick(rand, [1, 2, 2, 4, 4, 8]);
  const memKb = embedded
    ? pick(rand, [128, 256, 512]) * 1024 - Math.floor(rand() * 9_000) - 3_000
    : pick(rand, [1, 2, 4, 4, 8, 16]) * 1024 * 1024 - Math.floor(rand() * 180_000) - 60_000;
  const mac = pick(rand, ['52:54:00', '00:50:56', 'bc:24:11']) + ':' + [0, 1, 2].map(() => Math.floor(rand() * 256).toString(16).padStart(2, '0')).join(':');
  const { gateway, prefix } = ipv4Gateway(decky.ip);
  const shell = facts.shell;
  const rootShell = embedded ? '/bin/sh' : extras.family === 'alpine' ? '/bin/ash' : facts.shell === '/usr/bin/zsh' ? '/usr/bin/zsh' : '/bin/bash';
  const users: UserEntry[] = [{ name: 'root', uid: 0, gid: 0, gecos: 'root', home: '/root', shell: rootShell }];
  const names = [opts.user, ...(opts.extraUsers ?? [])].filter((n): n is string => !!n && n !== 'root' && USER_NAME.test(n));
  let uid = 1000;
  for (const name of new Set(names)) {
    users.push({ name, uid, gid: uid, gecos: name === opts.user ? `${name},,,` : '', home: `/home/${name}`, shell });
    uid++;
  }
  return {
    hostname,
    shortHostname: hostname.split('.')[0]!,
    ip: decky.ip,
    prefix,
    gateway,
    mac,
    iface: embedded ? 'eth0' : pick(rand, ['eth0', 'ens18', 'ens3', 'enp1s0']),
    facts,
    extras,
    osRelease: parseOsRelease(facts.osRelease),
    embedded,
    machine: facts.machine,
    cpuModel,
    cpuMhz,
    cores,
    memKb,
    diskGb: pick(rand, [20, 32, 40, 50, 80, 100]),
    bootTime: facts.bootTime,
    users,
    seed: decky.name,
  };
}

export function findUser(profile: MachineProfile, name: string): UserEntry | undefined {
  return profile.users.find((u) => u.name === name);
}

export function userById(profile: MachineProfile, uid: number): UserEntry | undefined {
  return profile.users.find((u) => u.uid === uid);
}
