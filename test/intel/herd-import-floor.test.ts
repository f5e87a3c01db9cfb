// Import floor of the herd workers (DESIGN §6), recorded on the built CLI: only `enrich` loads the
// offline IP tables' code; only processes that call out over HTTP (webhook, and enrich when an
// online provider is configured) load the HTTP client; the ttp worker loads neither; none of them
// loads decoy code or ssh2.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { testDirs } from '../helpers/env.ts';
import { matching, recordModules, type RecordedRun } from '../helpers/module-recorder.ts';
import { openDatabase } from '../../src/db/connection.ts';
import { appendLogs } from '../../src/db/logs/repo.ts';
import { getAttacker, upsertAttacker } from '../../src/db/attackers/repo.ts';
import { getState } from '../../src/db/state/repo.ts';
import { createWebhook } from '../../src/db/webhooks/repo.ts';
import { getAttackerIntel } from '../../src/db/intel/repo.ts';
import { readHostState } from '../../src/fleet/host-state.ts';

const dirs = testDirs('decnet-herd-floor-');
mkdirSync(join(dirs.root, 'data'), { recursive: true });
process.env.DECNET_RUN_DIR = dirs.env.DECNET_RUN_DIR;
const db = await openDatabase(dirs.env.DECNET_DB_URL);
after(async () => {
  await db.close();
  dirs.cleanup();
});

const env = { ...dirs.env, DECNET_INTEL_PROVIDERS: 'none' };
const GEO = ['src/intel/enrich/geo.ts', 'src/intel/enrich/geo-file.ts'];
/** The CSV parser: it runs in a short-lived child process, never in the worker's. */
const CSV_PARSER = ['src/intel/enrich/geo-csv.ts', 'src/intel/enrich/range-table.ts'];
const HTTP = 'src/core/http-client.ts';
const hasHttp = (r: RecordedRun) => r.sources.includes(HTTP) || r.builtins.includes('node:http') || r.builtins.includes('node:https');

function common(r: RecordedRun, name: string): void {
  assert.deepEqual(matching(r, 'src/deckies/'), [], `${name} loads no decoy code`);
  assert.deepEqual(r.sources.filter((s) => /node_modules\/(ssh2|@nats-io)\//.test(s)), [], `${name} loads neither ssh2 nor the NATS client`);
}

test('decnet ttp: the engine, no IP tables, no HTTP client', async () => {
  const { uuid } = await upsertAttacker(db, { ip: '198.51.100.1', first_seen: '2026-05-01T00:00:00Z', last_seen: '2026-05-01T00:00:00Z' });
  void uuid;
  await appendLogs(db, [{ ts: new Date().toISOString(), decky: 'd1', service: 'ssh', event_type: 'command', attacker_ip: '198.51.100.1', fields: { command: 'history -c' }, raw_line: 'floor test line' }]);
  const rec = await recordModules(['ttp', '--poll-interval', '0.2'], { env, until: async () => Number(await getState(db, 'ttp.cursor')) > 0 });
  assert.equal(rec.code, 0, rec.stderr);
  assert.ok(rec.sources.includes('src/intel/ttp/engine.ts') && rec.sources.includes('src/intel/ttp/worker.ts'), 'the recorder saw the worker');
  assert.deepEqual(rec.sources.filter((s) => s.startsWith('src/intel/enrich/')), []);
  assert.ok(!hasHttp(rec), `ttp loads no HTTP client: ${rec.builtins.join(' ')}`);
  common(rec, 'ttp');
});

test('decnet enrich without online providers: the IP tables, no HTTP client', async () => {
  const { uuid } = await upsertAttacker(db, { ip: '8.8.4.4', first_seen: '2026-05-01T00:00:00Z', last_seen: '2026-05-01T00:00:00Z' });
  const rec = await recordModules(['enrich', '--poll-interval', '0.2'], { env, until: async () => (await getAttacker(db, uuid))?.asn === 15169, timeoutMs: 30_000 });
  assert.equal(rec.code, 0, rec.stderr);
  for (const m of GEO) assert.ok(rec.sources.includes(m), m);
  for (const m of CSV_PARSER) assert.ok(!rec.sources.includes(m), `${m} stays out of the worker's process`);
  assert.ok(!hasHttp(rec), `enrich without providers loads no HTTP client: ${rec.builtins.join(' ')}`);
  assert.deepEqual(rec.sources.filter((s) => s.startsWith('src/intel/ttp/')), []);
  common(rec, 'enrich');
});

test('decnet enrich with an online provider loads the HTTP client', async () => {
  const feed = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'));
  await new Promise<void>((r) => feed.listen(0, '127.0.0.1', r));
  try {
    const { uuid } = await upsertAttacker(db, { ip: '9.9.9.9', first_seen: '2026-05-02T00:00:00Z', last_seen: '2026-05-02T00:00:00Z' });
    const rec = await recordModules(['enrich', '--poll-interval', '0.2'], {
      env: { ...env, DECNET_INTEL_PROVIDERS: 'feodo', DECNET_FEODO_URL: `http://127.0.0.1:${(feed.address() as AddressInfo).port}/feed.json` },
      until: async () => (await getAttackerIntel(db, uuid))?.feodo_queried_at != null,
      timeoutMs: 30_000,
    });
    assert.equal(rec.code, 0, rec.stderr);
    assert.ok(rec.sources.includes(HTTP));
    common(rec, 'enrich');
  } finally {
    feed.closeAllConnections();
    await new Promise<void>((r) => feed.close(() => r()));
  }
});

test('decnet webhook: the HTTP client, no IP tables, no TTP engine', async () => {
  await createWebhook(db, { name: 'floor', url: 'https://siem.example/hook', topic_patterns: ['ttp.>'] });
  // With heartbeats every 100 ms the host state file shows the worker's counters: wait for its first reload.
  const rec = await recordModules(['webhook'], {
    env: { ...env, DECNET_HEALTH_INTERVAL_MS: '100' },
    until: () => Number((readHostState('webhook')?.workers[0]?.extra as { reloads?: number } | undefined)?.reloads ?? 0) >= 1,
  });
  assert.equal(rec.code, 0, rec.stderr);
  assert.ok(rec.sources.includes('src/notify/webhook-worker.ts') && rec.sources.includes(HTTP), 'the deliverer and its client');
  assert.deepEqual(rec.sources.filter((s) => s.startsWith('src/intel/')), [], 'no enrichment or TTP code');
  common(rec, 'webhook');
});
