// The reader threads: repositories run unchanged on them, threads start with demand and end when
// idle, a runaway statement is stopped, writes are refused, and a full queue answers 503.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/connection.ts';
import { appendLogs, countLogs, listLogRows } from '../../src/db/logs/repo.ts';
import { ReadPool } from '../../src/api/read-pool.ts';
import { HttpError } from '../../src/api/http/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'decnet-readpool-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function fixture(): Promise<string> {
  const path = join(root, `db-${Math.random().toString(36).slice(2)}.db`);
  const db = await openDatabase(`sqlite:${path}`);
  await appendLogs(db, Array.from({ length: 120 }, (_, i) => ({ ts: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(), decky: i % 2 ? 'a' : 'b', service: 'ssh', event_type: 'connect', attacker_ip: '192.0.2.1', raw_line: `line ${i}` })));
  await db.close();
  return path;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('repositories read through the pool exactly as through the main connection', async () => {
  const path = await fixture();
  const pool = new ReadPool({ path, threads: 2, idleMs: 200 });
  try {
    assert.equal(pool.threads, 0, 'no thread before the first read');
    const db = pool.db();
    assert.equal(await countLogs(db, { search: 'decky:a' }), 60);
    const rows = await listLogRows(db, { limit: 5 });
    assert.deepEqual(rows.map((r) => r.raw_line), ['line 119', 'line 118', 'line 117', 'line 116', 'line 115']);
    assert.deepEqual(rows[0].fields, {});
    const both = await Promise.all([countLogs(db), countLogs(db, { search: 'line' }), listLogRows(db, { limit: 1, offset: 3 })]);
    assert.deepEqual([both[0], both[1], both[2][0].raw_line], [120, 120, 'line 116']);
    assert.ok(pool.threads >= 1 && pool.threads <= 2, `threads: ${pool.threads}`);
    await until(() => pool.threads === 0, 'idle threads to end');
    assert.ok(pool.stats.retired >= 1);
    assert.equal(await countLogs(db), 120, 'a new thread starts on the next read');
  } finally {
    await pool.close();
  }
});

test('a statement over the time limit answers 503 at once; the pool keeps working; writes are refused', async () => {
  const path = await fixture();
  const pool = new ReadPool({ path, threads: 1, statementTimeoutMs: 400 });
  try {
    const db = pool.db();
    // long (a few seconds), but finite: a thread cannot be interrupted inside a statement
    const forever = sql`with recursive c(x) as (select 1 union all select x + 1 from c where x < 3000000) select count(*) as n from c`.execute(db.kysely);
    const queued = countLogs(db);
    await assert.rejects(forever, (err: unknown) => err instanceof HttpError && err.status === 503 && /took longer than 400 ms/.test(err.message));
    assert.equal(await queued, 120, 'the read queued behind it ran on a new thread');
    assert.equal(pool.stats.timeouts, 1);
    await assert.rejects(sql`delete from logs`.execute(db.kysely), /rows only|readonly|read-only/i);
    await assert.rejects(db.kysely.transaction().execute(async () => 1), /does not run transactions/);
    assert.equal(await countLogs(db), 120, 'nothing was deleted');
  } finally {
    await pool.close();
  }
});

test('a full queue is refused at once with 503 instead of growing', async () => {
  const path = await fixture();
  const pool = new ReadPool({ path, threads: 1, maxQueued: 2, statementTimeoutMs: 10_000 });
  try {
    const db = pool.db();
    const slow = sql`with recursive c(x) as (select 1 union all select x + 1 from c where x < 200000) select count(*) as n from c`;
    const running = [slow.execute(db.kysely), slow.execute(db.kysely), slow.execute(db.kysely)];
    await assert.rejects(countLogs(db), (err: unknown) => err instanceof HttpError && err.status === 503 && /busy/.test(err.message));
    assert.equal(pool.stats.refused, 1);
    const results = await Promise.allSettled(running);
    assert.ok(results.every((r) => r.status === 'fulfilled'), 'the queued statements still ran');
  } finally {
    await pool.close();
  }
});
