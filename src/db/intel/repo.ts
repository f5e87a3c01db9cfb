// Threat-intelligence repository: the enrichment worker's cached verdict per attacker.
import { sql, type Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { AttackersTables } from '../attackers/schema.ts';
import type { Db } from '../types.ts';
import { JSON_COLUMNS, type IntelTables } from './schema.ts';
import { fromJson, fromOptBool, int, ip, json, name, num, oneOf, optBool, optInt, optText, optTime, time } from '../values.ts';

export const VERDICTS = ['malicious', 'suspicious', 'benign', 'unknown'] as const;
export type Verdict = (typeof VERDICTS)[number];
type JsonColumn = (typeof JSON_COLUMNS)[number];

export interface IntelInput extends Partial<Record<JsonColumn, unknown>> {
  attacker_uuid: string;
  attacker_ip: string;
  aggregate_verdict: Verdict;
  /** How long the verdict stays valid. */
  ttl_ms: number;
  greynoise_classification?: string | null;
  greynoise_name?: string | null;
  greynoise_queried_at?: string | Date | number | null;
  abuseipdb_score?: number | null;
  abuseipdb_queried_at?: string | Date | number | null;
  feodo_listed?: boolean | null;
  feodo_malware_family?: string | null;
  feodo_queried_at?: string | Date | number | null;
  threatfox_listed?: boolean | null;
  threatfox_queried_at?: string | Date | number | null;
}

export interface IntelRow extends Record<JsonColumn, unknown> {
  uuid: string;
  attacker_uuid: string;
  attacker_ip: string;
  schema_version: number;
  greynoise_classification: string | null;
  greynoise_name: string | null;
  greynoise_queried_at: string | null;
  abuseipdb_score: number | null;
  abuseipdb_queried_at: string | null;
  feodo_listed: boolean | null;
  feodo_malware_family: string | null;
  feodo_queried_at: string | null;
  threatfox_listed: boolean | null;
  threatfox_queried_at: string | null;
  aggregate_verdict: Verdict;
  cached_at: string;
  expires_at: string;
}

const q = (db: Db) => db.kysely as Kysely<IntelTables & AttackersTables>;

/** Stores (or replaces) the verdict for an attacker, valid for ttl_ms from now. */
export async function upsertAttackerIntel(db: Db, i: IntelInput): Promise<void> {
  const now = Date.now();
  const values: Record<string, unknown> = {
    attacker_ip: ip('attacker_ip', i.attacker_ip),
    greynoise_classification: optText('greynoise_classification', i.greynoise_classification, 'name'),
    greynoise_name: optText('greynoise_name', i.greynoise_name, 'short'),
    greynoise_queried_at: optTime('greynoise_queried_at', i.greynoise_queried_at),
    abuseipdb_score: optInt('abuseipdb_score', i.abuseipdb_score, 0, 100),
    abuseipdb_queried_at: optTime('abuseipdb_queried_at', i.abuseipdb_queried_at),
    feodo_listed: optBool('feodo_listed', i.feodo_listed),
    feodo_malware_family: optText('feodo_malware_family', i.feodo_malware_family, 'short'),
    feodo_queried_at: optTime('feodo_queried_at', i.feodo_queried_at),
    threatfox_listed: optBool('threatfox_listed', i.threatfox_listed),
    threatfox_queried_at: optTime('threatfox_queried_at', i.threatfox_queried_at),
    aggregate_verdict: oneOf('aggregate_verdict', i.aggregate_verdict, VERDICTS),
    cached_at: new Date(now).toISOString(),
    expires_at: time('expires_at', now + int('ttl_ms', i.ttl_ms, 0, 366 * 86_400_000)),
  };
  for (const c of JSON_COLUMNS) values[c] = i[c] === undefined || i[c] === null ? null : json(c, i[c]);
  await q(db)
    .insertInto('attacker_intel')
    .values({ uuid: uuidv7(), attacker_uuid: name('attacker_uuid', i.attacker_uuid), schema_version: 1, ...values } as never)
    .onConflict((oc) => oc.column('attacker_uuid').doUpdateSet(values as never))
    .execute();
}

function decode(r: Record<string, unknown>): IntelRow {
  const out: Record<string, unknown> = { ...r, feodo_listed: fromOptBool(r.feodo_listed), threatfox_listed: fromOptBool(r.threatfox_listed) };
  if (r.abuseipdb_score !== null && r.abuseipdb_score !== undefined) out.abuseipdb_score = num(r.abuseipdb_score);
  for (const c of JSON_COLUMNS) out[c] = fromJson(r[c], null);
  return out as unknown as IntelRow;
}

export async function getAttackerIntel(db: Db, attackerUuid: string): Promise<IntelRow | undefined> {
  const row = await q(db).selectFrom('attacker_intel').selectAll().where('attacker_uuid', '=', name('attacker_uuid', attackerUuid)).executeTakeFirst();
  return row ? decode(row as Record<string, unknown>) : undefined;
}

/** Attackers without a verdict or whose verdict expired, least recently seen verdicts first. */
export async function listUnenrichedAttackers(db: Db, limit = 100, now: string | Date | number = Date.now()): Promise<{ uuid: string; ip: string }[]> {
  const at = time('now', now);
  return q(db)
    .selectFrom('attackers as a')
    .leftJoin('attacker_intel as i', 'i.attacker_uuid', 'a.uuid')
    .select(['a.uuid', 'a.ip'])
    .where((eb) => eb.or([eb('i.uuid', 'is', null), eb('i.expires_at', '<', at)]))
    .orderBy(sql`case when ${sql.ref('i.uuid')} is null then 0 else 1 end`)
    .orderBy('a.last_seen', 'desc')
    .limit(int('limit', limit, 1, 10_000))
    .execute();
}
