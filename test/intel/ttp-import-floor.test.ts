// Import floor (DESIGN §6): the TTP engine and its exports load only their own small modules, the
// core env helpers and Node built-ins; no database, bus, decoy or third-party code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../helpers/env.ts';

test('loading the engine and both exporters pulls in nothing heavy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-ttp-floor-'));
  try {
    const log = join(dir, 'modules.log');
    const script = `
      const { loadTtpEngine } = await import(${JSON.stringify(join(ROOT, 'src/intel/ttp/load-engine.ts'))});
      const { exportStix } = await import(${JSON.stringify(join(ROOT, 'src/intel/ttp/stix-export.ts'))});
      const { exportNavigator } = await import(${JSON.stringify(join(ROOT, 'src/intel/ttp/navigator-export.ts'))});
      const { engine } = await loadTtpEngine();
      const tags = engine.evaluate({ ts: 1, decky: 'd', service: 'ssh', event: 'command', attacker_ip: '192.0.2.1', fields: { command: 'history -c' } }).tags;
      exportStix(tags, { catalogue: engine.catalogue });
      exportNavigator(tags, { catalogue: engine.catalogue });
      console.log(tags.length);
    `;
    const run = spawnSync(process.execPath, ['--import', join(ROOT, 'test/helpers/record-modules.mjs'), '--input-type=module', '-e', script], {
      env: { ...process.env, DECNET_MODULE_LOG: log },
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), '1');
    const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const files = urls.filter((u) => u.startsWith('file:')).map((u) => relative(ROOT, fileURLToPath(u)));
    assert.ok(files.includes('src/intel/ttp/engine.ts') && files.includes('src/intel/ttp/stix-export.ts'), 'the recorder saw the engine load');
    const foreign = files.filter((f) => !f.startsWith('src/intel/ttp/') && f !== 'src/core/env.ts' && f !== 'src/core/errors.ts');
    assert.deepEqual(foreign, []);
    const builtins = urls.filter((u) => u.startsWith('node:')).map((u) => u.slice(5)).sort();
    for (const b of builtins) assert.ok(['crypto', 'fs', 'fs/promises', 'net', 'path', 'url'].includes(b), `loads node:${b}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
