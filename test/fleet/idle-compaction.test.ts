// Idle compaction (src/fleet/idle-compaction.ts): a quiet host gives memory back; a busy one is left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { IdleCompaction } from '../../src/fleet/idle-compaction.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a quiet process compacts; a busy one does not', async () => {
  const quiet = new IdleCompaction({ firstCheckMs: 20, checkMs: 50, growthBytes: 0 });
  for (let waited = 0; quiet.count === 0 && waited < 2000; waited += 20) await sleep(20);
  quiet.stop();
  assert.ok(quiet.count >= 1, `compacted ${quiet.count} times`);

  const busy = new IdleCompaction({ firstCheckMs: 20, checkMs: 50, growthBytes: 0 });
  const until = Date.now() + 300;
  while (Date.now() < until) {
    const spinUntil = Date.now() + 45;
    while (Date.now() < spinUntil); // a whole core, between the timer callbacks
    await sleep(1);
  }
  busy.stop();
  assert.equal(busy.count, 0);
});

test('compaction gives released heap back to the system', () => {
  // A child fills ~40 MB of heap, drops it and goes quiet; its resident memory must fall.
  const script = `
    import { IdleCompaction } from ${JSON.stringify(new URL('../../src/fleet/idle-compaction.ts', import.meta.url).href)};
    let keep = [];
    for (let i = 0; i < 400; i++) keep.push(new Array(12_500).fill(i));
    keep = null;
    const before = process.memoryUsage.rss();
    const c = new IdleCompaction({ firstCheckMs: 100, checkMs: 100_000, idleCpuShare: 0.5 });
    setTimeout(() => { c.stop(); console.log(JSON.stringify({ before, after: process.memoryUsage.rss(), count: c.count })); }, 400);
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const { before, after, count } = JSON.parse(out) as { before: number; after: number; count: number };
  assert.equal(count, 1);
  assert.ok(before - after > 10 * 1024 * 1024, `resident memory ${(before / 2 ** 20).toFixed(1)} MB -> ${(after / 2 ** 20).toFixed(1)} MB`);
});
