// Helpers for the schema modules' DDL (loaded only while migrating). The same table definition
// serves both dialects; the differences are confined to the column types chosen here.
import type { CreateTableBuilder } from 'kysely';
import type { Db, DialectName } from './types.ts';

export interface ColumnTypes {
  /** JSON document: JSONB on PostgreSQL, TEXT on SQLite. */
  readonly json: 'jsonb' | 'text';
  /** Binary: BYTEA / BLOB. */
  readonly bytes: 'bytea' | 'blob';
  readonly bool: 'boolean';
  readonly text: 'text';
  readonly int: 'integer';
  readonly bigint: 'bigint';
  readonly real: 'double precision';
}

export function columnTypes(dialect: DialectName): ColumnTypes {
  return {
    json: dialect === 'postgres' ? 'jsonb' : 'text',
    bytes: dialect === 'postgres' ? 'bytea' : 'blob',
    bool: 'boolean',
    text: 'text',
    int: 'integer',
    bigint: 'bigint',
    real: 'double precision',
  };
}

/**
 * Adds an `id` primary key that only grows: SQLite AUTOINCREMENT (never reuses an id, even after
 * the newest rows are deleted) or a PostgreSQL identity column. Cursors rely on this.
 */
export function autoId<T extends string, C extends string>(builder: CreateTableBuilder<T, C>, dialect: DialectName): CreateTableBuilder<T, C | 'id'> {
  return dialect === 'postgres'
    ? builder.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    : builder.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

/** CREATE [UNIQUE] INDEX <table>_<columns>_idx|_key ON table (columns). */
export async function index(db: Db, table: string, columns: string[], unique = false): Promise<void> {
  const name = `${table}_${columns.join('_')}_${unique ? 'key' : 'idx'}`;
  let builder = db.kysely.schema.createIndex(name).on(table).columns(columns);
  if (unique) builder = builder.unique();
  await builder.execute();
}
