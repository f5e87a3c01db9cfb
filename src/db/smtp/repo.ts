// SMTP-targets repository: the victim domains each attacker tried to mail through the decoys.
import { sql, type Kysely } from 'kysely';
import type { Db } from '../types.ts';
import type { SmtpTables } from './schema.ts';
import { DataError, int, name, num, text, time } from '../values.ts';

export interface SmtpTargetRow {
  attacker_uuid: string;
  domain: string;
  first_seen: string;
  last_seen: string;
  count: number;
}

const q = (db: Db) => db.kysely as Kysely<SmtpTables>;
const DOMAIN = /^(?=.{1,253}$)[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/;

/** Lower-cased domain; an address's local part is never stored, so `user@host` is refused. */
function domainOf(value: unknown): string {
  const d = text('domain', value, 'short').trim().toLowerCase();
  if (!DOMAIN.test(d)) throw new DataError('domain', `${JSON.stringify(value)} is not a domain name (pass the domain only, never the address)`);
  return d.replace(/\.$/, '');
}

/** Counts `count` more messages from an attacker towards a domain. */
export async function incrementSmtpTarget(db: Db, attackerUuid: string, domain: string, seenAt: string | Date | number, count = 1): Promise<void> {
  const seen = time('seen_at', seenAt);
  const n = int('count', count, 1, 1_000_000);
  await q(db)
    .insertInto('smtp_targets')
    .values({ attacker_uuid: name('attacker_uuid', attackerUuid), domain: domainOf(domain), first_seen: seen, last_seen: seen, count: n })
    .onConflict((oc) =>
      oc.columns(['attacker_uuid', 'domain']).doUpdateSet((eb) => ({
        count: eb('smtp_targets.count', '+', n),
        last_seen: sql<string>`case when ${eb.ref('excluded.last_seen')} > ${eb.ref('smtp_targets.last_seen')} then ${eb.ref('excluded.last_seen')} else ${eb.ref('smtp_targets.last_seen')} end`,
        first_seen: sql<string>`case when ${eb.ref('excluded.first_seen')} < ${eb.ref('smtp_targets.first_seen')} then ${eb.ref('excluded.first_seen')} else ${eb.ref('smtp_targets.first_seen')} end`,
      })),
    )
    .execute();
}

export async function listSmtpTargets(db: Db, attackerUuid: string): Promise<{ total: number; data: SmtpTargetRow[] }> {
  const rows = await q(db)
    .selectFrom('smtp_targets')
    .select(['attacker_uuid', 'domain', 'first_seen', 'last_seen', 'count'])
    .where('attacker_uuid', '=', name('attacker_uuid', attackerUuid))
    .orderBy('count', 'desc')
    .orderBy('domain')
    .execute();
  return { total: rows.length, data: rows.map((r) => ({ ...r, count: num(r.count) })) };
}
