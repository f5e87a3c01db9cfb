import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog } from '../../src/pipeline/event-log.ts';

test('batches lines, creates the directory 0750 and the file 0640', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-evlog-'));
  const path = join(dir, 'events', 'decoy.log');
  const log = new EventLog(path, { maxBufferBytes: 1 << 20 });
  await log.open();
  for (let i = 0; i < 100; i++) assert.equal(log.append(`line ${i}`), true);
  await log.flush();
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 101);
  assert.equal(statSync(join(dir, 'events')).mode & 0o777, 0o750);
  assert.equal(statSync(path).mode & 0o777, 0o640);
  await log.close();
  assert.equal(log.append('after close'), false, 'lines after close are refused and counted');
  assert.equal(log.stats().dropped, 1);
});

test('memory stays bounded when lines arrive faster than the disk takes them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-evlog-'));
  const path = join(dir, 'decoy.log');
  const cap = 64 * 1024;
  const log = new EventLog(path, { maxBufferBytes: cap });
  await log.open();
  const line = 'x'.repeat(99);
  let accepted = 0;
  // 10,000 lines in one tick: nothing can be written until the tick ends.
  for (let i = 0; i < 10_000; i++) {
    if (log.append(line)) accepted++;
    assert.ok(log.stats().pendingBytes <= cap);
  }
  assert.equal(accepted, Math.floor(cap / 100));
  await log.close();
  const s = log.stats();
  assert.equal(s.written, accepted);
  assert.equal(s.dropped, 10_000 - accepted);
  assert.equal(readFileSync(path, 'utf8').split('\n').length - 1, accepted, 'every accepted line is on disk');
});

test('follows a rename-style rotation', async () => {
  const { renameSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'decnet-evlog-'));
  const path = join(dir, 'decoy.log');
  const log = new EventLog(path, { maxBufferBytes: 1 << 20 });
  await log.open();
  log.append('before');
  await log.flush();
  assert.equal(await log.reopenIfRotated(), false);
  renameSync(path, path + '.1');
  assert.equal(await log.reopenIfRotated(), true);
  log.append('after');
  await log.close();
  assert.equal(readFileSync(path + '.1', 'utf8'), 'before\n');
  assert.equal(readFileSync(path, 'utf8'), 'after\n');
});
