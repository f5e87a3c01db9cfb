// The remaining repositories (intelligence, canaries, webhooks, deckies, topology, users, …),
// run against SQLite and PostgreSQL alike.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from './dialects.ts';
import { getAttacker, upsertAttacker } from '../../src/db/attackers/repo.ts';
import { attackersOfIdentity, createIdentity, ensureStubIdentityForAttacker, listIdentities, resolveIdentity, setIdentityMergedInto, updateIdentity } from '../../src/db/identities/repo.ts';
import { createCampaign, listCampaigns, setCampaignMergedInto, setIdentityCampaign } from '../../src/db/campaigns/repo.ts';
import { getAttributionState, listMultiActorIdentities, upsertAttributionState } from '../../src/db/attribution/repo.ts';
import { hasObservationsForEvidence, latestObservationsPerPrimitive, observationsFor, upsertObservation } from '../../src/db/observations/repo.ts';
import { getAttackerIntel, listUnenrichedAttackers, upsertAttackerIntel } from '../../src/db/intel/repo.ts';
import { incrementSmtpTarget, listSmtpTargets } from '../../src/db/smtp/repo.ts';
import { recordFingerprint } from '../../src/db/fingerprints/repo.ts';
import { MIN_CONFIDENCE, getRuleState, insertTags, listTags, setRuleState, techniqueRollup, ttpTagUuid, upsertRule, getRule, type TagInput } from '../../src/db/ttp/repo.ts';
import { createCanaryToken, deleteCanaryBlob, getCanaryTokenBySlug, listCanaryBlobs, listCanaryTriggers, recordCanaryTrigger, upsertCanaryBlob } from '../../src/db/canary/repo.ts';
import { createWebhook, listWebhooks, recordWebhookFailure, recordWebhookSuccess, tripWebhookCircuit, updateWebhook } from '../../src/db/webhooks/repo.ts';
import { createLifecycle, findOpenLifecycle, getLifecycles, sweepStaleLifecycle, updateLifecycle } from '../../src/db/deckies/repo.ts';
import { listRunningDeckies, upsertFleetDecky, updateFleetDeckyState, getFleetDeckyByName } from '../../src/db/fleet/repo.ts';
import { createSwarmHost, deleteSwarmHost, getSwarmHostByName, listDeckyShards, upsertDeckyShard } from '../../src/db/swarm/repo.ts';
import {
  TopologyNotEditableError,
  VersionConflictError,
  addEdge,
  addLan,
  addTopologyDecky,
  claimNextMutation,
  createTopology,
  deleteLan,
  deleteTopology,
  enqueueMutation,
  getTopologyDetail,
  hasPendingMutation,
  listLiveTopologyIds,
  listStatusEvents,
  listTopologies,
  markMutationApplied,
  updateTopologyDecky,
  updateTopologyStatus,
} from '../../src/db/topology/repo.ts';
import { listOrchestratorEvents, pruneOrchestratorEvents, recordOrchestratorEmail, recordOrchestratorEvent, listOrchestratorEmailThreads } from '../../src/db/orchestrator/repo.ts';
import { getRealismConfig, listSyntheticFiles, pickRandomSyntheticFile, recordSyntheticFile, setRealismConfig } from '../../src/db/realism/repo.ts';
import { getTarpitRule, listTarpitRules, setTarpitRule } from '../../src/db/tarpit/repo.ts';
import { createUser, deleteUser, isTokenRevoked, listUsers, revokeToken, seedAdmin, updatePassword, updateRole, verifyLogin } from '../../src/db/auth/repo.ts';
import { ConflictError } from '../../src/db/values.ts';

forEachDialect('intel', (ctx) => {
  it('links attackers to identities and campaigns, with cycle-safe soft merges', async () => {
    const db = ctx.db();
    const a = await upsertAttacker(db, { ip: '203.0.113.1', first_seen: '2024-05-01T00:00:00Z', last_seen: '2024-05-02T00:00:00Z' });
    const stub1 = await ensureStubIdentityForAttacker(db, a.uuid);
    const stub2 = await ensureStubIdentityForAttacker(db, a.uuid);
    assert.equal(stub1.created, true);
    assert.deepEqual(stub2, { identity_uuid: stub1.identity_uuid, created: false });
    assert.equal((await getAttacker(db, a.uuid))?.identity_id, stub1.identity_uuid);
    assert.deepEqual((await attackersOfIdentity(db, stub1.identity_uuid)).map((x) => x.ip), ['203.0.113.1']);

    const winner = await createIdentity(db, { first_seen_at: 0, last_seen_at: 0, ja3_hashes: ['j1'] });
    await updateIdentity(db, winner, { hassh_hashes: ['h1'], confidence: 0.8, kd_digraph_simhash: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) });
    await setIdentityMergedInto(db, stub1.identity_uuid, winner);
    const resolved = (await resolveIdentity(db, stub1.identity_uuid))!;
    assert.equal(resolved.uuid, winner);
    assert.deepEqual(resolved.ja3_hashes, ['j1']);
    assert.deepEqual(resolved.hassh_hashes, ['h1']);
    assert.deepEqual([...resolved.kd_digraph_simhash!], [1, 2, 3, 4, 5, 6, 7, 8]);
    await assert.rejects(setIdentityMergedInto(db, winner, stub1.identity_uuid), /would make a cycle/);
    assert.equal((await listIdentities(db)).total, 1, 'merged identities are hidden');

    const c1 = await createCampaign(db, { first_seen_at: 0, last_seen_at: 0 });
    const c2 = await createCampaign(db, { first_seen_at: 0, last_seen_at: 0 });
    await setIdentityCampaign(db, winner, c1);
    assert.equal((await listIdentities(db, { campaign_id: c1 })).total, 1);
    await setCampaignMergedInto(db, c1, c2);
    await assert.rejects(setCampaignMergedInto(db, c2, c1), /would make a cycle/);
    assert.deepEqual((await listCampaigns(db)).data.map((c) => c.uuid), [c2]);
  });

  it('keeps attribution state, observations, intel, SMTP targets and fingerprint rotations', async () => {
    const db = ctx.db();
    const a = await upsertAttacker(db, { ip: '203.0.113.2', first_seen: 0, last_seen: 0 });
    const { identity_uuid } = await ensureStubIdentityForAttacker(db, a.uuid);
    await upsertAttributionState(db, { identity_uuid, primitive: 'kd.digraph', current_value: { h: 'x' }, state: 'stable', confidence: 0.5, observation_count: 3, last_change_ts: 1_714_000_000_000 });
    await upsertAttributionState(db, { identity_uuid, primitive: 'kd.digraph', current_value: { h: 'y' }, state: 'multi_actor', confidence: 0.7, observation_count: 4 });
    assert.deepEqual((await getAttributionState(db, identity_uuid, 'kd.digraph'))?.current_value, { h: 'y' });
    assert.deepEqual(await listMultiActorIdentities(db), [identity_uuid]);

    const obs = { attacker_uuid: a.uuid, primitive: 'shell.typing_rate', value: 4.2, confidence: 0.9, evidence_ref: 'shard:web1/ssh/2024-05-01.jsonl#s1', ts: '2024-05-01T00:00:00Z' };
    assert.equal(await upsertObservation(db, obs), true);
    assert.equal(await upsertObservation(db, { ...obs, value: 9 }), false, 'one row per evidence and primitive');
    await upsertObservation(db, { ...obs, evidence_ref: 'shard:web1/ssh/2024-05-01.jsonl#s2', value: 5, ts: '2024-05-02T00:00:00Z' });
    assert.equal(await hasObservationsForEvidence(db, obs.evidence_ref), true);
    const latest = await latestObservationsPerPrimitive(db, a.uuid);
    assert.deepEqual(latest.map((o) => o.value), [5]);
    assert.equal((await observationsFor(db, 'shell.typing_rate', { attacker_uuids: [a.uuid] })).length, 2);

    assert.deepEqual((await listUnenrichedAttackers(db)).map((x) => x.ip).sort(), ['203.0.113.1', '203.0.113.2']);
    await upsertAttackerIntel(db, { attacker_uuid: a.uuid, attacker_ip: a.uuid ? '203.0.113.2' : '', aggregate_verdict: 'malicious', ttl_ms: 3_600_000, abuseipdb_score: 97, greynoise_tags: ['ssh-bruteforcer'], feodo_listed: false });
    const intel = (await getAttackerIntel(db, a.uuid))!;
    assert.deepEqual([intel.aggregate_verdict, intel.abuseipdb_score, intel.feodo_listed, intel.greynoise_tags], ['malicious', 97, false, ['ssh-bruteforcer']]);
    assert.deepEqual((await listUnenrichedAttackers(db)).map((x) => x.ip), ['203.0.113.1']);
    assert.deepEqual((await listUnenrichedAttackers(db, 10, Date.now() + 7_200_000)).length, 2, 'an expired verdict needs enriching again');
    await assert.rejects(upsertAttackerIntel(db, { attacker_uuid: a.uuid, attacker_ip: '203.0.113.2', aggregate_verdict: 'malicious', ttl_ms: 1, abuseipdb_score: 101 }), /outside 0\.\.100/);

    await incrementSmtpTarget(db, a.uuid, 'Victim.Example', '2024-05-01T00:00:00Z');
    await incrementSmtpTarget(db, a.uuid, 'victim.example.', '2024-05-03T00:00:00Z', 2);
    const targets = await listSmtpTargets(db, a.uuid);
    assert.deepEqual(targets.data.map((t) => [t.domain, t.count, t.last_seen]), [['victim.example', 3, '2024-05-03T00:00:00.000Z']]);
    await assert.rejects(incrementSmtpTarget(db, a.uuid, 'bob@victim.example', 0), /domain only/);

    assert.deepEqual(await recordFingerprint(db, a.uuid, 22, 'hassh', 'aaa'), { rotated: false, previous_hash: null, rotation_count: 0 });
    assert.deepEqual(await recordFingerprint(db, a.uuid, 22, 'hassh', 'aaa'), { rotated: false, previous_hash: 'aaa', rotation_count: 0 });
    assert.deepEqual(await recordFingerprint(db, a.uuid, 22, 'hassh', 'bbb'), { rotated: true, previous_hash: 'aaa', rotation_count: 1 });
    assert.equal((await getAttacker(db, a.uuid))?.rotation_count, 1);
  });

  it('inserts each ATT&CK tag once and rolls them up', async () => {
    const db = ctx.db();
    const a = await upsertAttacker(db, { ip: '203.0.113.3', first_seen: 0, last_seen: 0 });
    const tag = (sourceId: string, technique: string, confidence = 0.8): TagInput => ({
      source_kind: 'command',
      source_id: sourceId,
      rule_id: 'linux-discovery',
      rule_version: 2,
      technique_id: technique,
      tactic: 'discovery',
      attacker_uuid: a.uuid,
      confidence,
      evidence: { command: 'uname -a' },
    });
    assert.equal(await insertTags(db, [tag('e1', 'T1082'), tag('e2', 'T1082'), tag('e3', 'T1033'), tag('e4', 'T1059', MIN_CONFIDENCE - 0.1)]), 3);
    assert.equal(await insertTags(db, [tag('e1', 'T1082'), tag('e5', 'T1082')]), 1, 'only the new tag counts');
    assert.equal(ttpTagUuid(tag('e1', 'T1082')), ttpTagUuid({ ...tag('e1', 'T1082') }));
    const rollup = await techniqueRollup(db, { attacker_uuid: a.uuid });
    assert.deepEqual(rollup.map((r) => [r.technique_id, r.count]), [['T1082', 3], ['T1033', 1]]);
    assert.equal((await listTags(db, { attacker_uuid: a.uuid })).length, 4);
    await assert.rejects(insertTags(db, [{ ...tag('e6', 'T1082'), attacker_uuid: null }]), /needs attacker_uuid or identity_uuid/);
    await assert.rejects(insertTags(db, [tag('e7', 'X1')]), /not an ATT&CK technique id/);

    await upsertRule(db, { rule_id: 'linux-discovery', rule_version: 3, yaml_content: 'id: linux-discovery\n' });
    assert.equal((await getRule(db, 'linux-discovery'))?.rule_version, 3);
    await setRuleState(db, { rule_id: 'linux-discovery', state: 'clipped', confidence_max: 0.5, reason: 'noisy' });
    assert.equal((await getRuleState(db, 'linux-discovery'))?.state, 'clipped');
    await assert.rejects(setRuleState(db, { rule_id: 'x', state: 'clipped' }), /needs confidence_max/);
  });
});

forEachDialect('operations', (ctx) => {
  it('manages canary blobs, tokens and triggers', async () => {
    const db = ctx.db();
    const blob = await upsertCanaryBlob(db, { sha256: 'b'.repeat(64), filename: 'q3.docx', content_type: 'application/vnd.openxmlformats', size_bytes: 1234 });
    const again = await upsertCanaryBlob(db, { sha256: 'B'.repeat(64), filename: 'other.docx', content_type: 'application/octet-stream', size_bytes: 1234 });
    assert.deepEqual([blob.created, again.created, again.row.uuid], [true, false, blob.row.uuid]);
    const token = await createCanaryToken(db, { kind: 'http', decky_name: 'web1', blob_uuid: blob.row.uuid, instrumenter: 'docx', placement_path: '/home/bob/q3.docx', created_by: 'system' });
    assert.equal((await getCanaryTokenBySlug(db, token.callback_token.toUpperCase()))?.uuid, token.uuid, 'slugs match whatever the case');
    await recordCanaryTrigger(db, { token_uuid: token.uuid, occurred_at: '2024-05-01T00:00:00Z', src_ip: '203.0.113.7', user_agent: 'Word', headers: { host: 'x' } });
    const triggers = await listCanaryTriggers(db, token.uuid);
    assert.equal(triggers.total, 1);
    assert.deepEqual(triggers.triggers[0].headers, { host: 'x' });
    assert.equal((await getCanaryTokenBySlug(db, token.callback_token))?.trigger_count, 1);
    assert.equal((await listCanaryBlobs(db))[0].token_count, 1);
    await assert.rejects(deleteCanaryBlob(db, blob.row.uuid), (err: Error) => err instanceof ConflictError && /used by 1 canary token/.test(err.message));
    await assert.rejects(createCanaryToken(db, { kind: 'http', decky_name: 'web1', generator: 'env_file', placement_path: 'relative/path', created_by: 'system' }), /absolute path/);
  });

  it('tracks webhook delivery and trips the circuit', async () => {
    const db = ctx.db();
    const hook = await createWebhook(db, { name: 'siem', url: 'https://siem.example/hook', topic_patterns: ['attacker.>', 'credential.*'] });
    assert.equal(hook.secret.length, 43);
    assert.equal(await recordWebhookFailure(db, hook.uuid, 'HTTP 500'), 1);
    assert.equal(await recordWebhookFailure(db, hook.uuid, 'HTTP 502'), 2);
    await tripWebhookCircuit(db, hook.uuid);
    assert.equal((await listWebhooks(db, { enabledOnly: true })).length, 0);
    await updateWebhook(db, hook.uuid, { enabled: true });
    await recordWebhookSuccess(db, hook.uuid);
    const [after] = await listWebhooks(db, { enabledOnly: true });
    assert.deepEqual([after.consecutive_failures, after.auto_disabled_at, after.topic_patterns], [0, null, ['attacker.>', 'credential.*']]);
    await assert.rejects(createWebhook(db, { name: 'bad', url: 'ftp://x', topic_patterns: ['a'] }), /http:\/\/ or https:\/\//);
    await assert.rejects(createWebhook(db, { name: 'bad', url: 'https://x', topic_patterns: ['a.>.b'] }), /not a subject pattern/);
  });

  it('records decky lifecycles that never change once finished', async () => {
    const db = ctx.db();
    const l = await createLifecycle(db, 'web1', 'deploy');
    assert.equal((await findOpenLifecycle(db, 'web1'))?.id, l.id);
    await updateLifecycle(db, l.id, 'running');
    await updateLifecycle(db, l.id, 'succeeded');
    await assert.rejects(updateLifecycle(db, l.id, 'failed'), /already finished/);
    const stale = await createLifecycle(db, 'web2', 'mutate');
    assert.equal(await sweepStaleLifecycle(db, Date.now() + 1000, 'master restarted during operation'), 1);
    const rows = await getLifecycles(db, [l.id, stale.id]);
    assert.deepEqual(rows.map((r) => r.status), ['succeeded', 'failed']);
    assert.equal(rows[1].error, 'master restarted during operation');
  });

  it('builds topologies with version checks, edges, status history and an ordered mutation queue', async () => {
    const db = ctx.db();
    const host = await createSwarmHost(db, { name: 'agent-1', address: '10.0.0.2' });
    const t = await createTopology(db, { name: 'maze', config_snapshot: { lans: 2 } });
    const dmz = await addLan(db, t.id, { name: 'dmz', subnet: '10.20.0.0/24', is_dmz: true }, { expected_version: 1, enforce_pending: true });
    const lan = await addLan(db, t.id, { name: 'corp', subnet: '10.30.0.0/24' });
    await assert.rejects(addLan(db, t.id, { name: 'x', subnet: '10.40.0.0/24' }, { expected_version: 1 }), (err: Error) => err instanceof VersionConflictError && err.current === 3);
    await assert.rejects(addLan(db, t.id, { name: 'x', subnet: '10.40.0.0/33' }), /not a CIDR subnet/);
    const web = await addTopologyDecky(db, t.id, { name: 'web1', services: ['http'], decky_config: { archetype: 'linux-web' }, ip: '10.20.0.10' });
    const bridge = await addTopologyDecky(db, t.id, { name: 'gw', services: ['ssh'], decky_config: {} });
    await addEdge(db, t.id, { decky_uuid: web.uuid, lan_id: dmz.id });
    await addEdge(db, t.id, { decky_uuid: bridge.uuid, lan_id: dmz.id, is_bridge: true });
    await addEdge(db, t.id, { decky_uuid: bridge.uuid, lan_id: lan.id, is_bridge: true, forwards_l3: true });
    await assert.rejects(deleteLan(db, t.id, dmz.id), /only LAN of web1/);
    await deleteLan(db, t.id, lan.id);
    const detail = (await getTopologyDetail(db, t.id))!;
    assert.deepEqual([detail.lans.length, detail.deckies.length, detail.edges.length], [1, 2, 2]);
    assert.equal(detail.version, 9);

    await updateTopologyStatus(db, t.id, 'deploying', 'deploy requested');
    await updateTopologyStatus(db, t.id, 'active');
    await assert.rejects(addLan(db, t.id, { name: 'late', subnet: '10.50.0.0/24' }, { enforce_pending: true }), TopologyNotEditableError);
    assert.deepEqual((await listStatusEvents(db, t.id)).map((e) => e.to_status), ['active', 'deploying', 'pending']);
    assert.deepEqual(await listLiveTopologyIds(db), [t.id]);

    const m1 = await enqueueMutation(db, t.id, 'add_lan', { name: 'lab' });
    const m2 = await enqueueMutation(db, t.id, 'remove_decky', { uuid: web.uuid });
    assert.equal(await hasPendingMutation(db), true);
    const claims = await Promise.all([claimNextMutation(db, t.id), claimNextMutation(db, t.id), claimNextMutation(db, t.id)]);
    assert.deepEqual(claims.filter((c) => c !== undefined).map((c) => c!.id), [m1.id], 'one claim wins, the oldest; nothing else while it applies');
    await markMutationApplied(db, m1.id);
    assert.equal((await claimNextMutation(db, t.id))?.id, m2.id);
    await assert.rejects(markMutationApplied(db, m1.id), /not being applied/);

    await updateTopologyDecky(db, t.id, web.uuid, { state: 'running' });
    await upsertFleetDecky(db, { name: 'mail1', services: ['smtp'], decky_config: {}, decky_ip: '127.0.10.5', state: 'running' });
    await upsertFleetDecky(db, { name: 'idle1', services: [], decky_config: {} });
    await upsertDeckyShard(db, { decky_name: 'far1', host_uuid: host.uuid, services: ['rdp'], decky_config: {}, state: 'running' });
    assert.equal(await updateFleetDeckyState(db, 'idle1', 'failed', { last_error: 'port in use' }), true);
    assert.equal((await getFleetDeckyByName(db, 'idle1'))?.last_error, 'port in use');
    const running = await listRunningDeckies(db);
    assert.deepEqual(running.map((d) => `${d.source}:${d.uuid.includes(':') ? d.uuid : 'topology-uuid'}`).sort(), ['fleet:local:mail1', `shard:${host.uuid}:far1`, 'topology:topology-uuid']);
    assert.equal((await listTopologies(db, { status: 'active' })).total, 1);

    assert.equal((await getSwarmHostByName(db, 'agent-1'))?.agent_port, 8765);
    await deleteSwarmHost(db, host.uuid);
    assert.equal((await listDeckyShards(db)).length, 0, 'shards go with their host');
    assert.equal(await deleteTopology(db, t.id), true);
    assert.equal(await getTopologyDetail(db, t.id), undefined);
  });

  it('caps orchestrator history, remembers synthetic files, tarpit rules and knobs', async () => {
    const db = ctx.db();
    for (let i = 0; i < 5; i++) await recordOrchestratorEvent(db, { ts: 1_714_000_000_000 + i, kind: 'traffic', protocol: 'ssh', action: `exec:uptime${i}`, dst_decky_uuid: 'local:web1', success: true });
    assert.equal(await pruneOrchestratorEvents(db, 'local:web1', 2), 3);
    assert.deepEqual((await listOrchestratorEvents(db, { dst_decky_uuid: 'local:web1' })).data.map((e) => e.action), ['exec:uptime4', 'exec:uptime3']);
    await recordOrchestratorEmail(db, { mail_decky_uuid: 'local:mail1', thread_id: 't1', message_id: '<1@x>', sender_email: 'a@x', recipient_email: 'b@x', subject: 'Q3', success: true });
    assert.equal((await listOrchestratorEmailThreads(db, 'local:mail1'))[0].messages, 1);

    await recordSyntheticFile(db, { decky_uuid: 'local:web1', path: '/home/bob/notes.txt', body: 'v1' });
    await recordSyntheticFile(db, { decky_uuid: 'local:web1', path: '/home/bob/notes.txt', body: 'v2' });
    const files = await listSyntheticFiles(db, { decky_uuid: 'local:web1' });
    assert.deepEqual([files.total, files.data[0].edit_count, files.data[0].last_body], [1, 1, 'v2']);
    assert.equal((await pickRandomSyntheticFile(db, 'local:web1'))?.path, '/home/bob/notes.txt');
    await assert.rejects(recordSyntheticFile(db, { decky_uuid: 'local:web1', path: '/etc/../passwd', body: '' }), /without '\.\.'/);
    await setRealismConfig(db, 'weights', { mail: 2 });
    assert.deepEqual(await getRealismConfig(db, 'weights'), { mail: 2 });

    await setTarpitRule(db, { decky_name: 'web1', ports: [22, 22, 80], delay_ms: 500 });
    await setTarpitRule(db, { decky_name: 'web1', ports: [443], delay_ms: 1000 });
    assert.deepEqual([(await listTarpitRules(db)).length, (await getTarpitRule(db, 'web1'))?.ports], [1, [443]]);
    await assert.rejects(setTarpitRule(db, { decky_name: 'web1', ports: [], delay_ms: 50 }), /outside 100\.\.300000/);
  });
});

forEachDialect('auth', (ctx) => {
  it('seeds the admin once, with a generated password shown once', async () => {
    const db = ctx.db();
    const first = await seedAdmin(db, { DECNET_ADMIN_USER: 'root-admin' });
    assert.equal(first.created, true);
    assert.match(first.generated_password!, /^[A-Za-z0-9_-]{24}$/);
    const second = await seedAdmin(db, { DECNET_ADMIN_USER: 'root-admin' });
    assert.deepEqual(second, { username: 'root-admin', created: false, resynced: false });
    const admin = (await verifyLogin(db, 'root-admin', first.generated_password!))!;
    assert.equal(admin.must_change_password, true);
    assert.equal(admin.role, 'admin');
    const resync = await seedAdmin(db, { DECNET_ADMIN_USER: 'root-admin', DECNET_ADMIN_PASSWORD: 'a much better passphrase' });
    assert.equal(resync.resynced, true, 'an unchanged admin password follows the environment');
    assert.ok(await verifyLogin(db, 'root-admin', 'a much better passphrase'));
    await updatePassword(db, admin.uuid, 'chosen by the operator');
    assert.equal((await seedAdmin(db, { DECNET_ADMIN_USER: 'root-admin', DECNET_ADMIN_PASSWORD: 'a much better passphrase' })).resynced, false, 'a changed password is left alone');
    await assert.rejects(seedAdmin(db, { DECNET_ADMIN_PASSWORD: 'short' }), /DECNET_ADMIN_PASSWORD must be at least 12 characters/);
  });

  it('manages users, logins and revoked tokens', async () => {
    const db = ctx.db();
    const viewer = await createUser(db, { username: 'analyst', password: 'correct horse battery' });
    await assert.rejects(createUser(db, { username: 'analyst', password: 'correct horse battery' }), /already exists/);
    await assert.rejects(createUser(db, { username: 'x y', password: 'correct horse battery' }), /username: must be/);
    await assert.rejects(createUser(db, { username: 'weak', password: 'passwordpassword' }), /too easy to guess/);
    assert.equal(await verifyLogin(db, 'analyst', 'wrong password here'), undefined);
    assert.equal(await verifyLogin(db, 'nobody', 'correct horse battery'), undefined);
    assert.equal((await verifyLogin(db, 'analyst', 'correct horse battery'))?.uuid, viewer.uuid);
    const admins = (await listUsers(db)).filter((u) => u.role === 'admin');
    assert.equal(admins.length, 1);
    await assert.rejects(updateRole(db, admins[0].uuid, 'viewer'), /last admin/);
    await assert.rejects(deleteUser(db, admins[0].uuid), /last admin/);
    await updateRole(db, viewer.uuid, 'admin');
    await updateRole(db, admins[0].uuid, 'viewer');
    assert.equal(await isTokenRevoked(db, 'jti-00000001'), false);
    await revokeToken(db, 'jti-00000001', viewer.uuid, Date.now() + 60_000);
    await revokeToken(db, 'jti-00000002', viewer.uuid, Date.now() - 60_000);
    await revokeToken(db, 'jti-00000003', viewer.uuid, Date.now() + 60_000); // prunes the expired one
    assert.equal(await isTokenRevoked(db, 'jti-00000001'), true);
    assert.equal(await isTokenRevoked(db, 'jti-00000002'), false, 'expired entries are pruned');
    assert.equal(await isTokenRevoked(db, "'; drop table users; --"), true, 'a malformed token id is never valid');
  });
});
