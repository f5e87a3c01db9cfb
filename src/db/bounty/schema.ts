// Bounty domain: harvested artefacts and fingerprints (one row per distinct finding), and the
// fleet-wide register of e-mail attachment hashes.
import type { AutoId, BoolNull, Db, Json } from '../types.ts';
import { autoId, columnTypes, index } from '../ddl.ts';

export interface BountyTable {
  id: AutoId;
  ts: string;
  decky: string | null;
  service: string | null;
  attacker_ip: string | null;
  bounty_type: string;
  payload: Json;
  /** SHA-256 over type, IP and the encoded payload: the same finding is stored once. */
  dedupe_key: Uint8Array;
}

export interface ObservedAttachmentsTable {
  uuid: string;
  sha256: string;
  first_seen: string;
  last_seen: string;
  observation_count: number;
  first_seen_decky_uuid: string | null;
  first_seen_attacker_uuid: string | null;
  last_seen_attacker_uuid: string | null;
  extensions: Json;
  first_subject: string | null;
  /** null = not checked; true is sticky (a later clean verdict never clears it). */
  mal_hash_match: BoolNull;
  mal_hash_match_provider: string | null;
  mal_hash_match_at: string | null;
}

export interface BountyTables {
  bounty: BountyTable;
  observed_attachments: ObservedAttachmentsTable;
}

export const TABLES = ['bounty', 'observed_attachments'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await autoId(db.kysely.schema.createTable('bounty'), db.dialect)
    .addColumn('ts', t.text, (c) => c.notNull())
    .addColumn('decky', t.text)
    .addColumn('service', t.text)
    .addColumn('attacker_ip', t.text)
    .addColumn('bounty_type', t.text, (c) => c.notNull())
    .addColumn('payload', t.json, (c) => c.notNull())
    .addColumn('dedupe_key', t.bytes, (c) => c.notNull())
    .execute();
  await index(db, 'bounty', ['dedupe_key'], true);
  for (const column of ['ts', 'decky', 'service', 'attacker_ip', 'bounty_type']) await index(db, 'bounty', [column]);

  await db.kysely.schema
    .createTable('observed_attachments')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('sha256', t.text, (c) => c.notNull().unique())
    .addColumn('first_seen', t.text, (c) => c.notNull())
    .addColumn('last_seen', t.text, (c) => c.notNull())
    .addColumn('observation_count', t.int, (c) => c.notNull().defaultTo(1))
    .addColumn('first_seen_decky_uuid', t.text)
    .addColumn('first_seen_attacker_uuid', t.text)
    .addColumn('last_seen_attacker_uuid', t.text)
    .addColumn('extensions', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('first_subject', t.text)
    .addColumn('mal_hash_match', t.bool)
    .addColumn('mal_hash_match_provider', t.text)
    .addColumn('mal_hash_match_at', t.text)
    .execute();
  for (const column of ['first_seen', 'last_seen', 'mal_hash_match', 'first_seen_decky_uuid', 'first_seen_attacker_uuid', 'last_seen_attacker_uuid']) {
    await index(db, 'observed_attachments', [column]);
  }
}
