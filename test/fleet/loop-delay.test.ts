// The host's event-loop delay sampler (src/fleet/loop-delay.ts): finds a blocked loop, samples
// slowly while the process is quiet and quickly once it works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoopDelayMonitor } from '../../src/fleet/loop-delay.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a blocked loop shows in max and p99; sampling speeds up while the process works', async () => {
  const monitor = new LoopDelayMonitor();
  try {
    await sleep(1200);
    assert.equal(monitor.intervalMs, 1000, 'quiet: one sample a second');
    assert.ok(monitor.take().maxMs < 250, 'a quiet loop has (almost) no delay');
    const until = Date.now() + 1500;
    while (Date.now() < until); // block the loop past the next sample
    await sleep(20);
    const blocked = monitor.take();
    assert.ok(blocked.maxMs >= 400, `max ${blocked.maxMs} ms after a 1.5 s block`);
    assert.ok(blocked.p99Ms >= 400, `p99 ${blocked.p99Ms} ms`);
    assert.equal(monitor.intervalMs, 50, 'working: twenty samples a second');
  } finally {
    monitor.stop();
  }
});
