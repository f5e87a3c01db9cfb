// Types shared by every repository: the database handle and the paged-list envelope.
// Type-only module: importing it loads nothing at run time.
import type { Kysely } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

/** What a repository function needs: a query builder (possibly inside a transaction) and its dialect. */
export interface Db {
  readonly kysely: Kysely<any>;
  readonly dialect: DialectName;
}

/** An open database: the handle plus its URL (password masked) and a way to close it. */
export interface Database extends Db {
  /** The URL it was opened with, password masked (safe to log). */
  readonly url: string;
  close(): Promise<void>;
}

/** The list envelope of the REST API: one page of rows plus the total that matches. */
export interface Page<T> {
  total: number;
  limit: number;
  offset: number;
  data: T[];
}

export interface PageRequest {
  limit?: number;
  offset?: number;
}

// Column types for the per-domain table interfaces. JSON columns are TEXT on SQLite and JSONB on
// PostgreSQL: written as encoded strings (values.ts json()), read back as either (fromJson()).
// Booleans are 0/1 on SQLite and true/false on PostgreSQL (fromBool()).
import type { ColumnType, Generated } from 'kysely';

export type Json = ColumnType<unknown, string, string>;
export type JsonNull = ColumnType<unknown, string | null, string | null>;
export type Bool = ColumnType<boolean | number, boolean, boolean>;
export type BoolNull = ColumnType<boolean | number | null, boolean | null, boolean | null>;
export type AutoId = Generated<number>;
