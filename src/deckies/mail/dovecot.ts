// What the POP3/IMAP decoys share: Dovecot's greeting for the persona, the weak accounts that open the
// bait mailbox, and the per-decky mailbox seed.
import { createHash } from 'node:crypto';
import type { ServiceContext } from '../service.ts';
import { personaFacts } from '../personas/facts.ts';
import { parseAccounts } from './accounts.ts';
import { fqdnFor, mailDomainFor } from './domain.ts';

export interface MailStoreConfig {
  /** "Dovecot (Debian) ready." */
  greeting: string;
  hostname: string;
  domain: string;
  accounts: Map<string, string>;
  seed: number;
}

export const MAIL_PERSONA_KEYS = {
  users: { summary: 'accounts that open the bait mailbox, as user:password pairs separated by commas', default: 'admin:admin123,mail:mail' },
  domain: { summary: "mail domain: 'auto' derives it from the hostname", default: 'auto' },
  greeting: { summary: "server greeting text: 'auto' gives Dovecot's for the distro", default: 'auto' },
} as const;

/** Debian and Ubuntu build Dovecot with their name in the greeting; others say "Dovecot ready.". */
function dovecotGreeting(distro: string): string {
  if (distro === 'debian' || distro === 'kali') return 'Dovecot (Debian) ready.';
  if (distro.startsWith('ubuntu')) return 'Dovecot (Ubuntu) ready.';
  return 'Dovecot ready.';
}

export function mailStoreConfig(ctx: ServiceContext): MailStoreConfig {
  const persona = ctx.decky.persona;
  const facts = personaFacts(persona);
  const domain = mailDomainFor(persona, ctx.config.domain ?? 'auto');
  const greeting = (ctx.config.greeting ?? 'auto').trim();
  return {
    greeting: greeting === '' || greeting === 'auto' ? dovecotGreeting(facts.distro) : greeting.replace(/[\r\n]/g, ' ').slice(0, 200),
    hostname: fqdnFor(persona, domain),
    domain,
    accounts: parseAccounts(ctx.config.users ?? MAIL_PERSONA_KEYS.users.default, ctx.service),
    // Shared by pop3 and imap of one decky, so both show the same mailbox.
    seed: createHash('sha256').update(`${ctx.decky.name}\0mailbox`).digest().readUInt32BE(0),
  };
}
