// Import floor (DESIGN §6 rule 4): the built `decnet api` loads the API, the bus client, the
// database layer and what its routes need, but none of the decoy services, no protocol library of
// the deckies, no other worker, no PostgreSQL or NATS client; and the CLI's help loads none of the
// API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordModules, matching, ROOT } from '../helpers/module-recorder.ts';
import { testDirs } from '../helpers/env.ts';

test('`decnet api` loads the API and the data layer, nothing of the deckies or other workers', { timeout: 60_000 }, async (t) => {
  if (!existsSync(join(ROOT, 'dist/meta.json'))) {
    t.skip('dist/ is not built (npm run build)');
    return;
  }
  const dirs = testDirs('decnet-api-floor-');
  try {
    const endpoint = join(dirs.env.DECNET_RUN_DIR!, 'api.json');
    const run = await recordModules(['api'], {
      env: { ...dirs.env, DECNET_BUS_URL: 'local:', DECNET_ADMIN_PASSWORD: 'import floor passphrase' },
      until: () => existsSync(endpoint) && JSON.parse(readFileSync(endpoint, 'utf8')).port > 0,
      timeoutMs: 30_000,
    });
    assert.ok(matching(run, 'src/api/').includes('src/api/worker.ts'), 'the api worker loaded');
    assert.ok(matching(run, 'src/api/').includes('src/api/http/server.ts'));
    assert.ok(run.sources.includes('src/db/connection.ts'), 'the data layer loaded');
    assert.deepEqual(matching(run, 'src/deckies/services/'), [], 'no decoy service');
    assert.deepEqual(matching(run, 'src/deckies/shell/'), [], 'no decoy shell');
    assert.deepEqual(matching(run, 'src/pipeline/'), [], 'no pipeline worker');
    assert.deepEqual(matching(run, 'src/notify/'), [], 'no webhook delivery');
    for (const lib of ['node_modules/ssh2/', 'node_modules/pg/', 'node_modules/@nats-io/', 'node_modules/@ip-location-db/']) {
      assert.deepEqual(matching(run, lib), [], `does not load ${lib}`);
    }
    // the TTP catalogue and rule engine are loaded only when a TTP route is used
    assert.deepEqual(matching(run, 'src/intel/'), [], 'no intelligence code at start');
  } finally {
    dirs.cleanup();
  }
});

test('`decnet --help` loads none of the API', { timeout: 30_000 }, async (t) => {
  if (!existsSync(join(ROOT, 'dist/meta.json'))) {
    t.skip('dist/ is not built (npm run build)');
    return;
  }
  const run = await recordModules(['--help']);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /\bapi\b/, 'the api worker is listed');
  assert.deepEqual(matching(run, 'src/api/'), []);
});
