// Opening the database: URL parsing and its errors, SQLite settings, the per-process instance.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { closeSharedDatabase, openDatabase, parseDbUrl, redactUrl, sharedDatabase } from '../../src/db/connection.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { freshSqliteUrl } from './dialects.ts';

it('parses sqlite: and postgres:// URLs', () => {
  assert.deepEqual(parseDbUrl('sqlite:/var/lib/decnet/decnet.db'), { dialect: 'sqlite', path: '/var/lib/decnet/decnet.db' });
  assert.deepEqual(parseDbUrl('sqlite:///var/lib/x.db'), { dialect: 'sqlite', path: '/var/lib/x.db' });
  assert.deepEqual(parseDbUrl('sqlite::memory:'), { dialect: 'sqlite', path: ':memory:' });
  assert.equal((parseDbUrl('sqlite:rel/x.db') as { path: string }).path, join(process.cwd(), 'rel/x.db'));
  const saved = process.env.DECNET_DATA_DIR;
  process.env.DECNET_DATA_DIR = '/srv/decnet';
  try {
    assert.deepEqual(parseDbUrl('sqlite:'), { dialect: 'sqlite', path: '/srv/decnet/decnet.db' });
  } finally {
    if (saved === undefined) delete process.env.DECNET_DATA_DIR;
    else process.env.DECNET_DATA_DIR = saved;
  }
  assert.deepEqual(parseDbUrl('postgresql://u:p@db.example:5433/decnet?schema=fleet_a&sslmode=require'), {
    dialect: 'postgres',
    connectionString: 'postgresql://u:p@db.example:5433/decnet?sslmode=require',
    schema: 'fleet_a',
  });
  assert.equal(redactUrl('postgres://decnet:s3cret@db:5432/decnet'), 'postgres://decnet:***@db:5432/decnet');
});

it('refuses an unknown or malformed DECNET_DB_URL with a message saying what to write', async () => {
  assert.throws(() => parseDbUrl('mysql://root@localhost/decnet'), (err: Error) => err instanceof ConfigError && /unsupported database "mysql:"; use sqlite:<path> .* or postgres:\/\//.test(err.message));
  assert.throws(() => parseDbUrl('decnet.db'), /unsupported database "decnet.db" \(no scheme\)/);
  assert.throws(() => parseDbUrl('postgres://u@host'), /names no database/);
  assert.throws(() => parseDbUrl('postgres://u@host/db?schema=Robert;drop'), /must be a lower-case identifier/);
  const saved = process.env.DECNET_DB_URL;
  process.env.DECNET_DB_URL = 'redis://127.0.0.1:6379';
  try {
    await assert.rejects(openDatabase(), /DECNET_DB_URL: unsupported database "redis:"/);
  } finally {
    if (saved === undefined) delete process.env.DECNET_DB_URL;
    else process.env.DECNET_DB_URL = saved;
  }
  await assert.rejects(openDatabase('postgres://nobody@127.0.0.1:1/none'), /cannot use PostgreSQL at postgres:\/\/nobody@127\.0\.0\.1:1\/none/);
});

it('opens SQLite private, in WAL mode, with foreign keys and a short in-library busy wait', async () => {
  const target = freshSqliteUrl('pragmas');
  const db = await openDatabase(target.url);
  try {
    const pragma = async (name: string) => Object.values((await sql.raw(`pragma ${name}`).execute(db.kysely)).rows[0] as object)[0];
    assert.equal(await pragma('journal_mode'), 'wal');
    assert.equal(await pragma('foreign_keys'), 1);
    assert.equal(await pragma('synchronous'), 1, 'NORMAL');
    assert.equal(await pragma('busy_timeout'), 2);
    assert.equal(statSync(target.path).mode & 0o777, 0o600, 'the database holds credentials: owner only');
  } finally {
    await db.close();
    await target.drop();
  }
});

it('gives every caller in a process the same database, and can close it', async () => {
  const target = freshSqliteUrl('shared');
  const saved = process.env.DECNET_DB_URL;
  process.env.DECNET_DB_URL = target.url;
  try {
    const [a, b] = await Promise.all([sharedDatabase(), sharedDatabase()]);
    assert.equal(a, b);
    assert.equal(a.url, target.url);
    await closeSharedDatabase();
    const c = await sharedDatabase();
    assert.notEqual(c, a, 'a closed instance is replaced');
    await closeSharedDatabase();
  } finally {
    if (saved === undefined) delete process.env.DECNET_DB_URL;
    else process.env.DECNET_DB_URL = saved;
    await target.drop();
  }
});

it('the background checkpointer of a heavy writer folds a long write-ahead log back into the database', async () => {
  const target = freshSqliteUrl('checkpointer');
  const { DatabaseSync } = await import('node:sqlite');
  const { startCheckpointer } = await import('../../src/db/sqlite-checkpointer.ts');
  const writer = new DatabaseSync(target.path);
  try {
    writer.exec('pragma journal_mode = wal; pragma wal_autocheckpoint = 0; create table t (v text)');
    const insert = writer.prepare('insert into t values (?)');
    writer.exec('begin');
    for (let i = 0; i < 5000; i++) insert.run('x'.repeat(3000)); // > 4096 pages of log, never checkpointed by the writer
    writer.exec('commit');
    const wal = `${target.path}-wal`;
    assert.ok(statSync(wal).size > 4096 * 4096, 'the log is long');
    const checkpointer = startCheckpointer(target.path, 20);
    try {
      const deadline = Date.now() + 10_000;
      while (statSync(wal).size > 0) {
        assert.ok(Date.now() < deadline, 'the checkpointer truncated the log within 10 s');
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await checkpointer.stop();
    }
    assert.equal((writer.prepare('select count(*) as n from t').get() as { n: number }).n, 5000, 'every row is still there');
  } finally {
    writer.close();
    await target.drop();
  }
});
