// Migrations: complete, idempotent, safe when several processes start at once, correct after
// a kill -9 in the middle, and refusing a schema newer than the code.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { sql } from 'kysely';
import { forEachDialect, freshPostgresUrl, freshSqliteUrl } from './dialects.ts';
import { schemaShape, tableNames } from './schema-shape.ts';
import { openDatabase } from '../../src/db/connection.ts';
import { SCHEMA_VERSION, appliedVersion, migrate } from '../../src/db/migrations.ts';
import { ALL_TABLES, DOMAINS, MIGRATIONS } from '../../src/db/catalog.ts';
import { CLI_SOURCE, ROOT, waitFor } from '../helpers/env.ts';

const FIXTURES = `${ROOT}/test/db/fixtures`;

function runNode(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

it('the catalogue has every table of the original, and SCHEMA_VERSION matches the migration list', () => {
  assert.equal(ALL_TABLES.length, 39);
  assert.equal(new Set(ALL_TABLES).size, 39);
  assert.equal(DOMAINS.length, 23);
  assert.equal(SCHEMA_VERSION, Math.max(...MIGRATIONS.map((m) => m.version)));
});

forEachDialect('migrations', (ctx) => {
  it('creates every table and is idempotent', async () => {
    const db = ctx.db();
    assert.deepEqual(await tableNames(db), [...ALL_TABLES, 'schema_migrations'].sort());
    const before = await schemaShape(db);
    assert.deepEqual(await migrate(db), { from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    assert.deepEqual(await schemaShape(db), before);
  });

  it('enforces foreign keys', async () => {
    const db = ctx.db();
    await assert.rejects(
      sql`insert into attacker_behavior (attacker_uuid, updated_at) values ('no-such-attacker', '2024-01-01T00:00:00.000Z')`.execute(db.kysely),
      /foreign key/i,
    );
  });

  it('refuses a database migrated by a newer decnet', async () => {
    const target = ctx.dialect === 'sqlite' ? freshSqliteUrl('newer') : freshPostgresUrl('newer');
    const db = await openDatabase(target.url);
    try {
      await sql`insert into schema_migrations (version, name, applied_at) values (${SCHEMA_VERSION + 1}, 'future', '2030-01-01T00:00:00.000Z')`.execute(db.kysely);
      await assert.rejects(migrate(db), /schema is at version 2, newer than this decnet understands \(1\); upgrade decnet/);
    } finally {
      await db.close();
      await target.drop();
    }
  });

  it('applies once when four processes open a fresh database at the same moment', async () => {
    const target = ctx.dialect === 'sqlite' ? freshSqliteUrl('race') : freshPostgresUrl('race');
    try {
      const runs = await Promise.all(Array.from({ length: 4 }, () => runNode([`${FIXTURES}/open.ts`, target.url])));
      for (const r of runs) assert.equal(r.code, 0, r.out);
      const db = await openDatabase(target.url, { migrate: false });
      const { rows } = await sql<{ n: number | string }>`select count(*) as n from schema_migrations`.execute(db.kysely);
      assert.equal(Number(rows[0].n), MIGRATIONS.length);
      assert.equal((await tableNames(db)).length, ALL_TABLES.length + 1);
      await db.close();
    } finally {
      await target.drop();
    }
  });

  it('a migration killed with SIGKILL half-way leaves the old state, and re-running completes it', async () => {
    const target = ctx.dialect === 'sqlite' ? freshSqliteUrl('kill') : freshPostgresUrl('kill');
    try {
      const child = spawn(process.execPath, [`${FIXTURES}/migrate-and-hang.ts`, target.url], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const exited = new Promise((r) => child.once('exit', r));
      await waitFor(() => out.includes('inside'), 20_000, `the migration to reach its last statement (${out})`);
      child.kill('SIGKILL');
      await exited;

      const db = await openDatabase(target.url, { migrate: false });
      try {
        assert.equal(await appliedVersion(db), 0, 'nothing was committed');
        assert.deepEqual(await tableNames(db), [], 'no half-built schema');
      } finally {
        await db.close();
      }
      const rerun = await runNode([CLI_SOURCE, 'db', 'migrate', '--url', target.url], { ...process.env, DECNET_ADMIN_PASSWORD: 'long enough passphrase' });
      assert.equal(rerun.code, 0, rerun.out);
      assert.match(rerun.out, /migrated from version 0 to 1 \(baseline\)/);
      const after = await openDatabase(target.url, { migrate: false });
      try {
        assert.deepEqual(await schemaShape(after), await schemaShape(ctx.db()), 'the schema equals one built without interruption');
      } finally {
        await after.close();
      }
    } finally {
      await target.drop();
    }
  });
});
