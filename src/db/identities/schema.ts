// Identities domain: de-duplicated actors; many attacker rows (source IPs) map to one identity.
import type { Db, Json } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface AttackerIdentitiesTable {
  uuid: string;
  schema_version: number;
  campaign_id: string | null;
  first_seen_at: string;
  last_seen_at: string;
  created_at: string;
  updated_at: string;
  confidence: number;
  observation_count: number;
  ja3_hashes: Json;
  hassh_hashes: Json;
  ja4h_hashes: Json;
  ja4_quic_hashes: Json;
  http_versions_seen: Json;
  tls_cert_sha256: Json;
  ipv6_link_local_iids: Json;
  payload_simhashes: Json;
  c2_endpoints: Json;
  /** 64-bit keystroke-digraph SimHash (8 bytes). */
  kd_digraph_simhash: Uint8Array | null;
  /** Soft merge: the identity this one was folded into (readers follow the chain). */
  merged_into_uuid: string | null;
  notes: string | null;
}

export interface IdentitiesTables {
  attacker_identities: AttackerIdentitiesTable;
}

export const TABLES = ['attacker_identities'] as const;
export const LIST_COLUMNS = [
  'ja3_hashes',
  'hassh_hashes',
  'ja4h_hashes',
  'ja4_quic_hashes',
  'http_versions_seen',
  'tls_cert_sha256',
  'ipv6_link_local_iids',
  'payload_simhashes',
  'c2_endpoints',
] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  let table = db.kysely.schema
    .createTable('attacker_identities')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('schema_version', t.int, (c) => c.notNull().defaultTo(1))
    .addColumn('campaign_id', t.text, (c) => c.references('campaigns.uuid').onDelete('set null'))
    .addColumn('first_seen_at', t.text, (c) => c.notNull())
    .addColumn('last_seen_at', t.text, (c) => c.notNull())
    .addColumn('created_at', t.text, (c) => c.notNull())
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .addColumn('confidence', t.real, (c) => c.notNull().defaultTo(0))
    .addColumn('observation_count', t.int, (c) => c.notNull().defaultTo(0));
  for (const column of LIST_COLUMNS) table = table.addColumn(column, t.json, (c) => c.notNull().defaultTo('[]'));
  await table
    .addColumn('kd_digraph_simhash', t.bytes)
    .addColumn('merged_into_uuid', t.text, (c) => c.references('attacker_identities.uuid').onDelete('set null'))
    .addColumn('notes', t.text)
    .execute();
  for (const column of ['campaign_id', 'first_seen_at', 'last_seen_at', 'kd_digraph_simhash', 'merged_into_uuid']) {
    await index(db, 'attacker_identities', [column]);
  }
}
