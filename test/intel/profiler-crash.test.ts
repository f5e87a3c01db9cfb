// `kill -9` of the profiler in the middle of a backlog, then a restart: every aggregate is exact
// (nothing counted twice, nothing lost), because each page and its cursor commit together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import ingester from '../../src/pipeline/ingester-worker.ts';
import { countLogs } from '../../src/db/logs/repo.ts';
import type { EventInput } from '../../src/pipeline/rfc5424.ts';
import { CLI_SOURCE, startProcess, stopProcess, waitFor } from '../helpers/env.ts';
import { openTestDb, runWorkers, sandbox, writeEvents } from '../pipeline/helpers.ts';

const TOTAL = 40_000;
const IPS = 50;

function query(path: string, sql: string): number {
  try {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return Number((db.prepare(sql).get() as { n: number | bigint | null }).n ?? 0);
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

test('kill -9 of the profiler mid-backlog, then restart: exact aggregates', { timeout: 120_000 }, async () => {
  const box = sandbox('decnet-prof-crash-');
  const t0 = Date.UTC(2024, 4, 1);
  const events: EventInput[] = [];
  for (let i = 0; i < TOTAL; i++) {
    events.push({ ts: new Date(t0 + i * 100).toISOString(), decky: `decky-${i % 3}`, service: i % 2 ? 'ssh' : 'http', event: i % 4 === 0 ? 'command' : 'connect', src_ip: `198.51.100.${i % IPS}`, src_port: 1024 + (i % 50_000), dst_ip: '192.0.2.1', dst_port: 22, fields: i % 4 === 0 ? { command: `echo ${i}` } : {} });
  }
  writeEvents(box.decoyLog, events);
  const db = await openTestDb(box);
  const run = await runWorkers([{ def: ingester, config: { poll: 20 } }]);
  try {
    await waitFor(async () => (await countLogs(db)) === TOTAL, 60_000, 'the backlog stored');
  } finally {
    await run.stop();
    await db.close();
  }
  const dbPath = join(box.dataDir, 'decnet.db');
  const env = { ...process.env, DECNET_BUS_URL: 'local:', DECNET_LOG_LEVEL: 'warn' };
  const cursor = () => query(dbPath, "select json_extract(value, '$.last_log_id') as n from state where key = 'profiler:cursor'");
  try {
    for (const killAt of [8_000, 20_000]) {
      const p = startProcess([CLI_SOURCE, 'profiler', '--batch', '500'], env);
      try {
        await waitFor(() => cursor() >= killAt || p.child.exitCode !== null, 60_000, `the profiler past ${killAt}`);
        p.child.kill('SIGKILL');
        await p.exited;
      } finally {
        await stopProcess(p, 'SIGKILL');
      }
      assert.ok(cursor() < TOTAL, `killed mid-backlog (cursor ${cursor()}); ${p.output().slice(-300)}`);
    }
    const p = startProcess([CLI_SOURCE, 'profiler', '--batch', '500'], env);
    try {
      await waitFor(() => cursor() === TOTAL, 60_000, 'the whole backlog profiled');
    } finally {
      assert.equal((await stopProcess(p)).code, 0, p.output());
    }
    assert.equal(query(dbPath, 'select count(*) as n from attackers'), IPS);
    assert.equal(query(dbPath, 'select sum(event_count) as n from attackers'), TOTAL, 'each event counted once');
    assert.equal(query(dbPath, 'select min(event_count) as n from attackers'), TOTAL / IPS);
    assert.equal(query(dbPath, 'select max(event_count) as n from attackers'), TOTAL / IPS);
    assert.equal(query(dbPath, "select json_extract(timing_stats, '$.iat_count') as n from attacker_behavior b join attackers a on a.uuid = b.attacker_uuid where a.ip = '198.51.100.0'"), TOTAL / IPS - 1);
    // 198.51.100.0 sends events i = 0, 50, 100 …; every other one (i % 4 === 0) is a command.
    assert.equal(query(dbPath, "select json_array_length(commands) as n from attackers where ip = '198.51.100.0'"), TOTAL / IPS / 2);
  } finally {
    await box.cleanup();
  }
});
