// Canary domain: uploaded source artefacts, the tokens planted in deckies, and their triggers.
import type { Db, Json } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface CanaryBlobsTable {
  uuid: string;
  sha256: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  uploaded_by: string | null;
  uploaded_at: string;
}

export interface CanaryTokensTable {
  uuid: string;
  kind: string;
  decky_name: string;
  /** null: a fleet decky; otherwise the topology the decky belongs to. */
  topology_id: string | null;
  blob_uuid: string | null;
  instrumenter: string | null;
  generator: string | null;
  placement_path: string;
  /** Lower-case slug used in callback URLs and DNS labels. */
  callback_token: string;
  secret_seed: string;
  placed_at: string | null;
  last_triggered_at: string | null;
  trigger_count: number;
  created_by: string;
  state: string;
  last_error: string | null;
  fingerprint_nonce: string;
  created_at: string;
}

export interface CanaryTriggersTable {
  uuid: string;
  token_uuid: string;
  occurred_at: string;
  src_ip: string | null;
  user_agent: string | null;
  request_path: string | null;
  dns_qname: string | null;
  raw_headers: Json;
  attacker_id: string | null;
}

export interface CanaryTables {
  canary_blobs: CanaryBlobsTable;
  canary_tokens: CanaryTokensTable;
  canary_triggers: CanaryTriggersTable;
}

export const TABLES = ['canary_blobs', 'canary_tokens', 'canary_triggers'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('canary_blobs')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('sha256', t.text, (c) => c.notNull().unique())
    .addColumn('filename', t.text, (c) => c.notNull())
    .addColumn('content_type', t.text, (c) => c.notNull())
    .addColumn('size_bytes', t.bigint, (c) => c.notNull())
    .addColumn('uploaded_by', t.text)
    .addColumn('uploaded_at', t.text, (c) => c.notNull())
    .execute();

  await db.kysely.schema
    .createTable('canary_tokens')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('kind', t.text, (c) => c.notNull())
    .addColumn('decky_name', t.text, (c) => c.notNull())
    .addColumn('topology_id', t.text)
    // a blob cannot be deleted while a token uses it
    .addColumn('blob_uuid', t.text, (c) => c.references('canary_blobs.uuid').onDelete('restrict'))
    .addColumn('instrumenter', t.text)
    .addColumn('generator', t.text)
    .addColumn('placement_path', t.text, (c) => c.notNull())
    .addColumn('callback_token', t.text, (c) => c.notNull().unique())
    .addColumn('secret_seed', t.text, (c) => c.notNull())
    .addColumn('placed_at', t.text)
    .addColumn('last_triggered_at', t.text)
    .addColumn('trigger_count', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('created_by', t.text, (c) => c.notNull())
    .addColumn('state', t.text, (c) => c.notNull().defaultTo('planted'))
    .addColumn('last_error', t.text)
    .addColumn('fingerprint_nonce', t.text, (c) => c.notNull())
    .addColumn('created_at', t.text, (c) => c.notNull())
    .execute();
  await index(db, 'canary_tokens', ['decky_name', 'state']);
  await index(db, 'canary_tokens', ['kind']);
  await index(db, 'canary_tokens', ['blob_uuid']);

  await db.kysely.schema
    .createTable('canary_triggers')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('token_uuid', t.text, (c) => c.notNull().references('canary_tokens.uuid').onDelete('cascade'))
    .addColumn('occurred_at', t.text, (c) => c.notNull())
    .addColumn('src_ip', t.text)
    .addColumn('user_agent', t.text)
    .addColumn('request_path', t.text)
    .addColumn('dns_qname', t.text)
    .addColumn('raw_headers', t.json, (c) => c.notNull().defaultTo('{}'))
    .addColumn('attacker_id', t.text)
    .execute();
  await index(db, 'canary_triggers', ['token_uuid', 'occurred_at']);
  await index(db, 'canary_triggers', ['attacker_id']);
  await index(db, 'canary_triggers', ['src_ip']);
}
