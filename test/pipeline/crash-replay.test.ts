// Acceptance: `kill -9` of the capture process in the middle of a 100,000-event replay, then a
// restart: the database holds each event exactly once, and the aggregates derived from the events
// (credential attempt counts, fingerprint findings) are exact too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { formatEvent } from '../../src/pipeline/rfc5424.ts';
import { tailStateKey } from '../../src/pipeline/ingester-worker.ts';
import { CLI_SOURCE, startProcess, stopProcess, testDirs, waitFor } from '../helpers/env.ts';

const TOTAL = 100_000;

function count(dbPath: string, query: string): number {
  try {
    const db = new DatabaseSync(dbPath, { readOnly: true });
    try {
      return Number((db.prepare(query).get() as { n: number | bigint | null }).n ?? 0);
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created yet, or the schema is being written
  }
}

test('kill -9 of the capture process mid-replay, then restart: every event exactly once', { timeout: 120_000 }, async () => {
  const dirs = testDirs('decnet-crash-');
  const dataDir = dirs.env.DECNET_DATA_DIR!;
  const log = join(dataDir, 'events', 'decoy.log');
  const dbPath = join(dataDir, 'decnet.db');
  mkdirSync(join(dataDir, 'events'), { recursive: true });

  // The replay: 100,000 events of 200 attackers; every 10th a login with one of 50 passwords,
  // every 25th an SSH hello with one of 4 client versions.
  const t0 = Date.UTC(2024, 4, 1);
  let auth = 0;
  const secrets = new Set<string>();
  const chunk: string[] = [];
  for (let i = 0; i < TOTAL; i++) {
    const ip = `203.0.113.${i % 200}`;
    const base = { ts: new Date(t0 + i * 7).toISOString(), decky: `decky-${i % 5}`, service: 'ssh', src_ip: ip, src_port: 1024 + (i % 60_000), dst_ip: '192.0.2.1', dst_port: 22 };
    if (i % 10 === 0) {
      auth++;
      secrets.add(`${ip}|decky-${i % 5}|pw-${i % 50}`);
      chunk.push(formatEvent({ ...base, event: 'auth_attempt', fields: { username: 'root', success: false }, secret: `pw-${i % 50}` }));
    } else if (i % 25 === 1) chunk.push(formatEvent({ ...base, event: 'client_hello', fields: { client_version: `SSH-2.0-libssh2_1.${i % 4}` } }));
    else chunk.push(formatEvent({ ...base, event: 'command', fields: { command: `echo ${i}` } }));
    if (chunk.length === 10_000) appendFileSync(log, chunk.splice(0).join('\n') + '\n');
  }
  const size = statSync(log).size;

  const env = { ...dirs.env, DECNET_BUS_URL: 'local:', DECNET_COLLECTOR_LISTEN: '127.0.0.1:0' };
  const logs = () => count(dbPath, 'select count(*) as n from logs');
  try {
    for (const killAt of [20_000, 60_000]) {
      const capture = startProcess([CLI_SOURCE, 'supervise', 'capture'], env);
      try {
        await waitFor(() => logs() >= killAt || capture.child.exitCode !== null, 60_000, `${killAt} events stored`);
        capture.child.kill('SIGKILL');
        await capture.exited;
      } finally {
        await stopProcess(capture, 'SIGKILL');
      }
      const stored = logs();
      assert.ok(stored < TOTAL, `killed in the middle of the replay (at ${stored} of ${TOTAL}); ${capture.output().slice(-500)}`);
    }
    const capture = startProcess([CLI_SOURCE, 'supervise', 'capture'], env);
    try {
      const offsetQuery = `select json_extract(value, '$.active.offset') as n from state where key = '${tailStateKey(log)}'`;
      await waitFor(() => logs() === TOTAL && count(dbPath, offsetQuery) === size, 60_000, 'the whole replay');
    } finally {
      const exit = await stopProcess(capture);
      assert.equal(exit.code, 0, capture.output());
    }
    assert.equal(logs(), TOTAL);
    assert.equal(count(dbPath, 'select count(distinct raw_line) as n from logs'), TOTAL, 'no event twice');
    assert.equal(count(dbPath, 'select count(*) as n from credentials'), secrets.size);
    assert.equal(count(dbPath, 'select sum(attempt_count) as n from credentials'), auth, 'every login counted once');
    // One finding per (IP, announced client version).
    const expected = new Set<string>();
    for (let i = 1; i < TOTAL; i += 25) expected.add(`203.0.113.${i % 200}|${i % 4}`);
    assert.equal(count(dbPath, "select count(*) as n from bounty where bounty_type = 'fingerprint'"), expected.size);
  } finally {
    dirs.cleanup();
  }
});
