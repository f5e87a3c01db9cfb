// Schema migrations, in code. Run by `decnet db migrate` and whenever a host opens the database.
//
// - A cheap check first: one query reads the applied version. Only when it is behind does the
//   migration list (and with it every domain's DDL) get loaded, so a worker opening an
//   up-to-date database pays for no schema module.
// - Each migration runs in its own transaction together with its row in `schema_migrations`:
//   killed half-way, it leaves the previous state (SQLite and PostgreSQL both have transactional DDL).
// - Two processes migrating at once are serialised: SQLite by the BEGIN IMMEDIATE write lock of
//   that transaction, PostgreSQL by a transaction-scoped advisory lock. Inside the lock the
//   version is read again, so the second process finds the work done and skips it.
import { sql } from 'kysely';
import { ConfigError } from '../core/errors.ts';
import { inTransaction } from './query.ts';
import type { Db } from './types.ts';

/** The newest migration this build knows. Kept in step with the list (a test checks it). */
export const SCHEMA_VERSION = 1;

export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Db): Promise<void>;
}

export interface MigrateResult {
  from: number;
  to: number;
  applied: string[];
}

/** Key of the PostgreSQL advisory lock that serialises schema changes (ASCII "DECNETDB"). */
export const SCHEMA_LOCK_KEY = 0x4445434e45544442n;

export async function lockSchema(db: Db): Promise<void> {
  if (db.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${SCHEMA_LOCK_KEY.toString()}::bigint)`.execute(db.kysely);
}

async function migrationsTableExists(db: Db): Promise<boolean> {
  if (db.dialect === 'postgres') {
    const { rows } = await sql<{ t: string | null }>`select to_regclass('schema_migrations')::text as t`.execute(db.kysely);
    return rows[0]?.t != null;
  }
  const { rows } = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name = 'schema_migrations'`.execute(db.kysely);
  return rows.length > 0;
}

/** The highest applied migration, 0 for an empty database. */
export async function appliedVersion(db: Db): Promise<number> {
  if (!(await migrationsTableExists(db))) return 0;
  const { rows } = await sql<{ v: number | string | null }>`select max(version) as v from schema_migrations`.execute(db.kysely);
  return Number(rows[0]?.v ?? 0);
}

export interface AppliedMigration {
  version: number;
  name: string;
  applied_at: string;
}

export async function listAppliedMigrations(db: Db): Promise<AppliedMigration[]> {
  if (!(await migrationsTableExists(db))) return [];
  const { rows } = await sql<AppliedMigration>`select version, name, applied_at from schema_migrations order by version`.execute(db.kysely);
  return rows.map((r) => ({ ...r, version: Number(r.version) }));
}

export interface MigrateOptions {
  /** The migrations to apply (default: the full list of this build). */
  migrations?: readonly Migration[];
  onApplied?: (migration: Migration) => void;
}

/** Brings the schema up to date; safe to run from several processes at once. */
export async function migrate(db: Db, options: MigrateOptions = {}): Promise<MigrateResult> {
  const from = await appliedVersion(db);
  const known = options.migrations ? Math.max(0, ...options.migrations.map((m) => m.version)) : SCHEMA_VERSION;
  if (from > known) {
    throw new ConfigError(`the database schema is at version ${from}, newer than this decnet understands (${known}); upgrade decnet, or point DECNET_DB_URL at another database`);
  }
  if (from === known) return { from, to: from, applied: [] };
  const list = [...(options.migrations ?? (await import('./catalog.ts')).MIGRATIONS)].sort((a, b) => a.version - b.version);
  const applied: string[] = [];
  for (const migration of list) {
    if (migration.version <= from) continue;
    const done = await inTransaction(db, async (tx) => {
      await lockSchema(tx);
      await sql`create table if not exists schema_migrations (version integer primary key, name text not null, applied_at text not null)`.execute(tx.kysely);
      const { rows } = await sql<{ version: number }>`select version from schema_migrations where version = ${migration.version}`.execute(tx.kysely);
      if (rows.length > 0) return false; // another process applied it while we waited for the lock
      await migration.up(tx);
      await sql`insert into schema_migrations (version, name, applied_at) values (${migration.version}, ${migration.name}, ${new Date().toISOString()})`.execute(tx.kysely);
      return true;
    });
    if (done) {
      applied.push(migration.name);
      options.onApplied?.(migration);
    }
  }
  return { from, to: await appliedVersion(db), applied };
}
