// Import floor (DESIGN §6): what the capture and intelligence workers and the views really load,
// recorded on the BUILT cli (`npm run build` first). No intelligence or capture worker loads
// decoy-service code or ssh2; the collector loads no database code; the views load no bus client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { matching, recordModules, type RecordedRun } from '../helpers/module-recorder.ts';
import { ROOT, testDirs } from '../helpers/env.ts';

const built = existsSync(join(ROOT, 'dist/meta.json'));

function runningFor(runDir: string, name: string, settleMs = 400): () => boolean {
  let since = 0;
  return () => {
    try {
      const state = JSON.parse(readFileSync(join(runDir, 'hosts', `${name}.json`), 'utf8')) as { workers: { state: string }[] };
      if (!state.workers.every((w) => w.state === 'running')) return false;
      since ||= Date.now();
      return Date.now() - since >= settleMs;
    } catch {
      return false;
    }
  };
}

async function recordWorker(name: string, args: string[] = []): Promise<RecordedRun> {
  const dirs = testDirs(`decnet-floor-${name}-`);
  try {
    const env = { ...dirs.env, DECNET_BUS_URL: 'local:', DECNET_COLLECTOR_LISTEN: '127.0.0.1:0' };
    const rec = await recordModules([name, ...args], { env, until: runningFor(dirs.env.DECNET_RUN_DIR!, name), timeoutMs: 20_000 });
    assert.equal(rec.code, 0, rec.stderr);
    return rec;
  } finally {
    dirs.cleanup();
  }
}

const HEAVY = /node_modules\/(ssh2|@nats-io|pg)\//;

for (const worker of ['ingester', 'profiler', 'reuse-correlator']) {
  test(`decnet ${worker} loads no decoy code, no ssh2, no NATS or PostgreSQL client`, { skip: built ? false : 'dist/ missing: run `npm run build` first' }, async () => {
    const rec = await recordWorker(worker);
    assert.deepEqual(matching(rec, 'src/deckies/'), []);
    assert.deepEqual(rec.sources.filter((s) => HEAVY.test(s)), []);
    assert.ok(rec.sources.includes('src/db/sqlite-dialect.ts'), 'the worker did open its database');
    if (worker !== 'ingester') assert.deepEqual(matching(rec, 'src/pipeline/').filter((s) => !s.endsWith('extract.ts') && !s.endsWith('rfc5424.ts')), [], 'no capture code in intelligence workers');
  });
}

test('decnet collector loads no database code and no decoy code', { skip: built ? false : 'dist/ missing: run `npm run build` first' }, async () => {
  const rec = await recordWorker('collector');
  assert.ok(rec.sources.includes('src/pipeline/collector-worker.ts'), 'the recorder saw the worker');
  assert.deepEqual(matching(rec, 'src/db/'), []);
  assert.deepEqual(matching(rec, 'src/deckies/'), []);
  assert.ok(!rec.builtins.includes('node:sqlite'));
  assert.deepEqual(rec.sources.filter((s) => /node_modules\/(kysely|ssh2|pg|@nats-io)\//.test(s)), []);
});

test('the views load neither decoy code nor a bus client (only events --follow needs the bus)', { skip: built ? false : 'dist/ missing: run `npm run build` first' }, async () => {
  const dirs = testDirs('decnet-floor-views-');
  try {
    for (const view of [['attackers'], ['credentials', '--reuse'], ['events']]) {
      const rec = await recordModules(view, { env: dirs.env });
      assert.equal(rec.code, 0, rec.stderr);
      assert.deepEqual(matching(rec, 'src/deckies/'), [], view.join(' '));
      assert.deepEqual(matching(rec, 'src/bus/').filter((s) => s !== 'src/bus/topics.ts' && s !== 'src/bus/subject.ts'), [], view.join(' '));
      assert.deepEqual(matching(rec, 'src/fleet/').filter((s) => s !== 'src/fleet/registry.ts'), [], view.join(' '));
    }
  } finally {
    dirs.cleanup();
  }
});
