// The operator's views, run as the CLI (from source) against a database filled by the real
// workers: attackers, attacker <ip>, credentials (--reuse), events, and events --follow live
// through a real broker and a standalone ingester.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import ingester from '../../src/pipeline/ingester-worker.ts';
import profiler from '../../src/intel/profiler/profiler-worker.ts';
import reuse from '../../src/intel/reuse/reuse-worker.ts';
import { listCredentialReuse } from '../../src/db/credentials/repo.ts';
import { getState } from '../../src/db/state/repo.ts';
import type { EventInput } from '../../src/pipeline/rfc5424.ts';
import { CLI_SOURCE, startProcess, stopProcess, testDirs, waitFor } from '../helpers/env.ts';
import { openTestDb, runWorkers, sandbox, writeEvents, type Sandbox } from './helpers.ts';

const T0 = Date.UTC(2024, 4, 2, 8, 0, 0);
let port = 30_000;
const e = (ip: string, s: number, over: Partial<EventInput> & { event: string }): EventInput => ({ ts: new Date(T0 + s * 1000).toISOString(), decky: 'web-1', service: 'ssh', src_ip: ip, src_port: port++, dst_ip: '192.0.2.5', dst_port: 22, ...over });

let box: Sandbox;
let events: string[];

before(async () => {
  box = sandbox('decnet-views-');
  events = writeEvents(box.decoyLog, [
    e('198.51.100.1', 0, { event: 'auth_attempt', fields: { username: 'root', success: false }, secret: 'toor' }),
    e('198.51.100.1', 1, { event: 'auth_attempt', decky: 'db-1', fields: { username: 'root', success: false }, secret: 'toor' }),
    e('198.51.100.1', 2, { event: 'auth_attempt', decky: 'db-1', fields: { username: 'root', success: true }, secret: '123456' }),
    e('198.51.100.1', 3, { event: 'command', decky: 'db-1', fields: { command: 'echo \x1b]0;pwned\x07 && cat /etc/shadow' } }),
    e('203.0.113.9', 4, { event: 'request', service: 'http', dst_port: 80, fields: { method: 'GET', path: '/', user_agent: 'curl/8.5.0' } }),
  ]);
  const run = await runWorkers([
    { def: ingester, config: { poll: 20 } },
    { def: profiler, config: { interval: 1 } },
    { def: reuse, config: { interval: 1 } },
  ]);
  const db = await openTestDb(box);
  try {
    await waitFor(async () => (await getState<{ last_log_id: number }>(db, 'profiler:cursor'))?.last_log_id === events.length, 15_000, 'the profiles');
    await waitFor(async () => (await listCredentialReuse(db)).total === 1, 10_000, 'the reuse record');
  } finally {
    await run.stop();
    await db.close();
  }
});

after(async () => {
  await box.cleanup();
});

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI_SOURCE, ...args], { env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('decnet attackers: a table, and JSON with the behaviour', () => {
  const r = cli(['attackers']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.match(lines[0], /^IP\s+FIRST SEEN\s+LAST SEEN\s+EVENTS\s+CREDS\s+CLASS\s+TOOLS\s+DECKIES\s+SERVICES$/);
  const intruder = lines.find((l) => l.startsWith('198.51.100.1 '))!;
  assert.match(intruder, /2024-05-02 08:00:00\s+2024-05-02 08:00:03\s+4\s+3\s+\S+\s+-\s+web-1 → db-1\s+ssh/);
  assert.match(lines.find((l) => l.startsWith('203.0.113.9 '))!, /\bcurl\b/);
  const json = JSON.parse(cli(['attackers', '--json', '--sort', 'active']).out);
  assert.equal(json.total, 2);
  assert.equal(json.data[0].ip, '198.51.100.1', 'most active first');
  assert.equal(json.data[0].behavior.phase_sequence[0].phase, 'credential_access');
  const bad = cli(['attackers', '--sort', 'loudest']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--sort must be one of recent, active, traversals/);
});

test('decnet attacker <ip>: the profile, with attacker text made harmless', () => {
  const r = cli(['attacker', '198.51.100.1']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^Attacker 198\.51\.100\.1 /);
  assert.match(r.out, /traversal\s+web-1 → db-1/);
  assert.match(r.out, /credential_access\s+2024-05-02 08:00:00\s+2024-05-02 08:00:02\s+3/);
  assert.match(r.out, /echo \\x1b\]0;pwned\\x07 && cat \/etc\/shadow/, 'escape sequences shown, not executed by the terminal');
  assert.ok(!r.out.includes('\x1b'), 'no raw escape reaches the terminal');
  assert.match(r.out, /db-1\s+ssh\s+root\s+123456\s+plaintext\s+1\s+success/);
  const missing = cli(['attacker', '192.0.2.200']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no attacker 192\.0\.2\.200 recorded/);
  const bad = cli(['attacker', 'not-an-ip']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /"not-an-ip" is not an IP address; usage: decnet attacker <ip>/);
});

test('decnet credentials, with filters and --reuse', () => {
  const r = cli(['credentials', '--attacker', '198.51.100.1']);
  assert.equal(r.code, 0, r.err);
  const rows = r.out.trim().split('\n').slice(1);
  assert.equal(rows.length, 3);
  assert.ok(rows.every((l) => l.includes('198.51.100.1')));
  const reused = cli(['credentials', '--reuse']);
  assert.equal(reused.code, 0, reused.err);
  assert.match(reused.out, /root\s+plaintext\s+sha256:[0-9a-f]{12}\s+2\s+1\s+2\s+db-1,web-1\s+ssh\s+198\.51\.100\.1/);
  const bad = cli(['credentials', '--attacker', '1.2.3']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /attacker_ip: "1\.2\.3" is not an IP address/);
});

test('decnet events: the last N, filtered, oldest first', () => {
  const r = cli(['events', '-n', '2', '--event', 'auth_attempt']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.match(lines[0], /^TIME\s+DECKY\s+SERVICE\s+EVENT\s+ATTACKER\s+DETAILS$/);
  assert.equal(lines.length, 3);
  assert.match(lines[1], /^2024-05-02 08:00:01\s+db-1\s+ssh\s+auth_attempt\s+198\.51\.100\.1\s+username=root success=false secret=…/);
  assert.match(lines[2], /^2024-05-02 08:00:02 /);
  assert.ok(!r.out.includes('toor') && !r.out.includes('123456'), 'secrets are not printed in the event stream');
  const bad = cli(['events', '--decky', 'a b']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--decky must be a name/);
});

test('decnet events --follow prints new matching events live', { timeout: 60_000 }, async () => {
  const dirs = testDirs('decnet-follow-');
  const env = { ...dirs.env, NO_COLOR: '1' };
  const broker = startProcess([CLI_SOURCE, 'bus', '--socket', dirs.socket], env);
  let ingest: ReturnType<typeof startProcess> | undefined;
  let follow: ReturnType<typeof startProcess> | undefined;
  try {
    await waitFor(() => existsSync(dirs.socket), 15_000, 'the broker');
    const log = join(dirs.env.DECNET_DATA_DIR!, 'events', 'decoy.log');
    writeEvents(log, [e('198.51.100.70', 0, { event: 'connect', fields: { k: 'old' } })]);
    ingest = startProcess([CLI_SOURCE, 'ingester', '--poll', '5000'], env);
    follow = startProcess([CLI_SOURCE, 'events', '--follow', '--attacker', '198.51.100.70', '--json'], env);
    await waitFor(() => follow!.output().includes('"k":"old"'), 20_000, 'the stored event printed first');
    const started = Date.now();
    writeEvents(log, [e('198.51.100.71', 1, { event: 'connect', fields: { k: 'other' } }), e('198.51.100.70', 2, { event: 'connect', fields: { k: 'new' } })]);
    await waitFor(() => follow!.output().includes('"k":"new"'), 10_000, `the new event; output so far: ${follow!.output()}`);
    // The ingester polls every 5 s: seeing the line sooner shows it came through inotify + the bus.
    assert.ok(Date.now() - started < 4000, `live, not polled (${Date.now() - started} ms)`);
    assert.ok(!follow.output().includes('"k":"other"'), 'the filter holds');
    const stopped = await stopProcess(follow, 'SIGINT');
    assert.equal(stopped.code, 0, follow.output());
  } finally {
    if (follow) await stopProcess(follow);
    if (ingest) await stopProcess(ingest);
    await stopProcess(broker);
    dirs.cleanup();
  }
});
