// Runs a test suite against every dialect: SQLite always (a fresh file per suite), PostgreSQL on
// the server named by DECNET_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test) in a
// fresh schema that is dropped afterwards. Without a reachable server the PostgreSQL suite is
// skipped and says why.
import { after, before, describe } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../../src/db/connection.ts';
import type { Database, DialectName } from '../../src/db/types.ts';

export const PG_BASE_URL = process.env.DECNET_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgProbe: Promise<string | undefined> | undefined;

/** undefined when PostgreSQL is usable, else the reason it is not. */
export function postgresUnavailable(): Promise<string | undefined> {
  pgProbe ??= (async () => {
    const client = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (err) {
      return `PostgreSQL not reachable at ${PG_BASE_URL} (${(err as Error).message}); set DECNET_TEST_PG_URL to run these tests`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return pgProbe;
}

/** A fresh PostgreSQL schema for one test run, and a function that drops it. */
export function freshPostgresUrl(label: string): { url: string; drop(): Promise<void> } {
  const schema = `decnet_test_${label}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const url = new URL(PG_BASE_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: PG_BASE_URL });
      await client.connect();
      try {
        await client.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await client.end();
      }
    },
  };
}

export function freshSqliteUrl(label: string): { url: string; path: string; drop(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), `decnet-db-${label}-`));
  const path = join(dir, 'decnet.db');
  return { url: `sqlite:${path}`, path, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

export interface DialectContext {
  readonly dialect: DialectName;
  /** The open, migrated database of this suite. */
  db(): Database;
  url(): string;
}

const pgSkip = await postgresUnavailable();

/** Registers `suite` once per dialect, each with its own migrated database. */
export function forEachDialect(label: string, suite: (ctx: DialectContext) => void): void {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const skip = dialect === 'postgres' ? pgSkip : undefined;
    describe(`${label} [${dialect}]`, { skip }, () => {
      let database: Database | undefined;
      let target: { url: string; drop(): Promise<void> } | undefined;
      before(async () => {
        target = dialect === 'sqlite' ? freshSqliteUrl(label) : freshPostgresUrl(label);
        database = await openDatabase(target.url);
      });
      after(async () => {
        await database?.close();
        await target?.drop();
      });
      suite({
        dialect,
        db: () => database!,
        url: () => target!.url,
      });
    });
  }
}
