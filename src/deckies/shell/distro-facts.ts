// What an emulated shell needs beyond the persona facts (src/deckies/personas/facts.ts): the
// build strings of /proc/version, release files, the login message, group and filesystem layout
// conventions of each distro family. Versions are read from the persona's os-release, so the two
// never disagree. Data only.

export type DistroFamily = 'debian' | 'rhel' | 'alpine' | 'arch' | 'busybox';

export interface ShellExtras {
  family: DistroFamily;
  /** Builder and compiler parts of /proc/version. */
  kernelBuilder: string;
  kernelCompiler: string;
  /** Extra release files (path → content), given the parsed os-release. */
  releaseFiles(osr: Record<string, string>): Record<string, string>;
  /** Login message printed after a successful interactive login; `kernel` is `uname -rv`. */
  motd(host: string, kernel: string, machine: string, pretty: string): string;
  /** Administrators' group (sudo/wheel). */
  adminGroup: string;
  /** /bin, /sbin, /lib are symlinks into /usr. */
  mergedUsr: boolean;
  /** /etc/shadow hashes use yescrypt ($y$) rather than SHA-512 ($6$). */
  yescrypt: boolean;
}

export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  }
  return out;
}

const debianMotd = (name: string) => (host: string, kernel: string, machine: string): string =>
  `Linux ${host} ${kernel} ${machine}\n\nThe programs included with the ${name} system are free software;\n` +
  'the exact distribution terms for each program are described in the\nindividual files in /usr/share/doc/*/copyright.\n\n' +
  `${name} comes with ABSOLUTELY NO WARRANTY, to the extent\npermitted by applicable law.\n`;

const ubuntuMotd = (_host: string, kernel: string, machine: string, pretty: string): string =>
  `Welcome to ${pretty} (GNU/Linux ${kernel} ${machine})\n\n * Documentation:  https://help.ubuntu.com\n` +
  ' * Management:     https://landscape.canonical.com\n * Support:        https://ubuntu.com/pro\n\n' +
  'This system has been minimized by removing packages and content that are\nnot required on a system that users do not log into.\n\n' +
  "To restore this content, you can run the 'unminimize' command.\n";

const noMotd = (): string => '';

const rhelRelease = (file: string) => (osr: Record<string, string>): Record<string, string> => {
  const codename = /\(([^)]+)\)/.exec(osr.VERSION ?? '')?.[1] ?? '';
  const text = `${osr.NAME ?? 'Linux'} release ${osr.VERSION_ID ?? ''}${codename ? ` (${codename})` : ''}\n`;
  return { '/etc/redhat-release': text, [file]: text };
};

const EXTRAS: Readonly<Record<string, ShellExtras>> = {
  debian: {
    family: 'debian',
    kernelBuilder: 'debian-kernel@lists.debian.org',
    kernelCompiler: 'gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40',
    releaseFiles: () => ({ '/etc/debian_version': '12.5\n' }),
    motd: debianMotd('Debian GNU/Linux'),
    adminGroup: 'sudo',
    mergedUsr: true,
    yescrypt: true,
  },
  ubuntu22: {
    family: 'debian',
    kernelBuilder: 'buildd@lcy02-amd64-102',
    kernelCompiler: 'gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38',
    releaseFiles: (osr) => ({
      '/etc/debian_version': 'bookworm/sid\n',
      '/etc/lsb-release': `DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=${osr.VERSION_ID ?? '22.04'}\nDISTRIB_CODENAME=${osr.VERSION_CODENAME ?? 'jammy'}\nDISTRIB_DESCRIPTION="${osr.PRETTY_NAME ?? 'Ubuntu'}"\n`,
    }),
    motd: ubuntuMotd,
    adminGroup: 'sudo',
    mergedUsr: true,
    yescrypt: true,
  },
  ubuntu20: {
    family: 'debian',
    kernelBuilder: 'buildd@lcy02-amd64-046',
    kernelCompiler: 'gcc version 9.4.0 (Ubuntu 9.4.0-1ubuntu1~20.04.2)',
    releaseFiles: (osr) => ({
      '/etc/debian_version': 'bullseye/sid\n',
      '/etc/lsb-release': `DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=${osr.VERSION_ID ?? '20.04'}\nDISTRIB_CODENAME=${osr.VERSION_CODENAME ?? 'focal'}\nDISTRIB_DESCRIPTION="${osr.PRETTY_NAME ?? 'Ubuntu'}"\n`,
    }),
    motd: ubuntuMotd,
    adminGroup: 'sudo',
    mergedUsr: true,
    yescrypt: false,
  },
  rocky9: {
    family: 'rhel',
    kernelBuilder: 'mockbuild@iad1-prod-build001.bld.equ.rockylinux.org',
    kernelCompiler: 'gcc (GCC) 11.4.1 20231218 (Red Hat 11.4.1-3), GNU ld version 2.35.2-43.el9',
    releaseFiles: rhelRelease('/etc/rocky-release'),
    motd: noMotd,
    adminGroup: 'wheel',
    mergedUsr: true,
    yescrypt: false,
  },
  centos7: {
    family: 'rhel',
    kernelBuilder: 'mockbuild@kbuilder.bsys.centos.org',
    kernelCompiler: 'gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ',
    releaseFiles: () => ({ '/etc/redhat-release': 'CentOS Linux release 7.9.2009 (Core)\n', '/etc/centos-release': 'CentOS Linux release 7.9.2009 (Core)\n' }),
    motd: noMotd,
    adminGroup: 'wheel',
    mergedUsr: true,
    yescrypt: false,
  },
  fedora: {
    family: 'rhel',
    kernelBuilder: 'mockbuild@a7d5c8e0f3b94f2c8e1b6a9d0c4f7e21',
    kernelCompiler: 'gcc (GCC) 13.2.1 20240316 (Red Hat 13.2.1-7), GNU ld version 2.40-14.fc39',
    releaseFiles: (osr) => ({ '/etc/redhat-release': `Fedora release ${osr.VERSION_ID ?? '39'} (Thirty Nine)\n`, '/etc/fedora-release': `Fedora release ${osr.VERSION_ID ?? '39'} (Thirty Nine)\n` }),
    motd: noMotd,
    adminGroup: 'wheel',
    mergedUsr: true,
    yescrypt: true,
  },
  alpine: {
    family: 'alpine',
    kernelBuilder: 'buildozer@build-3-19-x86_64',
    kernelCompiler: 'gcc (Alpine 13.2.1_git20231014) 13.2.1 20231014, GNU ld (GNU Binutils) 2.41',
    releaseFiles: (osr) => ({ '/etc/alpine-release': `${osr.VERSION_ID ?? '3.19.1'}\n` }),
    motd: () =>
      'Welcome to Alpine!\n\nThe Alpine Wiki contains a large amount of how-to guides and general\n' +
      'information about administrating Alpine systems.\nSee <https://wiki.alpinelinux.org/>.\n\n' +
      'You can setup the system with the command: setup-alpine\n\nYou may change this message by editing /etc/motd.\n\n',
    adminGroup: 'wheel',
    mergedUsr: false,
    yescrypt: false,
  },
  kali: {
    family: 'debian',
    kernelBuilder: 'devel@kali.org',
    kernelCompiler: 'x86_64-linux-gnu-gcc-13 (Debian 13.2.0-25) 13.2.0, GNU ld (GNU Binutils for Debian) 2.42',
    releaseFiles: () => ({ '/etc/debian_version': 'kali-rolling\n' }),
    motd: debianMotd('Kali GNU/Linux'),
    adminGroup: 'sudo',
    mergedUsr: true,
    yescrypt: true,
  },
  arch: {
    family: 'arch',
    kernelBuilder: 'linux@archlinux',
    kernelCompiler: 'gcc (GCC) 14.1.1 20240522, GNU ld (GNU Binutils) 2.42.0',
    releaseFiles: () => ({ '/etc/arch-release': '' }),
    motd: noMotd,
    adminGroup: 'wheel',
    mergedUsr: true,
    yescrypt: true,
  },
};

/** The BusyBox build embedded personas report (banner, `busybox` applet). */
export const BUSYBOX_BUILD = 'BusyBox v1.33.2 (2024-03-12 09:21:44 CST)';

/** Embedded devices: BusyBox userland on a vendor kernel, whatever their base distro. */
const EMBEDDED: ShellExtras = {
  family: 'busybox',
  kernelBuilder: 'builder@buildhost',
  kernelCompiler: 'gcc version 8.4.0 (OpenWrt GCC 8.4.0 r16279-5cc0535800)',
  releaseFiles: () => ({}),
  motd: (): string => `\n\n${BUSYBOX_BUILD} built-in shell (ash)\n\n`,
  adminGroup: 'root',
  mergedUsr: false,
  yescrypt: false,
};

export function shellExtras(distro: string, embedded: boolean): ShellExtras {
  if (embedded) return EMBEDDED;
  return EXTRAS[distro] ?? EXTRAS.debian!;
}
