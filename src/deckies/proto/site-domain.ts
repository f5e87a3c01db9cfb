// The DNS domain and NetBIOS names a decky claims, shared by the services that must agree on them
// (dns zone, LDAP naming contexts, SMB/RDP NTLM target info): a DC answering LDAP for corp.local
// must not hand out an NTLM challenge naming another domain.
import type { Persona } from '../service.ts';

const DOMAIN_RE = /^(?=.{3,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;
const MEANINGLESS = new Set(['localdomain', 'local', 'localhost', 'lan']);

export const DEFAULT_DOMAIN = 'corp.local';

/** A configured domain if valid, else the suffix of a dotted host name, else corp.local. Lower case. */
export function deckyDomain(persona: Persona, configured = 'auto'): string {
  if (configured && configured !== 'auto' && DOMAIN_RE.test(configured)) return configured.toLowerCase();
  const dot = persona.hostname.indexOf('.');
  if (dot > 0) {
    const suffix = persona.hostname.slice(dot + 1).toLowerCase();
    if (DOMAIN_RE.test(suffix) && !MEANINGLESS.has(suffix.split('.').pop()!) && !MEANINGLESS.has(suffix)) return suffix;
  }
  return DEFAULT_DOMAIN;
}

export function isValidDomain(name: string): boolean {
  return DOMAIN_RE.test(name);
}

/** NetBIOS computer name: the short host name, upper case, at most 15 characters. */
export function netbiosName(hostname: string): string {
  return (hostname.split('.')[0] || hostname).toUpperCase().replace(/[^A-Z0-9!@#$%^&'()._{}~-]/g, '-').slice(0, 15);
}

/** NetBIOS domain name: the first label of the DNS domain, upper case, at most 15 characters. */
export function netbiosDomain(domain: string): string {
  return domain.split('.')[0]!.toUpperCase().slice(0, 15);
}

/** `DC=corp,DC=local` for `corp.local`. */
export function domainDn(domain: string): string {
  return domain
    .split('.')
    .map((l) => `DC=${l}`)
    .join(',');
}

/** Windows personas are members of (or run) the AD domain; others (Samba, appliances) stand alone. */
export function joinsDomain(persona: Persona): boolean {
  return persona.osFamily === 'windows';
}
