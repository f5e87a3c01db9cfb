// Operating-system builds a decky can impersonate, as data: the original's nine Linux distros
// (with their host-name styles) plus the Windows builds our Windows personas report. Versions are
// what a stock, reasonably patched install of that release ships, so banners, `uname`,
// /etc/os-release and server versions of one decky agree with each other.
import type { OsFamily } from '../service.ts';

export type HostnameStyle = 'generic' | 'rhel' | 'minimal' | 'rolling' | 'windows';

export interface DistroFacts {
  /** `uname -r`. */
  kernelRelease: string;
  /** `uname -v`. */
  kernelVersion: string;
  /** Identification string after `SSH-2.0-`. */
  sshVersion: string;
  /** Default login shell and the prompt style it shows. */
  shell: string;
  promptStyle: 'bash' | 'ash' | 'zsh-kali' | 'cmd';
  /** First non-root account a cloud image or installer creates. */
  defaultUser: string;
  packageManager: 'apt' | 'dnf' | 'yum' | 'apk' | 'pacman' | 'none';
  /** Server versions as the distro's packages report them. */
  nginx: string;
  apache: string;
  vsftpd: string;
  /** SMTP greeting product part, e.g. `Postfix (Debian/GNU)`. */
  smtp: string;
  /** Full server version as MySQL/MariaDB report it in the handshake. */
  mysql: string;
  /** `server_version` of PostgreSQL. */
  postgres: string;
  redis: string;
  openssl: string;
  python: string;
  /** /etc/os-release (Linux) or '' (Windows). */
  osRelease: string;
  /** /etc/issue (`\n` and `\l` escapes as getty shows them). */
  issue: string;
}

export interface Distro {
  readonly slug: string;
  readonly displayName: string;
  readonly osFamily: OsFamily;
  readonly hostnameStyle: HostnameStyle;
  readonly facts: Readonly<DistroFacts>;
}

function osRelease(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => (/^[A-Za-z0-9._-]+$/.test(v) && !['NAME', 'PRETTY_NAME', 'VERSION'].includes(k) ? `${k}=${v}` : `${k}="${v}"`))
    .join('\n') + '\n';
}

const debianLike = { shell: '/bin/bash', promptStyle: 'bash', packageManager: 'apt', apache: 'Apache/2.4.59 (Debian)' } as const;

export const DISTROS: readonly Distro[] = [
  {
    slug: 'debian',
    displayName: 'Debian 12 (bookworm)',
    osFamily: 'linux',
    hostnameStyle: 'generic',
    facts: {
      ...debianLike,
      kernelRelease: '6.1.0-21-amd64',
      kernelVersion: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1 (2024-05-03)',
      sshVersion: 'OpenSSH_9.2p1 Debian-2+deb12u3',
      defaultUser: 'debian',
      nginx: 'nginx/1.22.1',
      vsftpd: '3.0.3',
      smtp: 'Postfix (Debian/GNU)',
      mysql: '10.11.6-MariaDB-0+deb12u1',
      postgres: '15.7 (Debian 15.7-0+deb12u1)',
      redis: '7.0.15',
      openssl: '3.0.11',
      python: '3.11.2',
      osRelease: osRelease({
        PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)',
        NAME: 'Debian GNU/Linux',
        VERSION_ID: '12',
        VERSION: '12 (bookworm)',
        VERSION_CODENAME: 'bookworm',
        ID: 'debian',
        HOME_URL: 'https://www.debian.org/',
        SUPPORT_URL: 'https://www.debian.org/support',
        BUG_REPORT_URL: 'https://bugs.debian.org/',
      }),
      issue: 'Debian GNU/Linux 12 \\n \\l\n\n',
    },
  },
  {
    slug: 'ubuntu22',
    displayName: 'Ubuntu 22.04.4 LTS (jammy)',
    osFamily: 'linux',
    hostnameStyle: 'generic',
    facts: {
      ...debianLike,
      apache: 'Apache/2.4.52 (Ubuntu)',
      kernelRelease: '5.15.0-107-generic',
      kernelVersion: '#117-Ubuntu SMP Fri Apr 26 12:26:49 UTC 2024',
      sshVersion: 'OpenSSH_8.9p1 Ubuntu-3ubuntu0.7',
      defaultUser: 'ubuntu',
      nginx: 'nginx/1.18.0 (Ubuntu)',
      vsftpd: '3.0.5',
      smtp: 'Postfix (Ubuntu)',
      mysql: '8.0.36-0ubuntu0.22.04.1',
      postgres: '14.12 (Ubuntu 14.12-0ubuntu0.22.04.1)',
      redis: '6.0.16',
      openssl: '3.0.2',
      python: '3.10.12',
      osRelease: osRelease({
        PRETTY_NAME: 'Ubuntu 22.04.4 LTS',
        NAME: 'Ubuntu',
        VERSION_ID: '22.04',
        VERSION: '22.04.4 LTS (Jammy Jellyfish)',
        VERSION_CODENAME: 'jammy',
        ID: 'ubuntu',
        ID_LIKE: 'debian',
        HOME_URL: 'https://www.ubuntu.com/',
        SUPPORT_URL: 'https://help.ubuntu.com/',
        BUG_REPORT_URL: 'https://bugs.launchpad.net/ubuntu/',
        PRIVACY_POLICY_URL: 'https://www.ubuntu.com/legal/terms-and-policies/privacy-policy',
        UBUNTU_CODENAME: 'jammy',
      }),
      issue: 'Ubuntu 22.04.4 LTS \\n \\l\n\n',
    },
  },
  {
    slug: 'ubuntu20',
    displayName: 'Ubuntu 20.04.6 LTS (focal)',
    osFamily: 'linux',
    hostnameStyle: 'generic',
    facts: {
      ...debianLike,
      apache: 'Apache/2.4.41 (Ubuntu)',
      kernelRelease: '5.4.0-182-generic',
      kernelVersion: '#202-Ubuntu SMP Fri Apr 26 12:29:36 UTC 2024',
      sshVersion: 'OpenSSH_8.2p1 Ubuntu-4ubuntu0.11',
      defaultUser: 'ubuntu',
      nginx: 'nginx/1.18.0 (Ubuntu)',
      vsftpd: '3.0.3',
      smtp: 'Postfix (Ubuntu)',
      mysql: '8.0.36-0ubuntu0.20.04.1',
      postgres: '12.19 (Ubuntu 12.19-0ubuntu0.20.04.1)',
      redis: '5.0.7',
      openssl: '1.1.1f',
      python: '3.8.10',
      osRelease: osRelease({
        NAME: 'Ubuntu',
        VERSION: '20.04.6 LTS (Focal Fossa)',
        ID: 'ubuntu',
        ID_LIKE: 'debian',
        PRETTY_NAME: 'Ubuntu 20.04.6 LTS',
        VERSION_ID: '20.04',
        HOME_URL: 'https://www.ubuntu.com/',
        SUPPORT_URL: 'https://help.ubuntu.com/',
        BUG_REPORT_URL: 'https://bugs.launchpad.net/ubuntu/',
        VERSION_CODENAME: 'focal',
        UBUNTU_CODENAME: 'focal',
      }),
      issue: 'Ubuntu 20.04.6 LTS \\n \\l\n\n',
    },
  },
  {
    slug: 'rocky9',
    displayName: 'Rocky Linux 9.4 (Blue Onyx)',
    osFamily: 'linux',
    hostnameStyle: 'rhel',
    facts: {
      kernelRelease: '5.14.0-427.16.1.el9_4.x86_64',
      kernelVersion: '#1 SMP PREEMPT_DYNAMIC Wed May 8 17:48:14 UTC 2024',
      sshVersion: 'OpenSSH_8.7',
      shell: '/bin/bash',
      promptStyle: 'bash',
      defaultUser: 'rocky',
      packageManager: 'dnf',
      nginx: 'nginx/1.20.1',
      apache: 'Apache/2.4.57 (Rocky Linux)',
      vsftpd: '3.0.5',
      smtp: 'Postfix',
      mysql: '8.0.36',
      postgres: '13.14',
      redis: '6.2.7',
      openssl: '3.0.7',
      python: '3.9.18',
      osRelease: osRelease({
        NAME: 'Rocky Linux',
        VERSION: '9.4 (Blue Onyx)',
        ID: 'rocky',
        ID_LIKE: 'rhel centos fedora',
        VERSION_ID: '9.4',
        PLATFORM_ID: 'platform:el9',
        PRETTY_NAME: 'Rocky Linux 9.4 (Blue Onyx)',
        ANSI_COLOR: '0;32',
        LOGO: 'fedora-logo-icon',
        CPE_NAME: 'cpe:/o:rocky:rocky:9::baseos',
        HOME_URL: 'https://rockylinux.org/',
        BUG_REPORT_URL: 'https://bugs.rockylinux.org/',
        ROCKY_SUPPORT_PRODUCT: 'Rocky-Linux-9',
        ROCKY_SUPPORT_PRODUCT_VERSION: '9.4',
      }),
      issue: '\\S\nKernel \\r on an \\m\n\n',
    },
  },
  {
    slug: 'centos7',
    displayName: 'CentOS Linux 7 (Core)',
    osFamily: 'linux',
    hostnameStyle: 'rhel',
    facts: {
      kernelRelease: '3.10.0-1160.119.1.el7.x86_64',
      kernelVersion: '#1 SMP Tue Jun 4 14:43:51 UTC 2024',
      sshVersion: 'OpenSSH_7.4',
      shell: '/bin/bash',
      promptStyle: 'bash',
      defaultUser: 'centos',
      packageManager: 'yum',
      nginx: 'nginx/1.20.1',
      apache: 'Apache/2.4.6 (CentOS)',
      vsftpd: '3.0.2',
      smtp: 'Postfix',
      mysql: '5.5.68-MariaDB',
      postgres: '9.2.24',
      redis: '3.2.12',
      openssl: '1.0.2k-fips',
      python: '2.7.5',
      osRelease: osRelease({
        NAME: 'CentOS Linux',
        VERSION: '7 (Core)',
        ID: 'centos',
        ID_LIKE: 'rhel fedora',
        VERSION_ID: '7',
        PRETTY_NAME: 'CentOS Linux 7 (Core)',
        ANSI_COLOR: '0;31',
        CPE_NAME: 'cpe:/o:centos:centos:7',
        HOME_URL: 'https://www.centos.org/',
        BUG_REPORT_URL: 'https://bugs.centos.org/',
      }),
      issue: '\\S\nKernel \\r on an \\m\n\n',
    },
  },
  {
    slug: 'alpine',
    displayName: 'Alpine Linux 3.19',
    osFamily: 'linux',
    hostnameStyle: 'minimal',
    facts: {
      kernelRelease: '6.6.31-0-lts',
      kernelVersion: '#1-Alpine SMP PREEMPT_DYNAMIC Fri, 17 May 2024 06:40:31 +0000',
      sshVersion: 'OpenSSH_9.6',
      shell: '/bin/ash',
      promptStyle: 'ash',
      defaultUser: 'alpine',
      packageManager: 'apk',
      nginx: 'nginx/1.24.0',
      apache: 'Apache/2.4.59 (Unix)',
      vsftpd: '3.0.5',
      smtp: 'Postfix',
      mysql: '10.11.6-MariaDB',
      postgres: '16.3',
      redis: '7.2.4',
      openssl: '3.1.5',
      python: '3.11.9',
      osRelease: osRelease({
        NAME: 'Alpine Linux',
        ID: 'alpine',
        VERSION_ID: '3.19.1',
        PRETTY_NAME: 'Alpine Linux v3.19',
        HOME_URL: 'https://alpinelinux.org/',
        BUG_REPORT_URL: 'https://gitlab.alpinelinux.org/alpine/aports/-/issues',
      }),
      issue: 'Welcome to Alpine Linux 3.19\nKernel \\r on an \\m (\\l)\n\n',
    },
  },
  {
    slug: 'fedora',
    displayName: 'Fedora Linux 39 (Server Edition)',
    osFamily: 'linux',
    hostnameStyle: 'rhel',
    facts: {
      kernelRelease: '6.8.9-200.fc39.x86_64',
      kernelVersion: '#1 SMP PREEMPT_DYNAMIC Thu May  2 18:50:49 UTC 2024',
      sshVersion: 'OpenSSH_9.3',
      shell: '/bin/bash',
      promptStyle: 'bash',
      defaultUser: 'fedora',
      packageManager: 'dnf',
      nginx: 'nginx/1.24.0',
      apache: 'Apache/2.4.59 (Fedora Linux)',
      vsftpd: '3.0.5',
      smtp: 'Postfix',
      mysql: '8.0.36',
      postgres: '15.6',
      redis: '7.2.4',
      openssl: '3.1.1',
      python: '3.12.3',
      osRelease: osRelease({
        NAME: 'Fedora Linux',
        VERSION: '39 (Server Edition)',
        ID: 'fedora',
        VERSION_ID: '39',
        VERSION_CODENAME: '',
        PLATFORM_ID: 'platform:f39',
        PRETTY_NAME: 'Fedora Linux 39 (Server Edition)',
        ANSI_COLOR: '0;38;2;60;110;180',
        LOGO: 'fedora-logo-icon',
        CPE_NAME: 'cpe:/o:fedoraproject:fedora:39',
        HOME_URL: 'https://fedoraproject.org/',
        SUPPORT_URL: 'https://ask.fedoraproject.org/',
        BUG_REPORT_URL: 'https://bugzilla.redhat.com/',
        VARIANT: 'Server Edition',
        VARIANT_ID: 'server',
      }),
      issue: '\\S\nKernel \\r on an \\m (\\l)\n\n',
    },
  },
  {
    slug: 'kali',
    displayName: 'Kali GNU/Linux Rolling 2024.2',
    osFamily: 'linux',
    hostnameStyle: 'rolling',
    facts: {
      ...debianLike,
      kernelRelease: '6.8.11-amd64',
      kernelVersion: '#1 SMP PREEMPT_DYNAMIC Kali 6.8.11-1kali2 (2024-05-30)',
      sshVersion: 'OpenSSH_9.7p1 Debian-5',
      shell: '/usr/bin/zsh',
      promptStyle: 'zsh-kali',
      defaultUser: 'kali',
      nginx: 'nginx/1.26.0',
      vsftpd: '3.0.3',
      smtp: 'Postfix (Debian/GNU)',
      mysql: '11.3.2-MariaDB-1',
      postgres: '16.3 (Debian 16.3-1)',
      redis: '7.0.15',
      openssl: '3.2.2',
      python: '3.11.9',
      osRelease: osRelease({
        PRETTY_NAME: 'Kali GNU/Linux Rolling',
        NAME: 'Kali GNU/Linux',
        VERSION_ID: '2024.2',
        VERSION: '2024.2',
        VERSION_CODENAME: 'kali-rolling',
        ID: 'kali',
        ID_LIKE: 'debian',
        HOME_URL: 'https://www.kali.org/',
        SUPPORT_URL: 'https://forums.kali.org/',
        BUG_REPORT_URL: 'https://bugs.kali.org/',
        ANSI_COLOR: '1;31',
      }),
      issue: 'Kali GNU/Linux Rolling \\n \\l\n\n',
    },
  },
  {
    slug: 'arch',
    displayName: 'Arch Linux',
    osFamily: 'linux',
    hostnameStyle: 'rolling',
    facts: {
      kernelRelease: '6.9.3-arch1-1',
      kernelVersion: '#1 SMP PREEMPT_DYNAMIC Fri, 31 May 2024 15:14:45 +0000',
      sshVersion: 'OpenSSH_9.7',
      shell: '/bin/bash',
      promptStyle: 'bash',
      defaultUser: 'arch',
      packageManager: 'pacman',
      nginx: 'nginx/1.26.0',
      apache: 'Apache/2.4.59 (Unix)',
      vsftpd: '3.0.5',
      smtp: 'Postfix',
      mysql: '11.3.2-MariaDB',
      postgres: '16.3',
      redis: '7.2.5',
      openssl: '3.3.0',
      python: '3.12.3',
      osRelease: osRelease({
        NAME: 'Arch Linux',
        PRETTY_NAME: 'Arch Linux',
        ID: 'arch',
        BUILD_ID: 'rolling',
        ANSI_COLOR: '38;2;23;147;209',
        HOME_URL: 'https://archlinux.org/',
        DOCUMENTATION_URL: 'https://wiki.archlinux.org/',
        SUPPORT_URL: 'https://bbs.archlinux.org/',
        BUG_REPORT_URL: 'https://gitlab.archlinux.org/groups/archlinux/-/issues',
        PRIVACY_POLICY_URL: 'https://terms.archlinux.org/docs/privacy-policy/',
        LOGO: 'archlinux-logo',
      }),
      issue: 'Arch Linux \\r (\\l)\n\n',
    },
  },
];

const windowsFacts = (kernel: string, build: string): DistroFacts => ({
  kernelRelease: kernel,
  kernelVersion: `Build ${build}`,
  sshVersion: 'OpenSSH_for_Windows_8.1',
  shell: 'C:\\Windows\\system32\\cmd.exe',
  promptStyle: 'cmd',
  defaultUser: 'Administrator',
  packageManager: 'none',
  nginx: 'Microsoft-IIS/10.0',
  apache: 'Microsoft-IIS/10.0',
  vsftpd: '',
  smtp: 'Microsoft ESMTP MAIL Service',
  mysql: '8.0.36',
  postgres: '16.3',
  redis: '5.0.14.1',
  openssl: '',
  python: '',
  osRelease: '',
  issue: '',
});

/** Windows builds for Windows personas (their `distro` is one of these slugs). */
export const WINDOWS_BUILDS: readonly Distro[] = [
  { slug: 'win10', displayName: 'Windows 10 Pro 22H2', osFamily: 'windows', hostnameStyle: 'windows', facts: windowsFacts('10.0.19045', '19045') },
  { slug: 'win11', displayName: 'Windows 11 Pro 23H2', osFamily: 'windows', hostnameStyle: 'windows', facts: windowsFacts('10.0.22631', '22631') },
  { slug: 'win2016', displayName: 'Windows Server 2016 Standard', osFamily: 'windows', hostnameStyle: 'windows', facts: windowsFacts('10.0.14393', '14393') },
  { slug: 'win2019', displayName: 'Windows Server 2019 Standard', osFamily: 'windows', hostnameStyle: 'windows', facts: windowsFacts('10.0.17763', '17763') },
  { slug: 'win2022', displayName: 'Windows Server 2022 Standard', osFamily: 'windows', hostnameStyle: 'windows', facts: windowsFacts('10.0.20348', '20348') },
];

export function findDistro(slug: string): Distro | undefined {
  return DISTROS.find((d) => d.slug === slug) ?? WINDOWS_BUILDS.find((d) => d.slug === slug);
}

export function distroSlugs(): string[] {
  return DISTROS.map((d) => d.slug);
}
