// The mail domain a decky's SMTP/POP3/IMAP (and FTP bait) speak for, derived from its persona.
import type { Persona } from '../service.ts';

const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** 'auto' → the hostname's domain part when it has a real one, else "<first word of the hostname>.lan". */
export function mailDomainFor(persona: Persona, configured = 'auto'): string {
  const want = configured.trim().toLowerCase();
  if (want !== '' && want !== 'auto') {
    if (!DOMAIN.test(want)) throw new Error(`domain must be a DNS name like corp.example, got ${JSON.stringify(configured)}`);
    return want;
  }
  const host = persona.hostname.toLowerCase();
  const dot = host.indexOf('.');
  if (dot > 0) {
    const rest = host.slice(dot + 1);
    if (rest !== 'localdomain' && rest !== 'local' && DOMAIN.test(rest)) return rest;
  }
  const word = host.replace(/^(srv|win|desktop|dc)-?/, '').split(/[.\-_\d]/).find((w) => w.length > 1) ?? 'corp';
  return `${word}.lan`;
}

/** A fully qualified name for the decky: its hostname when already qualified, else hostname.domain. */
export function fqdnFor(persona: Persona, domain: string): string {
  const host = persona.hostname.toLowerCase();
  return host.includes('.') ? host : `${host}.${domain}`;
}
