// Tarpit domain: one active traffic-delay rule per decky.
import { sql } from 'kysely';
import type { Db, Json } from '../types.ts';
import { columnTypes } from '../ddl.ts';

export const MIN_DELAY_MS = 100;
export const MAX_DELAY_MS = 300_000;

export interface TarpitRulesTable {
  id: string;
  decky_name: string;
  ports: Json;
  delay_ms: number;
  created_at: string;
  created_by: string | null;
}

export interface TarpitTables {
  tarpit_rules: TarpitRulesTable;
}

export const TABLES = ['tarpit_rules'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('tarpit_rules')
    .addColumn('id', t.text, (c) => c.primaryKey())
    .addColumn('decky_name', t.text, (c) => c.notNull().unique())
    .addColumn('ports', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('delay_ms', t.int, (c) => c.notNull().check(sql`delay_ms between ${sql.lit(MIN_DELAY_MS)} and ${sql.lit(MAX_DELAY_MS)}`))
    .addColumn('created_at', t.text, (c) => c.notNull())
    .addColumn('created_by', t.text)
    .execute();
}
