// The reuse correlator behind the real ingester and profiler: the same credential across deckies,
// services or source IPs becomes one reuse record, announced once per new occurrence, and never
// again after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import ingester from '../../src/pipeline/ingester-worker.ts';
import profiler from '../../src/intel/profiler/profiler-worker.ts';
import reuse from '../../src/intel/reuse/reuse-worker.ts';
import { topics } from '../../src/bus/topics.ts';
import { listCredentialReuse } from '../../src/db/credentials/repo.ts';
import { attackerUuidByIp } from '../../src/db/attackers/repo.ts';
import type { EventInput } from '../../src/pipeline/rfc5424.ts';
import { waitFor } from '../helpers/env.ts';
import { listen, openTestDb, runWorkers, sandbox, writeEvents } from '../pipeline/helpers.ts';

let port = 20_000;
function login(ip: string, decky: string, service: string, user: string, password: string): EventInput {
  return { ts: new Date().toISOString(), decky, service, event: 'auth_attempt', src_ip: ip, src_port: port++, dst_ip: '192.0.2.1', dst_port: 22, fields: { username: user, success: false }, secret: password };
}

test('reuse across deckies, services and source IPs: one record per secret, announced once per new occurrence', { timeout: 60_000 }, async () => {
  const box = sandbox();
  const bus = await listen([topics.credentialReuseDetected]);
  const pipeline = await runWorkers([
    { def: ingester, config: { poll: 20 } },
    { def: profiler, config: { interval: 1 } },
  ]);
  let correlator = await runWorkers([{ def: reuse, config: { interval: 1 } }]);
  const db = await openTestDb(box);
  const detections = () => bus.of(topics.credentialReuseDetected);
  const settle = () => new Promise((r) => setTimeout(r, 1500));
  try {
    writeEvents(box.decoyLog, [login('198.51.100.1', 'decky-a', 'ssh', 'root', 'hunter2')]);
    await settle();
    assert.equal(detections().length, 0, 'one target is no reuse');

    writeEvents(box.decoyLog, [login('198.51.100.1', 'decky-b', 'ssh', 'root', 'hunter2')]);
    await waitFor(() => detections().length === 1, 10_000, 'the first detection');
    const first = detections()[0].payload;
    assert.equal(first.new, true);
    assert.equal(first.secret_sha256, createHash('sha256').update('hunter2').digest('hex'));
    assert.deepEqual(first.deckies, ['decky-a', 'decky-b']);
    assert.equal(first.target_count, 2);
    assert.ok(!JSON.stringify(first).includes('hunter2'), 'never the secret itself');

    // A repeat of a known (decky, service, IP) is no new occurrence.
    writeEvents(box.decoyLog, [login('198.51.100.1', 'decky-a', 'ssh', 'root', 'hunter2')]);
    await settle();
    assert.equal(detections().length, 1);

    // The same credential from another source IP on a known target: the record grows, once.
    writeEvents(box.decoyLog, [login('198.51.100.2', 'decky-a', 'ssh', 'root', 'hunter2')]);
    await waitFor(() => detections().length === 2, 10_000, 'the growth');
    const grew = detections()[1].payload as { new: boolean; added: { attacker_ips: string[]; deckies: string[] } };
    assert.equal(grew.new, false);
    assert.deepEqual(grew.added.attacker_ips, ['198.51.100.2']);
    assert.deepEqual(grew.added.deckies, []);

    // Another secret, one target, two source IPs: a reuse by sources alone. A different service on
    // the same decky counts as another target too.
    writeEvents(box.decoyLog, [login('198.51.100.3', 'decky-c', 'ftp', 'admin', 'admin'), login('198.51.100.4', 'decky-c', 'ftp', 'admin', 'admin')]);
    await waitFor(() => detections().length === 3, 10_000, 'the reuse by sources');
    writeEvents(box.decoyLog, [login('198.51.100.3', 'decky-c', 'telnet', 'admin', 'admin')]);
    await waitFor(() => detections().length === 4, 10_000, 'the new service');
    assert.deepEqual((detections()[3].payload.added as { services: string[] }).services, ['telnet']);

    const rows = (await listCredentialReuse(db, { limit: 10 })).data;
    assert.equal(rows.length, 2);
    const hunter = rows.find((r) => r.principal === 'root')!;
    assert.deepEqual(hunter.attacker_ips, ['198.51.100.1', '198.51.100.2']);
    assert.equal(hunter.target_count, 2);
    const admin = rows.find((r) => r.principal === 'admin')!;
    assert.deepEqual(admin.services, ['ftp', 'telnet']);
    assert.equal(admin.target_count, 2);
    // Once the profiler has the attackers, the record names their uuids too.
    const uuids = [await attackerUuidByIp(db, '198.51.100.1'), await attackerUuidByIp(db, '198.51.100.2')];
    await waitFor(async () => (await listCredentialReuse(db, { limit: 10 })).data.find((r) => r.principal === 'root')!.attacker_uuids.length === 2, 10_000, 'attacker uuids on the record');
    assert.deepEqual((await listCredentialReuse(db, { limit: 10 })).data.find((r) => r.principal === 'root')!.attacker_uuids, [...uuids].sort());

    // A restart announces nothing again.
    await correlator.stop();
    correlator = await runWorkers([{ def: reuse, config: { interval: 1 } }]);
    await settle();
    assert.equal(detections().length, 4);
  } finally {
    await correlator.stop();
    await pipeline.stop();
    await bus.close();
    await db.close();
    await box.cleanup();
  }
});

test('with min-sources 0 a single target tried from many IPs is no reuse; bad settings are refused', { timeout: 30_000 }, async () => {
  const box = sandbox();
  const bus = await listen([topics.credentialReuseDetected]);
  const run = await runWorkers([
    { def: ingester, config: { poll: 20 } },
    { def: reuse, config: { interval: 1, 'min-sources': 0 } },
  ]);
  try {
    writeEvents(box.decoyLog, [login('198.51.100.5', 'decky-a', 'ssh', 'pi', 'raspberry'), login('198.51.100.6', 'decky-a', 'ssh', 'pi', 'raspberry')]);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(bus.of(topics.credentialReuseDetected).length, 0);
  } finally {
    await run.stop();
  }
  const bad = await runWorkers([{ def: reuse, config: { 'min-sources': 1 } }]);
  try {
    await waitFor(() => bad.host.snapshot().workers[0].state === 'failed', 5000, 'the worker to refuse its settings');
    assert.match(bad.host.snapshot().workers[0].last_error ?? '', /--min-sources must be 0 \(off\) or at least 2/);
  } finally {
    await bad.stop();
    await bus.close();
    await box.cleanup();
  }
});
