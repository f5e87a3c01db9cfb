// The repositories the ingest and profiling path uses (logs, state, attackers, credentials,
// bounty), run against SQLite and PostgreSQL alike.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from './dialects.ts';
import { appendLogs, countLogs, listLogs, logHistogram, logsAfterId, logsForAttacker, logStats, maxLogId, purgeLogs, type LogEventInput } from '../../src/db/logs/repo.ts';
import { SearchSyntaxError } from '../../src/db/logs/search.ts';
import { getState, setState, deleteState } from '../../src/db/state/repo.ts';
import { attackerUuidByIp, attackerUuidsByIps, getAttacker, getBehavior, listAttackers, upsertAttacker, upsertBehavior } from '../../src/db/attackers/repo.ts';
import { backfillCredentialAttacker, countCredentialsForIp, findReuseCandidates, listCredentialReuse, listCredentials, upsertCredential, upsertCredentialReuse } from '../../src/db/credentials/repo.ts';
import { addBounties, bountiesForIps, countBountiesForIp, getObservedAttachment, listBounties, upsertObservedAttachment } from '../../src/db/bounty/repo.ts';
import { DataError } from '../../src/db/values.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function event(n: number, over: Partial<LogEventInput> = {}): LogEventInput {
  const ts = new Date(Date.UTC(2024, 4, 1, 12, 0, 0) + n * 60_000).toISOString();
  return {
    ts,
    decky: n % 2 ? 'web1' : 'db1',
    service: n % 3 ? 'ssh' : 'http',
    event_type: n % 3 ? 'auth_attempt' : 'request',
    attacker_ip: `203.0.113.${n % 5}`,
    src_port: 40_000 + n,
    dst_ip: '10.0.0.5',
    dst_port: 22,
    fields: { username: n % 4 ? 'root' : 'admin', attempt: n },
    msg: `event ${n}`,
    raw_line: `<13>1 ${ts} web1 ssh - auth_attempt [decnet src_ip="203.0.113.${n % 5}" n="${n}"] event ${n}`,
    ...over,
  };
}

forEachDialect('logs', (ctx) => {
  const events = Array.from({ length: 60 }, (_, i) => event(i));

  it('appends a batch and stores nothing twice when the same lines come again', async () => {
    const first = await appendLogs(ctx.db(), events);
    assert.deepEqual(first, { inserted: 60, duplicates: 0, rejected: [] });
    const again = await appendLogs(ctx.db(), [...events.slice(0, 30), event(1000)]);
    assert.equal(again.inserted, 1);
    assert.equal(again.duplicates, 30);
    assert.equal(await countLogs(ctx.db()), 61);
  });

  it('pages newest first in the {total, limit, offset, data} envelope', async () => {
    const p = await listLogs(ctx.db(), { limit: 10, offset: 5 });
    assert.equal(p.total, 61);
    assert.equal(p.limit, 10);
    assert.equal(p.offset, 5);
    assert.equal(p.data.length, 10);
    for (let i = 1; i < p.data.length; i++) assert.ok(p.data[i - 1].id > p.data[i].id, 'ids descend');
    assert.equal(typeof p.data[0].fields, 'object');
  });

  it('searches columns, event fields and free text, all terms ANDed', async () => {
    const db = ctx.db();
    const expect = (pred: (e: LogEventInput) => boolean) => [...events, event(1000)].filter(pred).length;
    assert.equal((await listLogs(db, { search: 'decky:web1' })).total, expect((e) => e.decky === 'web1'));
    assert.equal((await listLogs(db, { search: 'service:http event:request' })).total, expect((e) => e.service === 'http'));
    assert.equal((await listLogs(db, { search: 'attacker:203.0.113.2 decky:db1' })).total, expect((e) => e.attacker_ip === '203.0.113.2' && e.decky === 'db1'));
    assert.equal((await listLogs(db, { search: 'username:admin' })).total, expect((e) => e.fields?.username === 'admin'));
    assert.equal((await listLogs(db, { search: 'attempt:7' })).total, 1, 'a numeric field matches its text form');
    assert.equal((await listLogs(db, { search: '"EVENT 13"' })).total, 1, 'quoted free text, case-insensitive');
    assert.equal((await listLogs(db, { search: "msg:'event 14' decky:db1" })).total, 0, 'msg is a field, not set in fields');
    assert.equal((await listLogs(db, { search: 'n="13"' })).total, 0, 'quotes inside a token are part of its text');
    assert.equal((await listLogs(db, { search: '100%' })).total, 0, 'LIKE wildcards match literally');
    assert.equal((await listLogs(db, { search: "x' OR '1'='1" })).total, 0, 'quotes never reach SQL');
  });

  it('refuses a malformed search with a message that says what to fix', async () => {
    await assert.rejects(listLogs(ctx.db(), { search: 'decky:"web1' }), (err: Error) => err instanceof SearchSyntaxError && /unbalanced double quote at position 7/.test(err.message));
    await assert.rejects(listLogs(ctx.db(), { search: 'service:' }), /service: needs a value/);
    await assert.rejects(listLogs(ctx.db(), { search: 'x'.repeat(513) }), /limit is 512/);
    await assert.rejects(listLogs(ctx.db(), { limit: 0 }), /limit: must be a whole number from 1 to 1000/);
  });

  it('filters by time range, follows the id cursor and buckets a histogram', async () => {
    const db = ctx.db();
    const range = await listLogs(db, { start_time: '2024-05-01T12:10:00Z', end_time: '2024-05-01 12:19:00' });
    assert.equal(range.total, 10);
    const all = await logsAfterId(db, 0, 500);
    assert.equal(all.length, 61);
    for (let i = 1; i < all.length; i++) assert.ok(all[i].id > all[i - 1].id, 'the cursor walks ids upwards');
    const tail = await logsAfterId(db, all[57].id, 500);
    assert.deepEqual(tail.map((r) => r.id), all.slice(58).map((r) => r.id));
    assert.equal(await maxLogId(db), all[60].id);
    const buckets = await logHistogram(db, { interval_minutes: 30, search: 'decky:web1' });
    assert.equal(buckets.reduce((s, b) => s + b.count, 0), 30);
    assert.equal(buckets[0].time, '2024-05-01T12:00:00.000Z');
    const stats = await logStats(db);
    assert.deepEqual(stats, { total_logs: 61, unique_attackers: 5, deckies_hit: 2 });
    const mine = await logsForAttacker(db, '203.0.113.1', { event_types: ['request'], limit: 100 });
    assert.equal(mine.total, events.filter((e) => e.attacker_ip === '203.0.113.1' && e.event_type === 'request').length);
  });

  it('refuses invalid events, or skips and reports them on request', async () => {
    const db = ctx.db();
    await assert.rejects(appendLogs(db, [event(2000), event(2001, { attacker_ip: '1.2.3.4:5555' })]), (err: Error) => err instanceof DataError && /events\[1\]\.attacker_ip: "1\.2\.3\.4:5555" is not an IP address/.test(err.message));
    await assert.rejects(appendLogs(db, [event(2002, { raw_line: 'x'.repeat(70_000) })]), /events\[0\]\.raw_line: is 70000 characters long; the limit is 65536/);
    await assert.rejects(appendLogs(db, [event(2003, { decky: 'd'.repeat(200) })]), /decky: is 200 characters long; the limit is 128/);
    const r = await appendLogs(db, [event(2004), event(2005, { ts: 'yesterday' })], { skipInvalid: true });
    assert.equal(r.inserted, 1);
    assert.equal(r.rejected.length, 1);
    assert.match(r.rejected[0].error, /events\[1\]\.ts: "yesterday" is not a valid time/);
    assert.equal(await countLogs(db), 62, 'the refused batches wrote nothing');
  });

  it('stores attacker text with NUL bytes on every dialect', async () => {
    const db = ctx.db();
    await appendLogs(db, [event(3000, { msg: 'a\u0000b', fields: { cmd: 'x\u0000y' }, raw_line: 'raw \u0000 line 3000' })]);
    const row = (await listLogs(db, { limit: 1 })).data[0];
    assert.equal(row.msg, 'a\uFFFDb');
    assert.equal(row.fields.cmd, 'x\uFFFDy');
    assert.ok(await purgeLogs(db, '2024-05-01T12:01:00Z') >= 1);
  });
});

forEachDialect('state', (ctx) => {
  it('stores and replaces named JSON values', async () => {
    const db = ctx.db();
    assert.equal(await getState(db, 'ingest_worker_position'), undefined);
    await setState(db, 'ingest_worker_position', { position: 10 });
    await setState(db, 'ingest_worker_position', { position: 42 });
    assert.deepEqual(await getState(db, 'ingest_worker_position'), { position: 42 });
    assert.equal(await deleteState(db, 'ingest_worker_position'), true);
    await assert.rejects(setState(db, 'bad key!', 1), /must be 1-128 characters/);
  });
});

forEachDialect('attackers', (ctx) => {
  it('upserts one row per normalised IP, keeping history and untouched columns', async () => {
    const db = ctx.db();
    const a = await upsertAttacker(db, { ip: '198.51.100.7', first_seen: '2024-05-02T00:00:00Z', last_seen: '2024-05-02T01:00:00Z', event_count: 3, services: ['ssh'], ptr_record: 'scanner.example' });
    assert.equal(a.inserted, true);
    const b = await upsertAttacker(db, { ip: '::FFFF:198.51.100.7', first_seen: '2024-05-03T00:00:00Z', last_seen: '2024-05-01T00:00:00Z', event_count: 5, services: ['ssh', 'http'] });
    assert.deepEqual(b, { uuid: a.uuid, inserted: false });
    const row = (await getAttacker(db, a.uuid))!;
    assert.equal(row.first_seen, '2024-05-02T00:00:00.000Z', 'first_seen never moves later');
    assert.equal(row.last_seen, '2024-05-02T01:00:00.000Z', 'last_seen never moves earlier');
    assert.equal(row.event_count, 5);
    assert.deepEqual(row.services, ['ssh', 'http']);
    assert.equal(row.ptr_record, 'scanner.example', 'a column left out keeps its value');
    assert.equal(row.is_traversal, false);
    await assert.rejects(upsertAttacker(db, { ip: '198.51.100.7:4444', first_seen: 0, last_seen: 0 }), /not an IP address/);
  });

  it('settles concurrent upserts of one IP on a single row', async () => {
    const db = ctx.db();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => upsertAttacker(db, { ip: '192.0.2.99', first_seen: i * 1000, last_seen: i * 1000, event_count: i })));
    assert.equal(new Set(results.map((r) => r.uuid)).size, 1);
    assert.equal(results.filter((r) => r.inserted).length, 1);
  });

  it('lists with search, service filter and sorting; resolves uuids by IP', async () => {
    const db = ctx.db();
    await upsertAttacker(db, { ip: '2001:db8::1', first_seen: '2024-05-04T00:00:00Z', last_seen: '2024-05-04T00:00:00Z', event_count: 50, services: ['http'], as_name: 'Example Transit' });
    const byService = await listAttackers(db, { service: 'http' });
    assert.deepEqual(byService.data.map((r) => r.ip).sort(), ['198.51.100.7', '2001:db8::1']);
    const bySearch = await listAttackers(db, { search: 'example transit' });
    assert.equal(bySearch.total, 1);
    const active = await listAttackers(db, { sort_by: 'active', limit: 1 });
    assert.equal(active.data[0].ip, '2001:db8::1');
    assert.equal(active.total, 3);
    const map = await attackerUuidsByIps(db, ['198.51.100.7', '2001:DB8::1', '203.0.113.250']);
    assert.equal(map.size, 2);
    assert.equal(map.get('2001:db8::1'), await attackerUuidByIp(db, '2001:db8:0::1'));
  });

  it('keeps a behaviour record per attacker', async () => {
    const db = ctx.db();
    const uuid = (await attackerUuidByIp(db, '198.51.100.7'))!;
    await upsertBehavior(db, uuid, { behavior_class: 'brute_force', timing_stats: { mean_iat_s: 1.5 }, tool_guesses: ['hydra'] });
    await upsertBehavior(db, uuid, { os_guess: 'Linux' });
    const b = (await getBehavior(db, uuid))!;
    assert.equal(b.behavior_class, 'brute_force');
    assert.equal(b.os_guess, 'Linux');
    assert.deepEqual(b.timing_stats, { mean_iat_s: 1.5 });
    await assert.rejects(upsertBehavior(db, uuid, { behavior_class: 'sneaky' as never }), /must be one of/);
  });
});

forEachDialect('credentials', (ctx) => {
  const base = { attacker_ip: '203.0.113.9', decky_name: 'web1', service: 'ssh', principal: 'root', secret_kind: 'plaintext', secret_b64: b64('hunter2hunter2') };

  it('de-duplicates sightings and keeps a success sticky', async () => {
    const db = ctx.db();
    const first = await upsertCredential(db, { ...base, outcome: 'success', seen_at: '2024-05-01T00:00:00Z' });
    assert.equal(first.inserted, true);
    const second = await upsertCredential(db, { ...base, outcome: 'failure', seen_at: '2024-05-01T00:05:00Z' });
    assert.deepEqual([second.inserted, second.attempt_count, second.id], [false, 2, first.id]);
    const page = await listCredentials(db, { attacker_ip: '203.0.113.9' });
    assert.equal(page.total, 1);
    assert.equal(page.data[0].outcome, 'success');
    assert.equal(page.data[0].secret_printable, 'hunter2hunter2');
    assert.equal(page.data[0].last_seen, '2024-05-01T00:05:00.000Z');
    await assert.rejects(upsertCredential(db, { ...base, secret_b64: 'not base64!' }), /secret_b64: is not valid base64/);
    await assert.rejects(upsertCredential(db, { ...base, secret_b64: 'A'.repeat(2052) }), /limit is 2048/);
  });

  it('back-fills the attacker and finds reuse without inflating counts', async () => {
    const db = ctx.db();
    const { uuid } = await upsertAttacker(db, { ip: '203.0.113.9', first_seen: 0, last_seen: 0 });
    assert.equal(await backfillCredentialAttacker(db, '203.0.113.9', uuid), 1);
    await upsertCredential(db, { ...base, decky_name: 'db1', service: 'mysql' });
    await upsertCredential(db, { ...base, attacker_ip: '203.0.113.10', decky_name: 'web2' });
    assert.equal(await countCredentialsForIp(db, '203.0.113.9'), 2);
    const [finding] = await findReuseCandidates(db, { minTargets: 3 });
    assert.equal(finding.target_count, 3);
    assert.deepEqual(finding.deckies, ['db1', 'web1', 'web2']);
    assert.deepEqual(finding.attacker_uuids, [uuid]);
    assert.equal(finding.attempt_count, 4);
    const a = await upsertCredentialReuse(db, finding, { minTargets: 3 });
    const b = await upsertCredentialReuse(db, finding, { minTargets: 3 });
    assert.equal(a?.inserted, true);
    assert.equal(b?.inserted, false);
    assert.equal(b?.row.attempt_count, 4, 'running the correlator twice does not add up');
    assert.equal(await upsertCredentialReuse(db, { ...finding, target_count: 1 }), null);
    assert.equal((await listCredentialReuse(db)).total, 1);
  });
});

forEachDialect('bounty', (ctx) => {
  it('stores each finding once and reads them back per IP', async () => {
    const db = ctx.db();
    const fp = { ts: '2024-05-01T00:00:00Z', decky: 'web1', service: 'http', attacker_ip: '203.0.113.20', bounty_type: 'fingerprint', payload: { fingerprint_type: 'ja3', value: 'abc' } };
    assert.equal(await addBounties(db, [fp, fp, { ...fp, payload: { fingerprint_type: 'ja3', value: 'def' } }]), 2);
    assert.equal(await addBounties(db, [fp]), 0);
    assert.equal(await countBountiesForIp(db, '203.0.113.20'), 2);
    const rows = await bountiesForIps(db, ['203.0.113.20'], 'fingerprint');
    assert.deepEqual(rows.map((r) => (r.payload as { value: string }).value), ['abc', 'def']);
    assert.equal((await listBounties(db, { search: 'DEF' })).total, 1);
  });

  it('keeps a malicious attachment verdict sticky', async () => {
    const db = ctx.db();
    const sha = 'a'.repeat(64);
    await upsertObservedAttachment(db, { sha256: sha, seen_at: '2024-05-01T00:00:00Z', extensions: ['docm'], mal_hash_match: true, mal_hash_match_provider: 'malwarebazaar' });
    const later = await upsertObservedAttachment(db, { sha256: sha, seen_at: '2024-05-02T00:00:00Z', extensions: ['zip'], mal_hash_match: false });
    assert.equal(later.mal_hash_match, true);
    assert.equal(later.observation_count, 2);
    assert.deepEqual((await getObservedAttachment(db, sha))?.extensions, ['docm', 'zip']);
    await assert.rejects(upsertObservedAttachment(db, { sha256: 'xyz', seen_at: 0 }), /sha256: expected 64 hexadecimal characters/);
  });
});
