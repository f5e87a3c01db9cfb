// Two processes on one SQLite file for ~10 s: an ingester-like batch writer and a profiler-like
// read-modify-write updater. No SQLITE_BUSY may surface and every row must be there, counted once.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { freshSqliteUrl } from './dialects.ts';
import { openDatabase } from '../../src/db/connection.ts';
import { countLogs, maxLogId } from '../../src/db/logs/repo.ts';
import { getState } from '../../src/db/state/repo.ts';
import { sql } from 'kysely';
import { ROOT } from '../helpers/env.ts';

const DURATION_MS = Number(process.env.DECNET_TEST_CONCURRENCY_MS ?? 10_000);

function start(script: string, args: string[]) {
  const child = spawn(process.execPath, [`${ROOT}/test/db/fixtures/${script}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  return { child, exited, out: () => out, err: () => err };
}

it(`an ingester and a profiler share one SQLite file for ${DURATION_MS / 1000} s without SQLITE_BUSY and without losing a row`, { timeout: DURATION_MS + 60_000 }, async () => {
  const target = freshSqliteUrl('concurrency');
  const children: ReturnType<typeof start>[] = [];
  try {
    await (await openDatabase(target.url)).close(); // migrate first, so both start on an up-to-date schema
    const profiler = start('profiler-like.ts', [target.url]);
    const ingester = start('ingester-like.ts', [target.url, String(DURATION_MS)]);
    children.push(profiler, ingester);
    assert.equal(await ingester.exited, 0, ingester.err());
    profiler.child.stdin.write('drain\n');
    assert.equal(await profiler.exited, 0, profiler.err());
    for (const p of [ingester, profiler]) assert.doesNotMatch(p.err() + p.out(), /SQLITE_BUSY|database is locked/i);

    const ing = JSON.parse(ingester.out()) as { inserted: number; batches: number; last_seq: number; loop_max_ms: number };
    const prof = JSON.parse(profiler.out()) as { processed: number; pages: number; loop_max_ms: number };
    const db = await openDatabase(target.url);
    try {
      assert.ok(ing.batches > 20, `the writer made progress (${ing.batches} batches)`);
      assert.equal(ing.inserted, ing.last_seq, 'every event of every batch was inserted');
      assert.equal(await countLogs(db), ing.inserted, 'every row is present');
      assert.deepEqual(await getState(db, 'ingest_worker_position'), { position: ing.last_seq });
      assert.equal(prof.processed, ing.inserted, 'the profiler saw every row once');
      assert.deepEqual(await getState(db, 'attacker_worker_cursor'), { last_log_id: await maxLogId(db) });
      const { rows } = await sql<{ total: number | string; attackers: number | string }>`select sum(event_count) as total, count(*) as attackers from attackers`.execute(db.kysely);
      assert.equal(Number(rows[0].total), ing.inserted, 'no lost update: per-attacker counts add up to the rows');
      const { rows: ips } = await sql<{ n: number }>`select count(distinct attacker_ip) as n from logs`.execute(db.kysely);
      assert.equal(Number(rows[0].attackers), Number(ips[0].n));
      process.stdout.write(`# concurrency: ${ing.inserted} rows in ${ing.batches} batches; profiler ${prof.pages} pages; max event-loop delay writer ${ing.loop_max_ms.toFixed(1)} ms, updater ${prof.loop_max_ms.toFixed(1)} ms\n`);
    } finally {
      await db.close();
    }
  } finally {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await target.drop();
  }
});
