// Query helpers shared by the repositories: transactions, paging, portable case-insensitive
// substring match, JSON-list membership. Small and dependency-free at run time (kysely's `sql`
// tag is already loaded by whoever opened the database).
import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import type { Db, Page, PageRequest } from './types.ts';
import { DataError } from './values.ts';

/**
 * Runs `fn` in one transaction; inside an open transaction it simply joins it. On SQLite every
 * transaction starts with BEGIN IMMEDIATE (see sqlite-dialect.ts), so a read-then-write inside
 * `fn` never deadlocks against another process.
 */
export async function inTransaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  if (db.kysely.isTransaction) return fn(db);
  return db.kysely.transaction().execute((trx) => fn({ kysely: trx, dialect: db.dialect }));
}

export interface PageLimits {
  /** Rows per page when the caller gives none. */
  defaultLimit?: number;
  /** Largest page a caller may ask for. */
  maxLimit?: number;
}

export const MAX_OFFSET = 2_147_483_647;

/** Checks limit/offset and returns them with defaults applied. */
export function pageArgs(req: PageRequest | undefined, limits: PageLimits = {}): { limit: number; offset: number } {
  const maxLimit = limits.maxLimit ?? 1000;
  const limit = req?.limit ?? limits.defaultLimit ?? 50;
  const offset = req?.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) throw new DataError('limit', `must be a whole number from 1 to ${maxLimit}; got ${limit}`);
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) throw new DataError('offset', `must be a whole number from 0 to ${MAX_OFFSET}; got ${offset}`);
  return { limit, offset };
}

export function page<T>(total: number, limit: number, offset: number, data: T[]): Page<T> {
  return { total, limit, offset, data };
}

/** Escapes LIKE wildcards so user text matches literally (used with ESCAPE '\'). */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * `column` contains `needle`, ignoring ASCII case, on both dialects (SQLite's LIKE already ignores
 * ASCII case; PostgreSQL needs ILIKE). Wildcards in the needle match literally.
 */
export function containsText(db: Db, column: Expression<unknown>, needle: string): RawBuilder<SqlBool> {
  const pattern = `%${escapeLike(needle)}%`;
  return db.dialect === 'postgres'
    ? sql<SqlBool>`${column} ilike ${pattern} escape '\\'`
    : sql<SqlBool>`${column} like ${pattern} escape '\\'`;
}

/** A JSON-list column holds the string `item`. */
export function jsonListHas(db: Db, column: string, item: string): RawBuilder<SqlBool> {
  return db.dialect === 'postgres'
    ? sql<SqlBool>`${sql.ref(column)} @> jsonb_build_array(${item}::text)`
    : sql<SqlBool>`exists (select 1 from json_each(${sql.ref(column)}) where json_each.value = ${item})`;
}

/** Splits a list into chunks (for IN lists and multi-row inserts that must stay under parameter limits). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
