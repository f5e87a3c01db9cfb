// The wire building blocks: the JSON-object check the broker runs on every payload, the frame
// reader under arbitrary chunking, and the drop-oldest outbound queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isJsonObject } from '../../src/bus/json-check.ts';
import { FrameReader, MAX_FRAME_BYTES, ProtocolError, Slab, encodeHello, encodePing, encodeSub, PING } from '../../src/bus/frame.ts';
import { OutQueue } from '../../src/bus/out-queue.ts';

/** What a subscriber's JSON.parse accepts as an object payload (with strict UTF-8). */
function parsesAsObject(b: Buffer): boolean {
  const text = b.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(b)) return false;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

test('the JSON-object check agrees with JSON.parse on a table of cases', () => {
  const yes = ['{}', ' {"a":1} ', '{"a":[1,2,{"b":null}],"c":"x\\u00e9\\n","d":-1.5e+10,"e":true,"f":false}', '{"k":[[],{}],"z":[ ]}', '{"é":"日本"}', '{"a":0,"b":-0.5E-3}', '{"s":"\\ud800"}', '{"a":{"b":{"c":{}}}}'];
  const no = ['', ' ', '[]', '[{}]', '"x"', '1', 'null', '{', '}', '{"a"}', '{"a":}', '{"a":1,}', '{,}', '{"a":1 "b":2}', '{a:1}', "{'a':1}", '{"a":01}', '{"a":1.}', '{"a":.5}', '{"a":-}', '{"a":1e}', '{"a":tru}', '{"a":nul}', '{"a":"\\x"}', '{"a":"\\u12"}', '{"a":"\t"}', '{"a":[1,]}', '{"a":[,1]}', '{"a":1}{}', '{"a":1} x', '{"a":[}', '{"a":]}', '{"a":{]}', '{"a":NaN}', '{"a":Infinity}'];
  for (const s of yes) assert.equal(isJsonObject(Buffer.from(s)), true, s);
  for (const s of no) assert.equal(isJsonObject(Buffer.from(s)), false, JSON.stringify(s));
  // UTF-8: invalid sequences, overlong forms, surrogates and code points past U+10FFFF are rejected.
  for (const bytes of [[0xff], [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3], [0xe6, 0x97]]) {
    const b = Buffer.concat([Buffer.from('{"a":"'), Buffer.from(bytes), Buffer.from('"}')]);
    assert.equal(isJsonObject(b), false, Buffer.from(bytes).toString('hex'));
    assert.equal(parsesAsObject(b), false);
  }
  // Deep nesting is fine (bounded by the payload size, not by a recursion limit).
  assert.equal(isJsonObject(Buffer.from('{"a":' + '['.repeat(50_000) + ']'.repeat(50_000) + '}')), true);
  assert.equal(isJsonObject(Buffer.from('{"a":' + '['.repeat(50_000) + ']'.repeat(49_999) + '}')), false);
});

test('the JSON-object check agrees with JSON.parse on 50,000 mutated documents', () => {
  // Deterministic pseudo-random mutations of valid documents: deletions, insertions, byte flips.
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const seeds = ['{}', '{"a":1}', '{"a":[1,2,{"b":null}],"c":"x\\u00e9\\n","d":-1.5e+10,"e":true,"f":false}', '{"é":"日本","n":[0.5,-2]}'];
  const alphabet = Buffer.from('{}[]":,.-+eE0123456789 \n\ttrufalsn\\u/x');
  let disagreements = 0;
  for (let i = 0; i < 50_000; i++) {
    let b = Buffer.from(seeds[i % seeds.length]);
    for (let k = 0, m = 1 + rand(3); k < m; k++) {
      const pos = rand(b.length + 1);
      const op = rand(3);
      if (op === 0) b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + 1)]);
      else if (op === 1) b = Buffer.concat([b.subarray(0, pos), alphabet.subarray(rand(alphabet.length)).subarray(0, 1), b.subarray(pos)]);
      else b = Buffer.concat([b.subarray(0, pos), Buffer.from([rand(256)]), b.subarray(pos + 1)]);
    }
    if (isJsonObject(b) !== parsesAsObject(b)) {
      disagreements++;
      assert.fail(`disagreement on ${JSON.stringify(b.toString('latin1'))}`);
    }
  }
  assert.equal(disagreements, 0);
});

test('the frame reader yields the same frames whatever the chunking', () => {
  const frames = [encodeHello('client-a'), encodeSub(7, 2, 'system.*.health'), encodePing(PING, 99), Buffer.concat([Buffer.from([0, 0, 0x10, 1, 4]), Buffer.alloc(0x1001 - 1, 0x61)])];
  const stream = Buffer.concat(frames);
  const expected = frames.map((f) => f.subarray(4).toString('hex'));
  const splits: number[][] = [[1], [3], [4], [5], [7], [64], [stream.length]];
  let seed = 7;
  for (let i = 0; i < 200; i++) {
    const sizes: number[] = [];
    for (let k = 0; k < 20; k++) {
      seed = (seed * 48271) % 0x7fffffff;
      sizes.push(1 + (seed % 300));
    }
    splits.push(sizes);
  }
  for (const sizes of splits) {
    const got: string[] = [];
    const reader = new FrameReader((buf, s, e) => void got.push(buf.subarray(s, e).toString('hex')));
    let off = 0;
    let k = 0;
    while (off < stream.length) {
      const n = sizes[k++ % sizes.length];
      reader.push(stream.subarray(off, off + n));
      off += n;
    }
    assert.deepEqual(got, expected, `chunk sizes ${sizes.slice(0, 5).join(',')}…`);
    assert.equal(reader.midFrame, false);
  }
});

test('the frame reader rejects a bad length before buffering anything', () => {
  let frames = 0;
  const reader = new FrameReader(() => void frames++);
  const huge = Buffer.alloc(4);
  huge.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
  // The length arrives split in two chunks; the error comes as soon as it is complete.
  reader.push(huge.subarray(0, 2));
  assert.throws(() => reader.push(huge.subarray(2)), ProtocolError);
  const zero = new FrameReader(() => void frames++);
  assert.throws(() => zero.push(Buffer.from([0, 0, 0, 0, 1])), /frame length 0/);
  assert.equal(frames, 0);
});

function frameOf(n: number, slab: Slab): Buffer {
  const buf = slab.reserve(8);
  const o = slab.offset;
  buf.writeUInt32BE(4, o);
  buf.writeUInt32BE(n, o + 4);
  return slab.commit(8);
}

test('the outbound queue merges adjacent frames and drops the oldest when full', () => {
  const slab = new Slab(1024);
  const dropped: number[] = [];
  const q = new OutQueue(4, 1 << 20, (mem, start) => void dropped.push(mem.readUInt32BE(start + 4)));
  for (let i = 1; i <= 6; i++) q.push(frameOf(i, slab));
  assert.equal(q.frames, 4);
  assert.equal(q.drops, 2);
  assert.deepEqual(dropped, [1, 2]);
  const out = q.takeAll();
  assert.equal(out.length, 1, 'adjacent frames leave as one buffer');
  const seen: number[] = [];
  for (let o = 0; o < out[0].length; o += 8) seen.push(out[0].readUInt32BE(o + 4));
  assert.deepEqual(seen, [3, 4, 5, 6]);
  assert.equal(q.empty, true);

  // A byte bound applies too: a big frame pushes out as many old frames as it needs.
  const qb = new OutQueue(100, 24);
  for (let i = 0; i < 3; i++) qb.push(frameOf(i, slab));
  const big = Buffer.alloc(20);
  big.writeUInt32BE(16, 0);
  qb.push(big);
  assert.equal(qb.frames, 1);
  assert.equal(qb.drops, 3);
  assert.equal(qb.trimTo(0), 1);
});
