// State domain: small named JSON values that must survive restarts (worker cursors, offsets,
// deployment settings).
import type { Db, Json } from '../types.ts';
import { columnTypes } from '../ddl.ts';

export interface StateTable {
  key: string;
  value: Json;
  updated_at: string;
}

export interface StateTables {
  state: StateTable;
}

export const TABLES = ['state'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('state')
    .addColumn('key', t.text, (c) => c.primaryKey())
    .addColumn('value', t.json, (c) => c.notNull())
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .execute();
}
