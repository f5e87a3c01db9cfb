// Threat-intelligence domain: one cached verdict per attacker from the enrichment providers,
// valid until `expires_at`.
import { sql } from 'kysely';
import type { BoolNull, Db, JsonNull } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface AttackerIntelTable {
  uuid: string;
  attacker_uuid: string;
  attacker_ip: string;
  schema_version: number;
  greynoise_classification: string | null;
  greynoise_name: string | null;
  greynoise_tags: JsonNull;
  greynoise_raw: JsonNull;
  greynoise_queried_at: string | null;
  abuseipdb_score: number | null;
  abuseipdb_categories: JsonNull;
  abuseipdb_raw: JsonNull;
  abuseipdb_queried_at: string | null;
  feodo_listed: BoolNull;
  feodo_malware_family: string | null;
  feodo_raw: JsonNull;
  feodo_queried_at: string | null;
  threatfox_listed: BoolNull;
  threatfox_threat_types: JsonNull;
  threatfox_ioc_types: JsonNull;
  threatfox_malware_families: JsonNull;
  threatfox_raw: JsonNull;
  threatfox_queried_at: string | null;
  aggregate_verdict: string;
  cached_at: string;
  expires_at: string;
}

export interface IntelTables {
  attacker_intel: AttackerIntelTable;
}

export const TABLES = ['attacker_intel'] as const;
export const JSON_COLUMNS = [
  'greynoise_tags',
  'greynoise_raw',
  'abuseipdb_categories',
  'abuseipdb_raw',
  'feodo_raw',
  'threatfox_threat_types',
  'threatfox_ioc_types',
  'threatfox_malware_families',
  'threatfox_raw',
] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('attacker_intel')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('attacker_uuid', t.text, (c) => c.notNull().unique().references('attackers.uuid').onDelete('cascade'))
    .addColumn('attacker_ip', t.text, (c) => c.notNull())
    .addColumn('schema_version', t.int, (c) => c.notNull().defaultTo(1))
    .addColumn('greynoise_classification', t.text)
    .addColumn('greynoise_name', t.text)
    .addColumn('greynoise_tags', t.json)
    .addColumn('greynoise_raw', t.json)
    .addColumn('greynoise_queried_at', t.text)
    .addColumn('abuseipdb_score', t.int, (c) => c.check(sqlRange('abuseipdb_score', 0, 100)))
    .addColumn('abuseipdb_categories', t.json)
    .addColumn('abuseipdb_raw', t.json)
    .addColumn('abuseipdb_queried_at', t.text)
    .addColumn('feodo_listed', t.bool)
    .addColumn('feodo_malware_family', t.text)
    .addColumn('feodo_raw', t.json)
    .addColumn('feodo_queried_at', t.text)
    .addColumn('threatfox_listed', t.bool)
    .addColumn('threatfox_threat_types', t.json)
    .addColumn('threatfox_ioc_types', t.json)
    .addColumn('threatfox_malware_families', t.json)
    .addColumn('threatfox_raw', t.json)
    .addColumn('threatfox_queried_at', t.text)
    .addColumn('aggregate_verdict', t.text, (c) => c.notNull().defaultTo('unknown'))
    .addColumn('cached_at', t.text, (c) => c.notNull())
    .addColumn('expires_at', t.text, (c) => c.notNull())
    .execute();
  for (const column of ['attacker_ip', 'aggregate_verdict', 'cached_at', 'expires_at']) await index(db, 'attacker_intel', [column]);
}

function sqlRange(column: string, min: number, max: number) {
  return sql`${sql.ref(column)} between ${sql.lit(min)} and ${sql.lit(max)}`;
}
