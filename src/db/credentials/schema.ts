// Credentials domain: every distinct credential an attacker tried, and the reuse findings (the
// same secret tried against several deckies or services).
import type { AutoId, Db, Json } from '../types.ts';
import { autoId, columnTypes, index } from '../ddl.ts';

export interface CredentialsTable {
  id: AutoId;
  attacker_ip: string;
  /** Filled in by the profiler once the attacker row exists. */
  attacker_uuid: string | null;
  decky_name: string;
  service: string;
  principal: string | null;
  /** principal, or '' when there is none (so the unique key has no NULL in it). */
  principal_key: string;
  secret_kind: string;
  /** SHA-256 (hex) of the decoded secret bytes. */
  secret_sha256: string;
  secret_b64: string;
  secret_printable: string | null;
  outcome: string;
  fields: Json;
  first_seen: string;
  last_seen: string;
  attempt_count: number;
}

export interface CredentialReuseTable {
  id: string;
  secret_sha256: string;
  secret_kind: string;
  principal: string | null;
  principal_key: string;
  attacker_uuids: Json;
  attacker_ips: Json;
  deckies: Json;
  services: Json;
  /** Distinct (decky, service) pairs the secret was tried on. */
  target_count: number;
  attempt_count: number;
  confidence: number;
  first_seen: string;
  last_seen: string;
  created_at: string;
  updated_at: string;
}

export interface CredentialsTables {
  credentials: CredentialsTable;
  credential_reuse: CredentialReuseTable;
}

export const TABLES = ['credentials', 'credential_reuse'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await autoId(db.kysely.schema.createTable('credentials'), db.dialect)
    .addColumn('attacker_ip', t.text, (c) => c.notNull())
    .addColumn('attacker_uuid', t.text, (c) => c.references('attackers.uuid').onDelete('set null'))
    .addColumn('decky_name', t.text, (c) => c.notNull())
    .addColumn('service', t.text, (c) => c.notNull())
    .addColumn('principal', t.text)
    .addColumn('principal_key', t.text, (c) => c.notNull().defaultTo(''))
    .addColumn('secret_kind', t.text, (c) => c.notNull())
    .addColumn('secret_sha256', t.text, (c) => c.notNull())
    .addColumn('secret_b64', t.text, (c) => c.notNull())
    .addColumn('secret_printable', t.text)
    .addColumn('outcome', t.text, (c) => c.notNull().defaultTo('observed'))
    .addColumn('fields', t.json, (c) => c.notNull().defaultTo('{}'))
    .addColumn('first_seen', t.text, (c) => c.notNull())
    .addColumn('last_seen', t.text, (c) => c.notNull())
    .addColumn('attempt_count', t.int, (c) => c.notNull().defaultTo(1))
    .execute();
  await index(db, 'credentials', ['attacker_ip', 'decky_name', 'service', 'secret_kind', 'secret_sha256', 'principal_key'], true);
  await index(db, 'credentials', ['secret_sha256', 'service']);
  await index(db, 'credentials', ['principal', 'service']);
  await index(db, 'credentials', ['attacker_uuid']);
  await index(db, 'credentials', ['last_seen']);

  await db.kysely.schema
    .createTable('credential_reuse')
    .addColumn('id', t.text, (c) => c.primaryKey())
    .addColumn('secret_sha256', t.text, (c) => c.notNull())
    .addColumn('secret_kind', t.text, (c) => c.notNull())
    .addColumn('principal', t.text)
    .addColumn('principal_key', t.text, (c) => c.notNull().defaultTo(''))
    .addColumn('attacker_uuids', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('attacker_ips', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('deckies', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('services', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('target_count', t.int, (c) => c.notNull())
    .addColumn('attempt_count', t.int, (c) => c.notNull())
    .addColumn('confidence', t.real, (c) => c.notNull().defaultTo(1))
    .addColumn('first_seen', t.text, (c) => c.notNull())
    .addColumn('last_seen', t.text, (c) => c.notNull())
    .addColumn('created_at', t.text, (c) => c.notNull())
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .execute();
  await index(db, 'credential_reuse', ['secret_sha256', 'secret_kind', 'principal_key'], true);
  await index(db, 'credential_reuse', ['last_seen']);
}
