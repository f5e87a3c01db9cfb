// Repository operations added for the ttp, enrich and webhook workers, on SQLite and PostgreSQL:
// tags under the caller's deterministic id (and which of them were new), tag listings by time,
// the geolocation columns of attackers, replays of log rows since a time, and the webhook
// subscription's allow-private flag, rate and secret rules.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from './dialects.ts';
import { getAttacker, listAttackersWithoutGeo, setAttackerGeo, upsertAttacker } from '../../src/db/attackers/repo.ts';
import { insertNewTags, listTags, listTagsSince, type TagInput } from '../../src/db/ttp/repo.ts';
import { appendLogs, logsAfterIdSince } from '../../src/db/logs/repo.ts';
import { createWebhook, getWebhook, updateWebhook } from '../../src/db/webhooks/repo.ts';

forEachDialect('herd-repos', (ctx) => {
  it('stores tags under the caller\'s id once and says which were new', async () => {
    const db = ctx.db();
    const { uuid } = await upsertAttacker(db, { ip: '198.51.100.20', first_seen: '2026-05-01T00:00:00Z', last_seen: '2026-05-01T00:00:00Z' });
    const tag = (id: string, minute: number, confidence = 0.8): TagInput => ({
      uuid: id,
      source_kind: 'command',
      source_id: `log:${minute}`,
      rule_id: 'history-clear',
      rule_version: 1,
      technique_id: 'T1070',
      sub_technique_id: 'T1070.003',
      attacker_uuid: uuid,
      decky_id: 'decky-1',
      tactic: 'defense-evasion',
      confidence,
      evidence: { text: 'history -c', attacker_ip: '198.51.100.20' },
      created_at: `2026-05-01T00:0${minute}:00.000Z`,
    });
    const ids = ['00000000-0000-5000-8000-000000000001', '00000000-0000-5000-8000-000000000002', '00000000-0000-5000-8000-000000000003'];
    const first = await insertNewTags(db, [tag(ids[0]!, 1), tag(ids[1]!, 2), tag(ids[2]!, 3, 0.1)]);
    assert.deepEqual(first.sort(), [ids[0], ids[1]], 'below the confidence floor is not stored');
    const again = await insertNewTags(db, [tag(ids[0]!, 1), tag(ids[1]!, 2)]);
    assert.deepEqual(again, [], 'a replay inserts nothing');
    const stored = await listTags(db, { attacker_uuid: uuid });
    assert.deepEqual(stored.map((t) => t.uuid).sort(), [ids[0], ids[1]]);
    assert.equal(stored[0]!.evidence.text, 'history -c');
    await assert.rejects(insertNewTags(db, [{ ...tag(ids[0]!, 1), uuid: 'not-a-uuid' }]), /is not a lower-case UUID/);

    const since = await listTagsSince(db, { since: '2026-05-01T00:01:30Z' });
    assert.deepEqual(since.map((t) => t.uuid), [ids[1]]);
    const page1 = await listTagsSince(db, { limit: 1 });
    const page2 = await listTagsSince(db, { limit: 1, after: { created_at: page1[0]!.created_at, uuid: page1[0]!.uuid } });
    assert.deepEqual([...page1, ...page2].map((t) => t.uuid), [ids[0], ids[1]], 'pages continue after the last row');
  });

  it('records country and AS, and lists attackers never located', async () => {
    const db = ctx.db();
    const a = await upsertAttacker(db, { ip: '8.8.8.8', first_seen: '2026-05-01T00:00:00Z', last_seen: '2026-05-02T00:00:00Z' });
    const b = await upsertAttacker(db, { ip: '10.1.2.3', first_seen: '2026-05-01T00:00:00Z', last_seen: '2026-05-03T00:00:00Z' });
    const before = (await listAttackersWithoutGeo(db, 100)).map((r) => r.ip);
    assert.ok(before.includes('8.8.8.8') && before.includes('10.1.2.3'));
    assert.ok(before.indexOf('10.1.2.3') < before.indexOf('8.8.8.8'), 'most recently seen first');
    await setAttackerGeo(db, a.uuid, { country_code: 'US', country_source: 'test', asn: 15169, as_name: 'Google LLC', bgp_prefix: '8.8.8.0/24', asn_source: 'test' });
    await setAttackerGeo(db, b.uuid, { country_code: null, country_source: 'private', asn: null, as_name: null, bgp_prefix: null, asn_source: 'private' });
    const after = (await listAttackersWithoutGeo(db, 100)).map((r) => r.ip);
    assert.ok(!after.includes('8.8.8.8') && !after.includes('10.1.2.3'));
    const row = await getAttacker(db, a.uuid);
    assert.equal(row?.country_code, 'US');
    assert.equal(row?.asn, 15169);
    assert.equal(row?.bgp_prefix, '8.8.8.0/24');
    await assert.rejects(setAttackerGeo(db, a.uuid, { country_code: 'usa', country_source: 'x', asn: null, as_name: null, bgp_prefix: null, asn_source: 'x' }), /two-letter/);
  });

  it('replays log rows since a time, by id', async () => {
    const db = ctx.db();
    const mk = (ts: string, n: number) => ({ ts, decky: 'd1', service: 'ssh', event_type: 'command', attacker_ip: '198.51.100.9', fields: { command: `echo ${n}` }, raw_line: `line ${n} ${ts}` });
    await appendLogs(db, [mk('2026-04-01T00:00:00Z', 1), mk('2026-05-01T00:00:00Z', 2), mk('2026-03-01T00:00:00Z', 3), mk('2026-05-02T00:00:00Z', 4)]);
    const rows = await logsAfterIdSince(db, 0, '2026-04-15T00:00:00Z', 10);
    assert.deepEqual(rows.map((r) => r.fields.command), ['echo 2', 'echo 4']);
    const rest = await logsAfterIdSince(db, rows[0]!.id, '2026-04-15T00:00:00Z', 10);
    assert.deepEqual(rest.map((r) => r.fields.command), ['echo 4']);
  });

  it('keeps a webhook\'s allow-private flag and rate, and refuses short secrets', async () => {
    const db = ctx.db();
    const hook = await createWebhook(db, { name: 'local-siem', url: 'http://127.0.0.1:9/hook', topic_patterns: ['ttp.>'], allow_private: true, rate_per_minute: 30 });
    assert.equal(hook.allow_private, true);
    assert.equal(hook.rate_per_minute, 30);
    const plain = await createWebhook(db, { name: 'plain', url: 'https://siem.example/hook', topic_patterns: ['attacker.>'] });
    assert.equal((await getWebhook(db, plain.uuid))?.allow_private, false);
    assert.equal((await getWebhook(db, plain.uuid))?.rate_per_minute, null);
    await updateWebhook(db, plain.uuid, { allow_private: true, rate_per_minute: 5 });
    const updated = await getWebhook(db, plain.uuid);
    assert.equal(updated?.allow_private, true);
    assert.equal(updated?.rate_per_minute, 5);
    await assert.rejects(createWebhook(db, { name: 'weak', url: 'https://x.example/', topic_patterns: ['a.>'], secret: 'short' }), /at least 16/);
    await assert.rejects(createWebhook(db, { name: 'fast', url: 'https://x.example/', topic_patterns: ['a.>'], rate_per_minute: 0 }), /rate_per_minute/);
  });
});
