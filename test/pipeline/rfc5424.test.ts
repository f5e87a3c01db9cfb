import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventFormatError, MAX_LINE_BYTES, MAX_VALUE_BYTES, formatEvent, parseEventLine, type EventInput } from '../../src/pipeline/rfc5424.ts';

const base: EventInput = {
  ts: '2026-01-02T03:04:05.678Z',
  decky: 'web-01',
  service: 'ssh',
  event: 'auth_attempt',
  src_ip: '203.0.113.9',
  src_port: 51234,
  dst_ip: '10.0.0.5',
  dst_port: 22,
};

// Deterministic PRNG so a failure is reproducible from the printed seed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE = ['\n<13>1 2026-01-01T00:00:00Z evil x - connect [relay@55555 ts="x"] injected', '"', '\\', ']', '\\]', '\\"', '\r\n', '\u0000', '\u2028', '\u2029', '\ufeff', '\ud800', '\udfff', '😀', 'é', '\\x41', '\\u2028', '[', '=', '\u0085', '\u007f'];

function randomString(r: () => number, maxLen: number): string {
  const len = Math.floor(r() * maxLen);
  let s = '';
  while (s.length < len) {
    const k = r();
    if (k < 0.15) s += HOSTILE[Math.floor(r() * HOSTILE.length)];
    else if (k < 0.3) s += String.fromCharCode(Math.floor(r() * 0x20));
    else if (k < 0.4) s += String.fromCharCode(Math.floor(r() * 0x10000));
    else s += String.fromCharCode(0x20 + Math.floor(r() * 0x5f));
  }
  return s;
}

test('formats the documented layout: PRI local0, header, relay@55555 SD, MSG', () => {
  const line = formatEvent({ ...base, fields: { username: 'root', attempt: 3, ok: false }, secret: 'hunter2', msg: 'login failed' });
  assert.equal(
    line,
    '<134>1 2026-01-02T03:04:05.678Z web-01 ssh - auth_attempt [relay@55555 ts="2026-01-02T03:04:05.678Z" decky="web-01" service="ssh" event="auth_attempt" src_ip="203.0.113.9" src_port="51234" dst_ip="10.0.0.5" dst_port="22" secret_b64="aHVudGVyMg==" username="root" attempt="3" ok="false"] login failed',
  );
  const warn = formatEvent({ ...base, severity: 'warning' });
  assert.ok(warn.startsWith('<132>1 '));
});

test('parses what it formats, with typed fields and the secret as bytes', () => {
  const r = parseEventLine(formatEvent({ ...base, fields: { username: 'admin', skipped: undefined, nothing: null }, secret: Buffer.from([0, 255, 10, 13]) }) + '\n');
  assert.equal(r.decky, 'web-01');
  assert.equal(r.src_port, 51234);
  assert.equal(r.dst_port, 22);
  assert.deepEqual(r.fields, { username: 'admin' });
  assert.deepEqual([...r.secret!], [0, 255, 10, 13]);
  assert.equal(r.severity, 'info');
  assert.equal(r.msg, '');
});

test('round-trips random and hostile strings in values and MSG, always as one line', () => {
  for (let seed = 1; seed <= 400; seed++) {
    const r = rng(seed);
    const fields: Record<string, string> = {};
    const n = 1 + Math.floor(r() * 5);
    for (let i = 0; i < n; i++) fields[`f${i}`] = randomString(r, 120);
    const msg = randomString(r, 200);
    const secret = Buffer.from(randomString(r, 40), 'utf8');
    const line = formatEvent({ ...base, fields, msg, secret });
    assert.ok(!/[\x00-\x1f\x7f\u0085\u2028\u2029]/.test(line), `seed ${seed}: control or line-separator character in output`);
    assert.equal(line.split('\n').length, 1);
    const parsed = parseEventLine(line);
    assert.deepEqual(parsed.fields, fields, `seed ${seed}: fields differ`);
    assert.equal(parsed.msg, msg, `seed ${seed}: msg differs`);
    assert.deepEqual(parsed.secret, secret, `seed ${seed}: secret differs`);
    assert.equal(parsed.event, 'auth_attempt');
  }
});

test('an injection attempt cannot forge a second record or a field', () => {
  const evil = '"] \n<13>1 2026-01-01T00:00:00Z evil ssh - connect [relay@55555 decky="evil"] x';
  const line = formatEvent({ ...base, fields: { cmd: evil, user: 'x" decky="forged' }, msg: evil });
  assert.equal(line.split('\n').length, 1);
  const r = parseEventLine(line);
  assert.equal(r.decky, 'web-01');
  assert.equal(r.fields.cmd, evil);
  assert.equal(r.fields.user, 'x" decky="forged');
  assert.equal(Object.keys(r.fields).length, 2);
});

test('caps each value and the whole line, and says what was cut', () => {
  const big = 'A'.repeat(10_000);
  const r = parseEventLine(formatEvent({ ...base, fields: { a: big, b: 'short' } }));
  assert.equal(r.fields.a.length, MAX_VALUE_BYTES);
  assert.equal(r.fields.b, 'short');
  assert.equal(r.fields.truncated, 'a');

  const many: Record<string, string> = {};
  for (let i = 0; i < 10; i++) many[`k${i}`] = '\n'.repeat(3000); // escaping makes each 12 KB
  const line = formatEvent({ ...base, fields: many, msg: 'm'.repeat(50_000) });
  assert.ok(Buffer.byteLength(line) <= MAX_LINE_BYTES, `line is ${Buffer.byteLength(line)} bytes`);
  const p = parseEventLine(line);
  assert.match(p.fields.truncated, /k0/);
  assert.equal(p.decky, 'web-01');
});

test('a cut never splits an escape sequence or a surrogate pair', () => {
  for (const unit of ['\n', '😀', '"', 'é']) {
    const line = formatEvent({ ...base, fields: { v: unit.repeat(5000) } });
    const v = parseEventLine(line).fields.v;
    assert.ok(v.length > 0);
    assert.equal(v, unit.repeat(v.length / unit.length));
  }
});

test('rejects programmer errors with messages that say what to fix', () => {
  assert.throws(() => formatEvent({ ...base, event: 'auth.attempt' }), /dot-free verb/);
  assert.throws(() => formatEvent({ ...base, fields: { 'bad name': 'x' } }), /PARAM-NAME/);
  assert.throws(() => formatEvent({ ...base, fields: { 'a]': 'x' } }), /PARAM-NAME/);
  assert.throws(() => formatEvent({ ...base, fields: { ['x'.repeat(33)]: 'x' } }), /PARAM-NAME/);
  assert.throws(() => formatEvent({ ...base, fields: { decky: 'x' } }), /reserved/);
  assert.throws(() => formatEvent({ ...base, src_port: 70000 }), /src_port/);
  assert.throws(() => formatEvent({ ...base, ts: 'yesterday' }), /timestamp/);
});

test('the parser refuses foreign and damaged lines', () => {
  const good = formatEvent({ ...base, fields: { a: 'b' } });
  const bad = [
    '',
    'hello world',
    good.replace('relay@55555', 'other@1'),
    good.replace(' src_port="51234"', ''),
    good.replace('event="auth_attempt"', 'event="connect"'),
    good.replace('a="b"', 'a="b'),
    good.replace('a="b"', 'a="b]"'),
    good + '\n<134>1 second',
    good.replace('<134>', '<999>'),
    good.replace('a="b"', 'a="b" a="c"'),
    formatEvent({ ...base, secret: 'x' }).replace(/secret_b64="[^"]*"/, 'secret_b64="!!"'),
  ];
  for (const line of bad) assert.throws(() => parseEventLine(line), EventFormatError, line);
});
