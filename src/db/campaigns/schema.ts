// Campaigns domain: operation-level groups of identities (the campaign clusterer).
import type { Db, Json } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface CampaignsTable {
  uuid: string;
  schema_version: number;
  first_seen_at: string;
  last_seen_at: string;
  created_at: string;
  updated_at: string;
  confidence: number;
  identity_count: number;
  ja3_hashes: Json;
  hassh_hashes: Json;
  tls_cert_sha256: Json;
  payload_simhashes: Json;
  c2_endpoints: Json;
  /** Soft merge: the campaign this one was folded into. */
  merged_into_uuid: string | null;
  notes: string | null;
}

export interface CampaignsTables {
  campaigns: CampaignsTable;
}

export const TABLES = ['campaigns'] as const;
export const LIST_COLUMNS = ['ja3_hashes', 'hassh_hashes', 'tls_cert_sha256', 'payload_simhashes', 'c2_endpoints'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  let table = db.kysely.schema
    .createTable('campaigns')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('schema_version', t.int, (c) => c.notNull().defaultTo(1))
    .addColumn('first_seen_at', t.text, (c) => c.notNull())
    .addColumn('last_seen_at', t.text, (c) => c.notNull())
    .addColumn('created_at', t.text, (c) => c.notNull())
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .addColumn('confidence', t.real, (c) => c.notNull().defaultTo(0))
    .addColumn('identity_count', t.int, (c) => c.notNull().defaultTo(0));
  for (const column of LIST_COLUMNS) table = table.addColumn(column, t.json, (c) => c.notNull().defaultTo('[]'));
  await table
    .addColumn('merged_into_uuid', t.text, (c) => c.references('campaigns.uuid').onDelete('set null'))
    .addColumn('notes', t.text)
    .execute();
  await index(db, 'campaigns', ['first_seen_at']);
  await index(db, 'campaigns', ['last_seen_at']);
  await index(db, 'campaigns', ['merged_into_uuid']);
}
