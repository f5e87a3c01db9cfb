// `decnet db migrate | status | reset`: apply the schema, show its version and row counts, or
// wipe every DECNET table (only with --yes).
import { sql } from 'kysely';
import type { ParsedArgs } from './args.ts';
import { UsageError } from '../core/errors.ts';
import { openDatabase } from '../db/connection.ts';
import { SCHEMA_VERSION, appliedVersion, listAppliedMigrations, lockSchema, migrate } from '../db/migrations.ts';
import { inTransaction } from '../db/query.ts';
import type { Database, Db } from '../db/types.ts';
import { renderTable } from './table.ts';

const ACTIONS = ['migrate', 'status', 'reset'] as const;
type Action = (typeof ACTIONS)[number];

const out = (s: string) => process.stdout.write(s);

async function tableExists(db: Db, table: string): Promise<boolean> {
  if (db.dialect === 'postgres') {
    const { rows } = await sql<{ t: string | null }>`select to_regclass(${table})::text as t`.execute(db.kysely);
    return rows[0]?.t != null;
  }
  const { rows } = await sql`select 1 from sqlite_master where type = 'table' and name = ${table}`.execute(db.kysely);
  return rows.length > 0;
}

/** Rows per DECNET table; null for a table that does not exist (schema behind). */
async function rowCounts(db: Db): Promise<{ domain: string; table: string; rows: number | null }[]> {
  const { DOMAINS } = await import('../db/catalog.ts');
  const result: { domain: string; table: string; rows: number | null }[] = [];
  for (const d of DOMAINS) {
    for (const table of d.tables) {
      if (!(await tableExists(db, table))) {
        result.push({ domain: d.name, table, rows: null });
        continue;
      }
      // table names come from our own catalogue, never from input
      const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db.kysely);
      result.push({ domain: d.name, table, rows: Number(rows[0]?.n ?? 0) });
    }
  }
  return result;
}

async function runMigrate(db: Database, json: boolean, extra: Record<string, unknown> = {}): Promise<number> {
  const result = await migrate(db);
  const { seedAdmin } = await import('../db/auth/repo.ts');
  const seeded = await seedAdmin(db);
  if (json) {
    out(JSON.stringify({ url: db.url, dialect: db.dialect, ...extra, ...result, admin: seeded }, null, 2) + '\n');
    return 0;
  }
  out(
    result.applied.length > 0
      ? `${db.url}: migrated from version ${result.from} to ${result.to} (${result.applied.join(', ')})\n`
      : `${db.url}: schema is up to date (version ${result.to})\n`,
  );
  if (seeded.created) out(`admin user "${seeded.username}" created; it must change its password at first login\n`);
  if (seeded.resynced) out(`admin user "${seeded.username}": password reset from DECNET_ADMIN_PASSWORD (it had not been changed yet)\n`);
  if (seeded.generated_password) {
    out(`generated admin password (shown once, not stored in clear anywhere): ${seeded.generated_password}\n`);
  }
  return 0;
}

async function runStatus(db: Database, json: boolean): Promise<number> {
  const version = await appliedVersion(db);
  const applied = await listAppliedMigrations(db);
  const counts = await rowCounts(db);
  const state = version === SCHEMA_VERSION ? 'up to date' : version < SCHEMA_VERSION ? 'behind: run `decnet db migrate`' : 'newer than this decnet';
  if (json) {
    out(JSON.stringify({ url: db.url, dialect: db.dialect, version, latest: SCHEMA_VERSION, state, migrations: applied, tables: counts }, null, 2) + '\n');
    return 0;
  }
  out(`database  ${db.url} (${db.dialect})\n`);
  out(`schema    version ${version} of ${SCHEMA_VERSION}: ${state}\n`);
  for (const m of applied) out(`          ${m.version} ${m.name} applied ${m.applied_at}\n`);
  out('\n');
  out(renderTable(['DOMAIN', 'TABLE', 'ROWS'], counts.map((c) => [c.domain, c.table, c.rows === null ? '-' : String(c.rows)]), [2]));
  return 0;
}

async function runReset(db: Database, yes: boolean, json: boolean): Promise<number> {
  if (!yes) throw new UsageError(`decnet db reset deletes every DECNET table and row in ${db.url}; run it again with --yes to do it`);
  const { ALL_TABLES } = await import('../db/catalog.ts');
  const counts = await rowCounts(db);
  await inTransaction(db, async (tx) => {
    await lockSchema(tx);
    // children first (the catalogue lists parents first), then the migration record
    for (const table of [...ALL_TABLES].reverse()) {
      await sql`drop table if exists ${sql.table(table)}${db.dialect === 'postgres' ? sql` cascade` : sql``}`.execute(tx.kysely);
    }
    await sql`drop table if exists schema_migrations`.execute(tx.kysely);
  });
  if (db.dialect === 'sqlite') await sql`vacuum`.execute(db.kysely); // give the space back to the filesystem
  const removed = counts.reduce((sum, c) => sum + (c.rows ?? 0), 0);
  if (!json) out(`${db.url}: wiped ${removed} rows in ${counts.filter((c) => c.rows !== null).length} tables\n`);
  // leave a usable database behind: fresh schema and the admin account
  return runMigrate(db, json, { removed_rows: removed });
}

export default async function dbCommand(args: ParsedArgs): Promise<number> {
  const action = args.positionals[0];
  if (!(ACTIONS as readonly string[]).includes(action)) {
    throw new UsageError(`decnet db: unknown action ${JSON.stringify(action)}; use one of ${ACTIONS.join(', ')}`);
  }
  const url = typeof args.options.url === 'string' ? args.options.url : undefined;
  const json = args.options.json === true;
  const db = await openDatabase(url, { migrate: false });
  try {
    switch (action as Action) {
      case 'migrate':
        return await runMigrate(db, json);
      case 'status':
        return await runStatus(db, json);
      case 'reset':
        return await runReset(db, args.options.yes === true, json);
    }
  } finally {
    await db.close();
  }
  return 0;
}
