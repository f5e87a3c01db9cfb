// The ingester worker on real input: traffic from a real SSH client against a real decoy, and
// lines written with the real formatter through rotation, truncation, malformed and hostile lines.
// Everything it stores is checked in the database; what it announces is checked on the bus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import ssh2, { type AnyAuthMethod } from 'ssh2';
import { sql } from 'kysely';
import ingester from '../../src/pipeline/ingester-worker.ts';
import { topics } from '../../src/bus/topics.ts';
import { listCredentials } from '../../src/db/credentials/repo.ts';
import { bountiesForIps } from '../../src/db/bounty/repo.ts';
import { countLogs, listLogs } from '../../src/db/logs/repo.ts';
import { deleteState } from '../../src/db/state/repo.ts';
import { tailStateKey } from '../../src/pipeline/ingester-worker.ts';
import type { Database } from '../../src/db/types.ts';
import { startTestDecky } from '../deckies/harness.ts';
import { waitFor } from '../helpers/env.ts';
import { ev, listen, openTestDb, runWorkers, sandbox, writeEvents } from './helpers.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function distinctRawLines(db: Database): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(distinct raw_line) as n from logs`.execute(db.kysely);
  return Number(rows[0].n);
}

test('real SSH traffic: every decoy event stored once, credentials and HASSH extracted, announced without secrets', { timeout: 60_000 }, async () => {
  const box = sandbox();
  const decky = await startTestDecky({ services: [{ name: 'ssh', config: { fail_delay_ms: '0' } }] });
  const bus = await listen([topics.credentialCaptured, topics.systemLog, topics.attackerSessionEnded]);
  const run = await runWorkers([{ def: ingester, config: { logs: [decky.eventLogPath], poll: 50 } }]);
  const db = await openTestDb(box);
  try {
    const tries: AnyAuthMethod[] = ['wrong-1', 'wrong-2', 'admin'].map((password) => ({ type: 'password', username: 'root', password }));
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({
        host: decky.ip,
        port: decky.port('ssh'),
        readyTimeout: 10_000,
        username: 'root',
        authHandler: (_left, _partial, next) => next(tries.shift()!),
      });
    });
    await new Promise<void>((resolve, reject) =>
      client.exec('uname -a; id', (err, stream) => {
        if (err) return reject(err);
        stream.resume();
        stream.stderr.resume();
        stream.on('close', () => resolve());
      }),
    );
    client.end();
    await decky.waitForEvent((e) => e.event === 'disconnect');
    const written = await decky.events();
    await waitFor(async () => (await countLogs(db)) === written.length, 15_000, `all ${written.length} decoy events in the database`);
    assert.equal(await distinctRawLines(db), written.length, 'each event line stored once');

    const creds = await listCredentials(db, { limit: 10 });
    const bySecret = new Map(creds.data.map((c) => [c.secret_printable, c]));
    assert.deepEqual([...bySecret.keys()].sort(), ['admin', 'wrong-1', 'wrong-2']);
    assert.equal(bySecret.get('admin')!.outcome, 'success');
    assert.equal(bySecret.get('wrong-1')!.outcome, 'failure');
    assert.equal(bySecret.get('admin')!.principal, 'root');
    assert.equal(bySecret.get('admin')!.secret_sha256, sha256('admin'));
    assert.equal(bySecret.get('admin')!.decky_name, decky.name);

    const attacker = written.find((e) => e.event === 'auth_attempt')!.src_ip;
    const fps = await bountiesForIps(db, [attacker], 'fingerprint');
    const hello = written.find((e) => e.event === 'client_hello')!;
    const types = fps.map((f) => (f.payload as { fingerprint_type: string }).fingerprint_type).sort();
    assert.deepEqual(types, ['client_version', 'hassh']);
    const hassh = fps.find((f) => (f.payload as { fingerprint_type: string }).fingerprint_type === 'hassh')!.payload as { value: string; client_version: string };
    assert.equal(hassh.value, hello.fields.hassh);
    assert.match(hassh.client_version, /^SSH-2\.0-ssh2js/);

    await waitFor(() => bus.of(topics.credentialCaptured).length === 3 && bus.of(topics.attackerSessionEnded).length === 1, 5000, 'the announcements');
    for (const e of bus.of(topics.credentialCaptured)) {
      const text = JSON.stringify(e.payload);
      assert.ok(!/wrong-1|wrong-2|admin/.test(text), `no plaintext on the bus: ${text}`);
      assert.equal(e.payload.attacker_ip, attacker);
    }
    assert.deepEqual(bus.of(topics.credentialCaptured).map((e) => e.payload.secret_sha256).sort(), ['admin', 'wrong-1', 'wrong-2'].map(sha256).sort());
    const session = bus.of(topics.attackerSessionEnded)[0].payload as { commands: { command_text: string }[]; attacker_ip: string; decky_id: string; duration_s: number };
    assert.equal(session.attacker_ip, attacker);
    assert.equal(session.decky_id, decky.name);
    assert.ok(session.commands.some((c) => c.command_text.includes('uname -a')), JSON.stringify(session.commands));
    assert.ok(session.duration_s >= 0);
    const batches = bus.of(topics.systemLog).filter((e) => e.payload.component === 'ingester');
    assert.equal(batches.reduce((n, e) => n + (e.payload.flushed as number), 0), written.length);
    assert.equal(batches[0].type, 'batch_committed');
  } finally {
    await run.stop();
    await bus.close();
    await db.close();
    await decky.stop();
    await box.cleanup();
  }
});

test('rotation and truncation while running: every line exactly once', { timeout: 60_000 }, async () => {
  const box = sandbox();
  const run = await runWorkers([{ def: ingester, config: { logs: [box.decoyLog], poll: 20, batch: 50 } }]);
  const db = await openTestDb(box);
  try {
    let n = 0;
    const batch = (path: string, count: number) => writeEvents(path, Array.from({ length: count }, () => ev({ event: 'connect', fields: { n: n++ } })));
    batch(box.decoyLog, 120);
    await waitFor(async () => (await countLogs(db)) === 120, 10_000, 'the first lines');
    // logrotate "create": rename, new file; the writer keeps appending to the old one for a moment.
    batch(box.decoyLog, 30);
    renameSync(box.decoyLog, `${box.decoyLog}.1`);
    batch(`${box.decoyLog}.1`, 10);
    batch(box.decoyLog, 40);
    batch(`${box.decoyLog}.1`, 5);
    await waitFor(async () => (await countLogs(db)) === 205, 10_000, 'lines of both files');
    // logrotate "copytruncate": the file is copied away and emptied in place.
    truncateSync(box.decoyLog, 0);
    batch(box.decoyLog, 25);
    await waitFor(async () => (await countLogs(db)) === 230, 10_000, 'lines after the truncation');
    assert.equal(await distinctRawLines(db), 230);
    const stored = (await listLogs(db, { limit: 1000 })).data.map((r) => Number(r.fields.n)).sort((a, b) => a - b);
    assert.deepEqual(stored, Array.from({ length: 230 }, (_, i) => i), 'no line lost, none twice');
  } finally {
    await run.stop();
    await db.close();
    await box.cleanup();
  }
});

test('malformed, foreign, over-long and invalid lines are counted and skipped without blocking the stream', { timeout: 30_000 }, async () => {
  const box = sandbox();
  const health = await listen([topics.workerHealth('ingester')]);
  const run = await runWorkers([{ def: ingester, config: { logs: [box.decoyLog], poll: 20 } }], { healthIntervalMs: 100 });
  const db = await openTestDb(box);
  try {
    const good = writeEvents(box.decoyLog, [ev({ event: 'connect', fields: { k: 'first' } })]);
    appendFileSync(box.decoyLog, 'garbage without structure\n');
    appendFileSync(box.decoyLog, '<13>1 2024-05-01T00:00:00Z host app - - - a foreign syslog line\n');
    appendFileSync(box.decoyLog, `${'A'.repeat(70_000)}\n`);
    // A valid line whose decky name breaks the database's naming rules: kept, without the decky column.
    good.push(...writeEvents(box.decoyLog, [ev({ event: 'connect', decky: 'd'.repeat(200), fields: { k: 'long-decky' } })]));
    good.push(...writeEvents(box.decoyLog, [ev({ event: 'auth_attempt', fields: { username: 'u' }, secret: 'p' }), ev({ event: 'connect', fields: { k: 'last' } })]));
    await waitFor(async () => (await countLogs(db)) === good.length, 10_000, 'the valid lines');
    const longDecky = (await listLogs(db, { search: 'k:long-decky' })).data[0];
    assert.equal(longDecky.decky, null);
    assert.ok(longDecky.raw_line.includes('d'.repeat(200)), 'the raw line keeps it');
    const latest = () => health.of(topics.workerHealth('ingester')).at(-1)?.payload as Record<string, number> | undefined;
    await waitFor(() => latest()?.oversize === 1 && latest()?.malformed === 2 && latest()?.inserted === good.length, 5000, `health counters, got ${JSON.stringify(latest())}`);
    assert.equal(latest()!.rejected, 0);
    assert.equal(latest()!.credentials, 1);
    assert.equal(run.host.snapshot().workers[0].state, 'running');
  } finally {
    await run.stop();
    await health.close();
    await db.close();
    await box.cleanup();
  }
});

test('identical lines at different offsets are two events; re-reading a log from scratch stores nothing twice', { timeout: 30_000 }, async () => {
  const box = sandbox();
  const db = await openTestDb(box);
  const line = writeEvents(box.decoyLog, [ev({ ts: '2024-05-01T00:00:00.000Z', event: 'query', service: 'dns', src_port: 5353, fields: { qname: 'x.example' } })])[0];
  appendFileSync(box.decoyLog, `${line}\n`);
  let run = await runWorkers([{ def: ingester, config: { logs: [box.decoyLog], poll: 20 } }]);
  try {
    await waitFor(async () => (await countLogs(db)) === 2, 10_000, 'both copies');
    await run.stop();
    // Forget the position: the whole file is read again.
    assert.equal(await deleteState(db, tailStateKey(box.decoyLog)), true);
    writeEvents(box.decoyLog, [ev({ event: 'connect' })]);
    run = await runWorkers([{ def: ingester, config: { logs: [box.decoyLog], poll: 20 } }]);
    await waitFor(async () => (await countLogs(db)) === 3, 10_000, 'the new line');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await countLogs(db), 3);
    assert.equal(readFileSync(box.decoyLog, 'utf8').trim().split('\n').length, 3);
  } finally {
    await run.stop();
    await db.close();
    await box.cleanup();
  }
});

test('a position saved for another path is not reused; an empty log is created lazily', { timeout: 20_000 }, async () => {
  const box = sandbox();
  writeFileSync(box.decoyLog, '');
  const run = await runWorkers([{ def: ingester, config: { logs: [box.decoyLog], poll: 20 } }]);
  const db = await openTestDb(box);
  try {
    writeEvents(box.decoyLog, [ev({ event: 'connect' })]);
    await waitFor(async () => (await countLogs(db)) === 1, 10_000, 'the line');
  } finally {
    await run.stop();
    await db.close();
    await box.cleanup();
  }
});
