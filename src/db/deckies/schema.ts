// Decky lifecycle: one row per asynchronous deploy or mutate attempt on a decky. A row is final
// once it reaches succeeded or failed; a retry is a new row.
import type { Db } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface DeckyLifecycleTable {
  id: string;
  decky_name: string;
  /** null: this host (master-local). */
  host_uuid: string | null;
  operation: string;
  status: string;
  error: string | null;
  started_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface DeckiesTables {
  decky_lifecycle: DeckyLifecycleTable;
}

export const TABLES = ['decky_lifecycle'] as const;
export const OPERATIONS = ['deploy', 'mutate', 'teardown'] as const;
export const STATUSES = ['pending', 'running', 'succeeded', 'failed'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('decky_lifecycle')
    .addColumn('id', t.text, (c) => c.primaryKey())
    .addColumn('decky_name', t.text, (c) => c.notNull())
    .addColumn('host_uuid', t.text)
    .addColumn('operation', t.text, (c) => c.notNull())
    .addColumn('status', t.text, (c) => c.notNull())
    .addColumn('error', t.text)
    .addColumn('started_at', t.text, (c) => c.notNull())
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .addColumn('completed_at', t.text)
    .execute();
  for (const column of ['decky_name', 'host_uuid', 'operation', 'status']) await index(db, 'decky_lifecycle', [column]);
}
