// Everything a decoy service needs to stay consistent with its decky's persona: the SSH banner,
// kernel strings, /etc/os-release, shell prompt, server versions. One call per service create():
//   const facts = personaFacts(ctx.decky.persona);
// Per-decky values (boot time, machine id) derive from the host name, so they differ between
// deckies and stay stable across restarts.
import { createHash } from 'node:crypto';
import type { OsFamily, Persona } from '../service.ts';
import { DISTROS, WINDOWS_BUILDS, findDistro, type DistroFacts } from './distros.ts';

export interface PersonaFacts extends DistroFacts {
  hostname: string;
  /** The host name up to its first dot. */
  shortHostname: string;
  archetype: string;
  osFamily: OsFamily;
  /** The distro or Windows build slug actually used (an unknown slug falls back by OS family). */
  distro: string;
  /** e.g. `Debian GNU/Linux 12 (bookworm)`, `Windows Server 2019 Standard`. */
  prettyName: string;
  /** `uname -m`. */
  machine: string;
  /** `uname -a`. */
  unameA: string;
  /** Full SSH identification line without CRLF, e.g. `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`. */
  sshBanner: string;
  /** Embedded personas run BusyBox userland (and dropbear instead of OpenSSH). */
  busybox: boolean;
  /** Boot time in epoch ms (uptime between 3 and 200 days, stable per host name). */
  bootTime: number;
  /** 32 hex characters, like /etc/machine-id. */
  machineId: string;
  /** Present for Windows personas. */
  windows?: { productName: string; version: string; build: string };
  /** The shell prompt for `user` in `cwd` (cwd as an absolute path; home shown as ~). */
  prompt(user: string, cwd: string): string;
}

function seedBytes(hostname: string, label: string): Buffer {
  return createHash('sha256').update(`${hostname}\u0000${label}`).digest();
}

function homeOf(user: string): string {
  return user === 'root' ? '/root' : `/home/${user}`;
}

function promptFor(style: DistroFacts['promptStyle'], shortHost: string): (user: string, cwd: string) => string {
  return (user, cwd) => {
    const home = homeOf(user);
    const shown = cwd === home ? '~' : cwd.startsWith(home + '/') ? '~' + cwd.slice(home.length) : cwd;
    const sigil = user === 'root' ? '#' : '$';
    switch (style) {
      case 'ash':
        return `${shortHost}:${shown}${sigil} `;
      case 'zsh-kali':
        return `┌──(${user}㉿${shortHost})-[${shown}]\n└─${sigil} `;
      case 'cmd':
        return `${cwd}>`;
      default:
        return `${user}@${shortHost}:${shown}${sigil} `;
    }
  };
}

const FACTS_CACHE = new Map<string, PersonaFacts>();

/** Facts for a persona. Never throws: an unknown distro falls back to Debian (or Windows Server 2019). */
export function personaFacts(persona: Persona): PersonaFacts {
  const key = `${persona.hostname}|${persona.archetype}|${persona.distro}|${persona.osFamily}`;
  const cached = FACTS_CACHE.get(key);
  if (cached) return cached;

  const fallback = persona.osFamily === 'windows' ? WINDOWS_BUILDS.find((d) => d.slug === 'win2019')! : DISTROS[0];
  const found = findDistro(persona.distro);
  const distro = found && (found.osFamily === 'windows') === (persona.osFamily === 'windows') ? found : fallback;
  const base: DistroFacts = { ...distro.facts };
  const embedded = persona.osFamily === 'embedded';
  const shortHostname = persona.hostname.split('.')[0] || persona.hostname;
  const machine = embedded ? 'armv7l' : 'x86_64';

  if (embedded) {
    // Small devices run BusyBox and dropbear on a vendor kernel, whatever their userland base.
    base.sshVersion = 'dropbear_2022.83';
    base.shell = '/bin/sh';
    base.promptStyle = 'ash';
    base.defaultUser = 'admin';
    base.kernelRelease = '4.14.180';
    base.kernelVersion = '#1 SMP PREEMPT Tue Mar 12 09:21:44 CST 2024';
  }

  const seed = seedBytes(persona.hostname, 'boot');
  const uptimeMs = (3 * 86400 + (seed.readUInt32BE(0) % (197 * 86400))) * 1000;
  const windows = distro.osFamily === 'windows' ? { productName: distro.displayName, version: base.kernelRelease, build: base.kernelVersion.replace(/^Build /, '') } : undefined;
  const prettyName = windows ? distro.displayName : (/^PRETTY_NAME="?([^"\n]*)"?$/m.exec(base.osRelease)?.[1] ?? distro.displayName);
  const os = windows ? 'Windows_NT' : 'GNU/Linux';
  const facts: PersonaFacts = {
    ...base,
    hostname: persona.hostname,
    shortHostname,
    archetype: persona.archetype,
    osFamily: persona.osFamily,
    distro: distro.slug,
    prettyName,
    machine,
    unameA: windows ? `Windows_NT ${shortHostname} ${base.kernelRelease}` : `Linux ${shortHostname} ${base.kernelRelease} ${base.kernelVersion} ${machine} ${os}`,
    sshBanner: `SSH-2.0-${base.sshVersion}`,
    busybox: embedded,
    bootTime: Math.floor((Date.now() - uptimeMs) / 60_000) * 60_000,
    machineId: seedBytes(persona.hostname, 'machine-id').toString('hex').slice(0, 32),
    prompt: promptFor(base.promptStyle, shortHostname),
  };
  if (windows) facts.windows = windows;
  if (FACTS_CACHE.size > 4096) FACTS_CACHE.clear();
  FACTS_CACHE.set(key, Object.freeze(facts) as PersonaFacts);
  return facts;
}
