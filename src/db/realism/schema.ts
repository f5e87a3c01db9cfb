// Realism domain: files the orchestrator planted or edits in deckies, and operator knobs.
import type { Db, Json } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface SyntheticFilesTable {
  uuid: string;
  decky_uuid: string;
  path: string;
  persona: string | null;
  content_class: string | null;
  created_at: string;
  last_modified: string;
  edit_count: number;
  content_hash: string | null;
  /** The latest body, clipped to LAST_BODY_MAX characters. */
  last_body: string | null;
}

export interface RealismConfigTable {
  key: string;
  value: Json;
  updated_at: string;
}

export interface RealismTables {
  synthetic_files: SyntheticFilesTable;
  realism_config: RealismConfigTable;
}

export const TABLES = ['synthetic_files', 'realism_config'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('synthetic_files')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('decky_uuid', t.text, (c) => c.notNull())
    .addColumn('path', t.text, (c) => c.notNull())
    .addColumn('persona', t.text)
    .addColumn('content_class', t.text)
    .addColumn('created_at', t.text, (c) => c.notNull())
    .addColumn('last_modified', t.text, (c) => c.notNull())
    .addColumn('edit_count', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('content_hash', t.text)
    .addColumn('last_body', t.text)
    .execute();
  await index(db, 'synthetic_files', ['decky_uuid', 'path'], true);
  await index(db, 'synthetic_files', ['decky_uuid', 'last_modified']);

  await db.kysely.schema
    .createTable('realism_config')
    .addColumn('key', t.text, (c) => c.primaryKey())
    .addColumn('value', t.json, (c) => c.notNull())
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .execute();
}
