// Machine archetypes, as data: the role a decky plays on the LAN, its usual services and the
// builds it runs. The fifteen roles of the original; Windows roles run Windows builds (the
// original could only fake them on Debian containers), and the industrial controller speaks
// Modbus, SNMP and a web panel instead of a separate conpot image.
import type { OsFamily } from '../service.ts';

export interface Archetype {
  readonly slug: string;
  readonly displayName: string;
  readonly description: string;
  readonly services: readonly string[];
  /** Distro (or Windows build) slugs, in preference order. */
  readonly distros: readonly string[];
  readonly osFamily: OsFamily;
}

export const ARCHETYPES: readonly Archetype[] = [
  { slug: 'windows-workstation', displayName: 'Windows Workstation', description: 'an office PC sharing files and accepting remote desktop', services: ['smb', 'rdp'], distros: ['win10', 'win11'], osFamily: 'windows' },
  { slug: 'windows-server', displayName: 'Windows Server', description: 'a member server with file shares, RDP and directory lookups', services: ['smb', 'rdp', 'ldap'], distros: ['win2019', 'win2022', 'win2016'], osFamily: 'windows' },
  { slug: 'domain-controller', displayName: 'Domain Controller', description: 'an Active Directory controller: LDAP, SMB, RDP and name resolution', services: ['ldap', 'smb', 'rdp', 'llmnr'], distros: ['win2019', 'win2022', 'win2016'], osFamily: 'windows' },
  { slug: 'linux-server', displayName: 'Linux Server', description: 'a general-purpose server with SSH and a web site', services: ['ssh', 'http'], distros: ['debian', 'ubuntu22', 'rocky9', 'fedora'], osFamily: 'linux' },
  { slug: 'web-server', displayName: 'Web Server', description: 'a web host with FTP for content uploads', services: ['http', 'ftp'], distros: ['debian', 'ubuntu22', 'ubuntu20'], osFamily: 'linux' },
  { slug: 'database-server', displayName: 'Database Server', description: 'MySQL, PostgreSQL and Redis on one box', services: ['mysql', 'postgres', 'redis'], distros: ['debian', 'ubuntu22'], osFamily: 'linux' },
  { slug: 'mail-server', displayName: 'Mail Server', description: 'SMTP with POP3 and IMAP mailboxes', services: ['smtp', 'pop3', 'imap'], distros: ['debian', 'ubuntu22'], osFamily: 'linux' },
  { slug: 'file-server', displayName: 'File Server', description: 'SMB shares, FTP and SSH', services: ['smb', 'ftp', 'ssh'], distros: ['debian', 'ubuntu22', 'rocky9'], osFamily: 'linux' },
  { slug: 'printer', displayName: 'Network Printer', description: 'a printer with SNMP and scan-to-FTP', services: ['snmp', 'ftp'], distros: ['alpine', 'debian'], osFamily: 'embedded' },
  { slug: 'iot-device', displayName: 'IoT Device', description: 'a small device with MQTT, SNMP and telnet', services: ['mqtt', 'snmp', 'telnet'], distros: ['alpine'], osFamily: 'embedded' },
  { slug: 'industrial-control', displayName: 'Industrial Controller', description: 'a PLC speaking Modbus/TCP with SNMP and a web panel', services: ['modbus', 'snmp', 'http'], distros: ['debian'], osFamily: 'embedded' },
  { slug: 'voip-server', displayName: 'VoIP Server', description: 'a SIP registrar', services: ['sip'], distros: ['debian', 'ubuntu22'], osFamily: 'linux' },
  { slug: 'monitoring-node', displayName: 'Monitoring Node', description: 'a monitoring box polling SNMP, reachable over SSH', services: ['snmp', 'ssh'], distros: ['debian', 'rocky9'], osFamily: 'linux' },
  { slug: 'devops-host', displayName: 'DevOps Host', description: 'a build host exposing the Docker API, Kubernetes and SSH', services: ['docker_api', 'ssh', 'k8s'], distros: ['ubuntu22', 'debian'], osFamily: 'linux' },
  { slug: 'deaddeck', displayName: 'Dead Deck', description: 'a forgotten box with only SSH open', services: ['ssh'], distros: ['debian', 'ubuntu22'], osFamily: 'linux' },
];

export function findArchetype(slug: string): Archetype | undefined {
  return ARCHETYPES.find((a) => a.slug === slug);
}

export function archetypeSlugs(): string[] {
  return ARCHETYPES.map((a) => a.slug);
}
