// The decoy services that exist, as data. The decoy host imports a service's module only if some
// decky of its plan uses that service (DESIGN §6).
import type { DecoyService } from './service.ts';

export interface CatalogEntry {
  readonly name: string;
  readonly summary: string;
  /** Default ports, as shown by `decnet services` and used by `deploy --dry-run` without loading the module. */
  readonly ports: readonly string[];
  load(): Promise<DecoyService>;
}

const entry = (name: string, summary: string, ports: string[], load: () => Promise<{ default: DecoyService }>): CatalogEntry => ({
  name,
  summary,
  ports,
  load: () => load().then((m) => m.default),
});

export const SERVICES: readonly CatalogEntry[] = [
  entry('ssh', 'OpenSSH server with an emulated shell', ['22/tcp'], () => import('./services/ssh.ts')),
  entry('telnet', 'telnet login with the same emulated shell', ['23/tcp'], () => import('./services/telnet.ts')),
  entry('http', 'web server with fake login pages', ['80/tcp'], () => import('./services/http.ts')),
  entry('https', 'web server over TLS (JA3/JA4 recorded)', ['443/tcp'], () => import('./services/https.ts')),
  entry('ftp', 'vsftpd-like FTP server with bait files', ['21/tcp'], () => import('./services/ftp.ts')),
  entry('smtp', 'Postfix-like mail server (AUTH capture, open-relay bait)', ['25/tcp', '587/tcp'], () => import('./services/smtp.ts')),
  entry('pop3', 'POP3 mailbox', ['110/tcp', '995/tcp'], () => import('./services/pop3.ts')),
  entry('imap', 'IMAP mailbox', ['143/tcp', '993/tcp'], () => import('./services/imap.ts')),
  entry('mysql', 'MySQL server handshake and auth capture', ['3306/tcp'], () => import('./services/mysql.ts')),
  entry('postgres', 'PostgreSQL startup and password capture', ['5432/tcp'], () => import('./services/postgres.ts')),
  entry('mssql', 'Microsoft SQL Server prelogin and login7 capture', ['1433/tcp'], () => import('./services/mssql.ts')),
  entry('mongodb', 'MongoDB wire protocol', ['27017/tcp'], () => import('./services/mongodb.ts')),
  entry('redis', 'Redis (RESP) with realistic replies', ['6379/tcp'], () => import('./services/redis.ts')),
  entry('elasticsearch', 'Elasticsearch REST API', ['9200/tcp'], () => import('./services/elasticsearch.ts')),
  entry('docker_api', 'Docker Engine API', ['2375/tcp'], () => import('./services/docker-api.ts')),
  entry('k8s', 'Kubernetes API server', ['6443/tcp', '8080/tcp'], () => import('./services/k8s.ts')),
  entry('rdp', 'RDP negotiation (user name where sent)', ['3389/tcp'], () => import('./services/rdp.ts')),
  entry('smb', 'SMB2 negotiate and NTLMSSP session setup', ['445/tcp', '139/tcp'], () => import('./services/smb.ts')),
  entry('vnc', 'RFB handshake with challenge capture', ['5900/tcp'], () => import('./services/vnc.ts')),
  entry('snmp', 'SNMP agent (community strings)', ['161/udp'], () => import('./services/snmp.ts')),
  entry('sip', 'SIP registrar', ['5060/udp', '5060/tcp'], () => import('./services/sip.ts')),
  entry('mqtt', 'MQTT broker (CONNECT credentials, topics)', ['1883/tcp'], () => import('./services/mqtt.ts')),
  entry('tftp', 'TFTP server', ['69/udp'], () => import('./services/tftp.ts')),
  entry('ldap', 'LDAP directory (bind DN and password)', ['389/tcp'], () => import('./services/ldap.ts')),
  entry('llmnr', 'LLMNR responder', ['5355/udp'], () => import('./services/llmnr.ts')),
  entry('mdns', 'mDNS responder', ['5353/udp'], () => import('./services/mdns.ts')),
  entry('dns', 'DNS server', ['53/udp', '53/tcp'], () => import('./services/dns.ts')),
  entry('modbus', 'Modbus/TCP PLC (register reads and writes)', ['502/tcp'], () => import('./services/modbus.ts')),
];

export function findService(name: string): CatalogEntry | undefined {
  return SERVICES.find((s) => s.name === name);
}

export function serviceNames(): string[] {
  return SERVICES.map((s) => s.name);
}
