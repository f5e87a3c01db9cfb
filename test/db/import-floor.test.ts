// Import floor (DESIGN §6): the modules a process really loads, recorded by a loader hook.
// The logs repository on SQLite loads no other domain's schema and no PostgreSQL driver; the bus
// broker loads no database code at all.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshPostgresUrl, freshSqliteUrl, postgresUnavailable } from './dialects.ts';
import { openDatabase } from '../../src/db/connection.ts';
import { ROOT } from '../helpers/env.ts';

const HOOK = join(ROOT, 'test/helpers/record-modules.mjs');

/** Runs `script args…` under the module-load recorder; returns loaded files (repo-relative) and built-ins. */
async function loadedModules(script: string, args: string[]): Promise<{ files: string[]; builtins: string[]; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-floor-'));
  const log = join(dir, 'modules.log');
  try {
    const child = spawn(process.execPath, ['--import', HOOK, script, ...args], { env: { ...process.env, DECNET_MODULE_LOG: log }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 0, output);
    const urls = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
    return {
      files: [...new Set(urls.filter((u) => u.startsWith('file:')).map((u) => relative(ROOT, fileURLToPath(u))))].sort(),
      builtins: urls.filter((u) => u.startsWith('node:')),
      output,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const schemaModules = (files: string[]) => files.filter((f) => /^src\/db\/[^/]+\/schema\.ts$/.test(f));

it('the logs repository on SQLite loads neither other domains’ schemas, the migration list nor pg', async () => {
  const target = freshSqliteUrl('floor');
  try {
    await (await openDatabase(target.url)).close(); // an up-to-date database, as a worker finds it
    const run = await loadedModules(join(ROOT, 'test/db/fixtures/logs-only.ts'), [target.url]);
    assert.match(run.output, /rows=1/);
    for (const needed of ['src/db/logs/repo.ts', 'src/db/logs/search.ts', 'src/db/sqlite-dialect.ts', 'src/db/migrations.ts']) assert.ok(run.files.includes(needed), `${needed} is loaded`);
    assert.ok(run.builtins.includes('node:sqlite'));
    assert.deepEqual(schemaModules(run.files), [], 'no schema module at all (types only)');
    const forbidden = run.files.filter((f) => f === 'src/db/catalog.ts' || f === 'src/db/ddl.ts' || f === 'src/db/postgres.ts' || f.startsWith('node_modules/pg') || (f.startsWith('src/db/') && f.split('/').length > 3 && !f.startsWith('src/db/logs/')));
    assert.deepEqual(forbidden, []);
  } finally {
    await target.drop();
  }
});

it('the logs repository on PostgreSQL loads pg but not node:sqlite', async (t) => {
  const unavailable = await postgresUnavailable();
  if (unavailable) return t.skip(unavailable);
  const target = freshPostgresUrl('floor');
  try {
    await (await openDatabase(target.url)).close();
    const run = await loadedModules(join(ROOT, 'test/db/fixtures/logs-only.ts'), [target.url]);
    assert.ok(run.files.some((f) => f.startsWith('node_modules/pg/')), 'pg is loaded');
    assert.ok(!run.builtins.includes('node:sqlite'), 'node:sqlite is not');
    assert.ok(!run.files.includes('src/db/sqlite-dialect.ts'));
    assert.deepEqual(schemaModules(run.files), []);
    assert.ok(!run.files.includes('src/db/catalog.ts'));
  } finally {
    await target.drop();
  }
});

it('the bus broker loads no database code', async (t) => {
  const broker = join(ROOT, 'src/bus/broker.ts');
  if (!existsSync(broker)) return t.skip('src/bus/broker.ts does not exist yet');
  const run = await loadedModules(join(ROOT, 'test/db/fixtures/import-only.ts'), [broker]);
  assert.ok(run.files.includes('src/bus/broker.ts'));
  assert.deepEqual(run.files.filter((f) => f.startsWith('src/db/') || f.startsWith('node_modules/kysely') || f.startsWith('node_modules/pg')), []);
  assert.ok(!run.builtins.includes('node:sqlite'));
});
