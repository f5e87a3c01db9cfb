// Repository operations the event pipeline added: which appended events were new, batch look-ups
// of profiles and behaviour, and the reuse groups (by credential cursor, by IP, by key, and the
// "several source IPs" rule). Run against SQLite and PostgreSQL alike.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from './dialects.ts';
import { appendLogs, type LogEventInput } from '../../src/db/logs/repo.ts';
import { getAttackersByIps, getBehaviors, upsertAttacker, upsertBehavior } from '../../src/db/attackers/repo.ts';
import {
  credentialKeysAfterId,
  credentialKeysForIp,
  findReuseCandidates,
  reuseFindingsForKeys,
  reuseKeyOf,
  reuseRowsForKeys,
  listCredentials,
  upsertCredential,
  upsertCredentialReuse,
  upsertCredentials,
} from '../../src/db/credentials/repo.ts';
import { DataError } from '../../src/db/values.ts';
import { inTransaction } from '../../src/db/query.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function event(n: number, over: Partial<LogEventInput> = {}): LogEventInput {
  const ts = new Date(Date.UTC(2024, 5, 1) + n * 1000).toISOString();
  return { ts, decky: 'd1', service: 'ssh', event_type: 'connect', attacker_ip: '192.0.2.1', fields: {}, raw_line: `line ${n}`, ...over };
}

forEachDialect('pipeline-repos', (ctx) => {
  it('reports which appended events were new, in and outside a transaction', async () => {
    const db = ctx.db();
    const first = await appendLogs(db, [event(1), event(2), event(3)], { reportInserted: true });
    assert.deepEqual(first.insertedIndexes, [0, 1, 2]);
    const again = await inTransaction(db, (tx) => appendLogs(tx, [event(2), event(4), event(4), event(5, { dedupe_key: 'x' }), event(6, { ts: 'bad' })], { reportInserted: true, skipInvalid: true }));
    assert.deepEqual(again.insertedIndexes, [1, 3], 'a repeat inside the batch and an old line are not new');
    assert.equal(again.inserted, 2);
    assert.equal(again.duplicates, 2);
    assert.equal(again.rejected.length, 1);
    const plain = await appendLogs(db, [event(7)]);
    assert.equal(plain.insertedIndexes, undefined, 'only when asked');
  });

  it('loads many profiles and behaviour records at once', async () => {
    const db = ctx.db();
    const a = await upsertAttacker(db, { ip: '198.51.100.1', first_seen: '2024-06-01T00:00:00Z', last_seen: '2024-06-01T00:00:00Z', event_count: 3, services: ['ssh'] });
    const b = await upsertAttacker(db, { ip: '2001:DB8::1', first_seen: '2024-06-01T00:00:00Z', last_seen: '2024-06-01T00:00:00Z' });
    await upsertBehavior(db, a.uuid, { behavior_class: 'scanning', timing_stats: { iat_count: 2 }, tool_guesses: ['nmap'] });
    const byIp = await getAttackersByIps(db, ['198.51.100.1', '2001:db8:0::1', '203.0.113.9']);
    assert.deepEqual([...byIp.keys()].sort(), ['198.51.100.1', '2001:db8::1']);
    assert.deepEqual(byIp.get('198.51.100.1')!.services, ['ssh']);
    const behaviors = await getBehaviors(db, [a.uuid, b.uuid]);
    assert.equal(behaviors.size, 1);
    assert.deepEqual(behaviors.get(a.uuid)!.tool_guesses, ['nmap']);
    assert.deepEqual(behaviors.get(a.uuid)!.timing_stats, { iat_count: 2 });
  });

  it('finds reuse groups by credential cursor and by IP, and counts the source-IP rule', async () => {
    const db = ctx.db();
    const cred = (ip: string, decky: string, secret: string, principal = 'root') => upsertCredential(db, { attacker_ip: ip, decky_name: decky, service: 'ssh', principal, secret_kind: 'plaintext', secret_b64: b64(secret), seen_at: '2024-06-01T00:00:00Z' });
    await cred('203.0.113.1', 'd1', 'one');
    const start = await credentialKeysAfterId(db, 0);
    assert.equal(start.keys.length, 1);
    await cred('203.0.113.2', 'd1', 'one'); // same target, another IP
    await cred('203.0.113.1', 'd2', 'two');
    await cred('203.0.113.1', 'd3', 'two');
    const next = await credentialKeysAfterId(db, start.lastId);
    assert.equal(next.keys.length, 2);
    assert.ok(next.lastId > start.lastId);
    assert.deepEqual(await credentialKeysAfterId(db, next.lastId), { lastId: next.lastId, keys: [] });
    assert.equal((await credentialKeysForIp(db, '203.0.113.1')).length, 2);

    assert.equal((await findReuseCandidates(db)).length, 1, 'by targets only: "two"');
    const both = await findReuseCandidates(db, { minAttackerIps: 2 });
    assert.equal(both.length, 2);
    const one = (await reuseFindingsForKeys(db, both)).find((f) => f.target_count === 1)!;
    assert.deepEqual(one.attacker_ips, ['203.0.113.1', '203.0.113.2']);
    assert.equal(await upsertCredentialReuse(db, one), null, 'below min targets without the IP rule');
    const stored = await upsertCredentialReuse(db, one, { minAttackerIps: 2 });
    assert.ok(stored?.inserted);
    const rows = await reuseRowsForKeys(db, both);
    assert.equal(rows.size, 1);
    assert.equal(rows.get(reuseKeyOf(one))!.id, stored!.row.id);
  });

  it('stores many sightings at once exactly as one by one would', async () => {
    const db = ctx.db();
    const c = (secret: string, seen: string, outcome: 'success' | 'failure' = 'failure', ip = '192.0.2.50') => ({ attacker_ip: ip, decky_name: 'bulk', service: 'ftp', principal: 'u', secret_kind: 'plaintext', secret_b64: b64(secret), outcome, seen_at: seen, fields: { seen } });
    await upsertCredential(db, c('old', '2024-06-01T00:00:05Z'));
    const results = await upsertCredentials(db, [
      c('old', '2024-06-01T00:00:01Z'),
      c('new', '2024-06-01T00:00:02Z'),
      c('new', '2024-06-01T00:00:09Z', 'success'),
      c('new', '2024-06-01T00:00:03Z', 'failure'),
      c('new', '2024-06-01T00:00:04Z', 'failure', '192.0.2.51'),
    ]);
    assert.deepEqual(results.map((r) => r.inserted), [false, true, false, false, true]);
    assert.deepEqual(results.map((r) => r.attempt_count), [2, 3, 3, 3, 1]);
    const rows = (await listCredentials(db, { search: 'bulk', limit: 10 })).data;
    const neu = rows.find((r) => r.secret_printable === 'new' && r.attacker_ip === '192.0.2.50')!;
    assert.equal(neu.attempt_count, 3);
    assert.equal(neu.outcome, 'success', 'a success is sticky');
    assert.equal(neu.first_seen, '2024-06-01T00:00:02.000Z');
    assert.equal(neu.last_seen, '2024-06-01T00:00:09.000Z');
    assert.deepEqual(neu.fields, { seen: '2024-06-01T00:00:02Z' }, 'the first sighting keeps its fields');
    const old = rows.find((r) => r.secret_printable === 'old')!;
    assert.equal(old.first_seen, '2024-06-01T00:00:01.000Z');
    assert.equal(old.attempt_count, 2);
    await assert.rejects(upsertCredentials(db, [c('x', '2024-06-01T00:00:00Z'), { ...c('y', '2024-06-01T00:00:00Z'), secret_b64: '***' }]), (err: Error) => err instanceof DataError && /secret_b64: is not valid base64/.test(err.message));
    assert.equal((await listCredentials(db, { search: 'bulk', limit: 10 })).total, 3, 'nothing written when one input is invalid');
  });
});
