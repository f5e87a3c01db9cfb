// The catalog's port list (shown by `decnet services`, used by deploy --dry-run without loading
// modules) must match each service module's listens, in order: plan port overrides rely on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERVICES } from '../../src/deckies/catalog.ts';

test('catalog ports match every existing service module, in order', async (t) => {
  const missing: string[] = [];
  for (const entry of SERVICES) {
    let mod;
    try {
      mod = await entry.load();
    } catch {
      missing.push(entry.name);
      continue;
    }
    assert.equal(mod.name, entry.name, `module of ${entry.name} calls itself ${mod.name}`);
    assert.deepEqual(mod.listens.map((l) => `${l.port}/${l.transport}`), [...entry.ports], `${entry.name}: catalog ports differ from the module's listens`);
  }
  if (missing.length) t.diagnostic(`service modules not present yet: ${missing.join(', ')}`);
});
