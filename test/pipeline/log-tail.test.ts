// The log tailer on real files: whole lines only, bounded lines, truncation (plain and
// truncate-then-regrow), rename rotation while running and while stopped, and a position that
// round-trips through JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, mkdtempSync, openSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogTail, type TailState } from '../../src/pipeline/log-tail.ts';

function dir(): { path: string; done(): void } {
  const d = mkdtempSync(join(tmpdir(), 'decnet-tail-'));
  return { path: join(d, 'decoy.log'), done: () => rmSync(d, { recursive: true, force: true }) };
}

const texts = (b: { lines: { text: string }[] }) => b.lines.map((l) => l.text);

test('returns whole lines only; a partial line waits for its newline; offsets are byte positions', async () => {
  const d = dir();
  const tail = new LogTail(d.path, { rotateGraceMs: 0 });
  try {
    writeFileSync(d.path, 'alpha\nbéta\r\ngam');
    await tail.restore(undefined);
    const first = await tail.read(100);
    assert.deepEqual(texts(first), ['alpha', 'béta']);
    assert.deepEqual(first.lines.map((l) => l.offset), [0, 6]);
    assert.equal(first.state.active?.offset, Buffer.byteLength('alpha\nbéta\r\n'));
    assert.deepEqual(texts(await tail.read(100)), []);
    appendFileSync(d.path, 'ma\n\ndelta\n');
    assert.deepEqual(texts(await tail.read(100)), ['gamma', 'delta'], 'empty lines are skipped');
  } finally {
    await tail.close();
    d.done();
  }
});

test('maxLines bounds a batch and the next read continues exactly after it', async () => {
  const d = dir();
  const tail = new LogTail(d.path);
  try {
    writeFileSync(d.path, Array.from({ length: 25 }, (_, i) => `line-${i}`).join('\n') + '\n');
    await tail.restore(undefined);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push(...texts(await tail.read(10)));
    assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => `line-${i}`));
  } finally {
    await tail.close();
    d.done();
  }
});

test('an over-long line is skipped up to its newline and counted, also when it arrives in pieces', async () => {
  const d = dir();
  const tail = new LogTail(d.path, { maxLineBytes: 100, chunkBytes: 256 });
  try {
    writeFileSync(d.path, `ok1\n${'x'.repeat(1000)}\nok2\n${'y'.repeat(300)}`);
    await tail.restore(undefined);
    assert.deepEqual(texts(await tail.read(100)), ['ok1', 'ok2']);
    assert.equal(tail.stats.oversize, 2);
    appendFileSync(d.path, `${'y'.repeat(300)}\nok3\n`);
    assert.deepEqual(texts(await tail.read(100)), ['ok3']);
    assert.equal(tail.stats.oversize, 2, 'the second long line is counted once');
    // The skip state survives a restart: resuming inside a long line does not emit its tail.
    appendFileSync(d.path, 'z'.repeat(300));
    assert.deepEqual(texts(await tail.read(100)), []);
    const saved = JSON.parse(JSON.stringify(tail.state())) as TailState;
    assert.equal(saved.active?.skipping, true);
    const again = new LogTail(d.path, { maxLineBytes: 100, chunkBytes: 256 });
    await again.restore(saved);
    appendFileSync(d.path, 'zzz\nok4\n');
    assert.deepEqual(texts(await again.read(100)), ['ok4']);
    await again.close();
  } finally {
    await tail.close();
    d.done();
  }
});

test('truncation (copytruncate) restarts the file, also when it regrew past the old offset', async () => {
  const d = dir();
  const tail = new LogTail(d.path);
  try {
    writeFileSync(d.path, 'one\ntwo\n');
    await tail.restore(undefined);
    assert.deepEqual(texts(await tail.read(100)), ['one', 'two']);
    truncateSync(d.path, 0);
    appendFileSync(d.path, 'three\n');
    assert.deepEqual(texts(await tail.read(100)), ['three']);
    assert.equal(tail.stats.truncations, 1);
    // Truncated and rewritten beyond the old offset before we looked: the first bytes changed.
    truncateSync(d.path, 0);
    appendFileSync(d.path, 'FOUR-four-four\nfive\n');
    assert.deepEqual(texts(await tail.read(100)), ['FOUR-four-four', 'five']);
    assert.equal(tail.stats.truncations, 2);
  } finally {
    await tail.close();
    d.done();
  }
});

test('rename rotation: the old file is drained (late writes included) and the new one read from its start', async () => {
  const d = dir();
  const tail = new LogTail(d.path, { rotateGraceMs: 200 });
  try {
    writeFileSync(d.path, 'a1\na2\n');
    await tail.restore(undefined);
    assert.deepEqual(texts(await tail.read(100)), ['a1', 'a2']);
    appendFileSync(d.path, 'a3\n');
    renameSync(d.path, `${d.path}.1`);
    writeFileSync(d.path, 'b1\n');
    appendFileSync(`${d.path}.1`, 'a4\n'); // the writer has not reopened yet
    assert.deepEqual(texts(await tail.read(100)), ['a3', 'a4', 'b1']);
    assert.equal(tail.stats.rotations, 1);
    assert.equal(tail.state().draining.length, 1);
    appendFileSync(`${d.path}.1`, 'a5\n');
    appendFileSync(d.path, 'b2\n');
    assert.deepEqual(texts(await tail.read(100)), ['a5', 'b2']);
    const deadline = Date.now() + 5000;
    while (tail.state().draining.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      await tail.read(100);
    }
    assert.equal(tail.state().draining.length, 0, 'the quiet rotated file is let go');
  } finally {
    await tail.close();
    d.done();
  }
});

test('a rotation that happened while stopped is found by inode and finished first', async () => {
  const d = dir();
  const tail = new LogTail(d.path);
  try {
    writeFileSync(d.path, 'old1\n');
    await tail.restore(undefined);
    assert.deepEqual(texts(await tail.read(100)), ['old1']);
    const saved = JSON.parse(JSON.stringify(tail.state())) as TailState;
    await tail.close();
    appendFileSync(d.path, 'old2\n');
    renameSync(d.path, `${d.path}.1`);
    writeFileSync(d.path, 'new1\n');
    const resumed = new LogTail(d.path);
    await resumed.restore(saved);
    assert.deepEqual(texts(await resumed.read(100)), ['old2', 'new1']);
    // Without the rotated files (deleted, compressed) the new file is read from its start and the
    // loss counted. The deleted files are held open so the new file cannot reuse their inodes.
    appendFileSync(d.path, 'new2\n');
    const s2 = JSON.parse(JSON.stringify(resumed.state())) as TailState;
    await resumed.close();
    const held = [openSync(`${d.path}.1`, 'r'), openSync(d.path, 'r')];
    rmSync(`${d.path}.1`);
    renameSync(d.path, `${d.path}.2`);
    rmSync(`${d.path}.2`);
    writeFileSync(d.path, 'newer\n');
    const third = new LogTail(d.path);
    await third.restore(s2);
    assert.deepEqual(texts(await third.read(100)), ['newer']);
    assert.equal(third.stats.lostRotations, 2, 'the drained file and the active one are both gone');
    await third.close();
    for (const fd of held) closeSync(fd);
  } finally {
    d.done();
  }
});

test('a missing log is waited for, then read from its start', async () => {
  const d = dir();
  const tail = new LogTail(d.path);
  try {
    await tail.restore(undefined);
    assert.deepEqual(texts(await tail.read(10)), []);
    writeFileSync(d.path, 'first\n');
    assert.deepEqual(texts(await tail.read(10)), ['first']);
  } finally {
    await tail.close();
    d.done();
  }
});
