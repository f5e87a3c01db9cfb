// The bundle's layers (scripts/build.mjs, LAYERS): every module is bundled exactly once, and a
// standalone worker loads its worker module plus three layer files, not a spray of small chunks
// (each ESM module costs a process memory) and not the command table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordModules } from '../helpers/module-recorder.ts';
import { ROOT, testDirs } from '../helpers/env.ts';

const META = join(ROOT, 'dist/meta.json');
const built = existsSync(META);

test('every source module is in exactly one bundle file', { skip: !built && 'dist/ not built (npm run build)' }, () => {
  const meta = JSON.parse(readFileSync(META, 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const placed = new Map<string, string[]>();
  for (const [file, output] of Object.entries(meta.outputs)) {
    for (const input of Object.keys(output.inputs)) {
      if (input.startsWith('builtin:') || input.startsWith('layer:')) continue;
      placed.set(input, [...(placed.get(input) ?? []), file]);
    }
  }
  const twice = [...placed].filter(([, files]) => files.length > 1).map(([input, files]) => `${input}: ${files.join(', ')}`);
  assert.deepEqual(twice, []);
  for (const layer of ['base', 'core', 'runtime']) assert.ok(meta.outputs[`dist/layers/${layer}.js`], `layer ${layer} was built`);
  assert.equal(placed.get('src/fleet/host.ts')?.[0], 'dist/layers/runtime.js');
});

test('a standalone worker loads the three layers and its worker, not the command table', { skip: !built && 'dist/ not built (npm run build)' }, async () => {
  const dirs = testDirs('decnet-layers-');
  const broker = spawn(process.execPath, [join(ROOT, 'bin/decnet'), 'bus'], { env: dirs.env, stdio: 'ignore' });
  try {
    const deadline = Date.now() + 10_000;
    while (!existsSync(dirs.socket) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const stateFile = join(dirs.env.DECNET_RUN_DIR!, 'hosts', 'idle.json');
    const rec = await recordModules(['idle'], {
      env: dirs.env,
      until: () => existsSync(stateFile) && readFileSync(stateFile, 'utf8').includes('"running"'),
    });
    const files = rec.urls.filter((u) => u.includes('/dist/')).map((u) => u.slice(u.indexOf('/dist/') + 1));
    for (const f of ['dist/decnet.js', 'dist/layers/base.js', 'dist/layers/core.js', 'dist/layers/runtime.js', 'dist/lazy/fleet-idle-worker.js']) {
      assert.ok(files.includes(f), `${f} loaded (got ${files.join(', ')})`);
    }
    assert.ok(files.length <= 6, `at most 6 bundle files, got ${files.length}: ${files.join(', ')}`);
    assert.deepEqual(rec.sources.filter((s) => s.startsWith('src/cli/table/') || s === 'src/cli/commands.ts' || s.startsWith('src/db/')), []);
  } finally {
    broker.kill();
    dirs.cleanup();
  }
});
