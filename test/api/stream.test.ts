// The live stream over real HTTP: single-use tickets, the per-user cap, bus events and log rows
// (with resume by Last-Event-ID and a search filter), and a reader that stops reading never
// holding up the others.
import { VIEWER_PASSWORD, apiEnv, startApi, waitFor, SseClient, type RunningApi } from './harness.ts';
const env = apiEnv({ DECNET_SSE_QUEUE: '64', DECNET_SSE_MAX_PER_USER: '3' });
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LocalBusConnection } from '../../src/bus/local.ts';
import type { Bus } from '../../src/bus/types.ts';
import type { Database } from '../../src/db/types.ts';

let api: RunningApi;
let bus: LocalBusConnection;
let publisher: Bus;
let db: Database;
const open: SseClient[] = [];

before(async () => {
  api = await startApi();
  const { openLocalBus } = await import('../../src/bus/local.ts');
  bus = openLocalBus();
  publisher = bus.member('test-publisher');
  const { sharedDatabase } = await import('../../src/db/connection.ts');
  db = await sharedDatabase();
});

after(async () => {
  for (const c of open) c.close();
  await bus.close();
  await api.stop();
  env.cleanup();
});

async function ticket(token = api.viewer): Promise<string> {
  const r = await api.client.post('/api/v1/stream/ticket', undefined, token);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.expires_in, 30);
  return r.body.ticket;
}

async function stream(query = '', headers: Record<string, string> = {}, token?: string): Promise<SseClient> {
  const t = await ticket(token);
  const c = await SseClient.open(`${api.base}api/v1/stream?ticket=${t}${query}`, headers);
  open.push(c);
  return c;
}

/** A user of its own, so that streams other tests leave open count against nobody else's cap. */
async function userToken(name: string): Promise<string> {
  const c = api.client;
  await c.call('POST', '/api/v1/config/users', { token: api.admin, body: { username: name, password: VIEWER_PASSWORD } });
  const first = await c.login(name, VIEWER_PASSWORD);
  await c.call('POST', '/api/v1/auth/change-password', { token: first, body: { old_password: VIEWER_PASSWORD, new_password: `${name} passphrase` } });
  return c.login(name, `${name} passphrase`);
}

test('a ticket works once; a missing, unknown or reused ticket is 401', async () => {
  const t = await ticket();
  const first = await SseClient.open(`${api.base}api/v1/stream?ticket=${t}&types=attacker`);
  open.push(first);
  assert.equal(first.status, 200);
  await waitFor(() => first.of('hello').length === 1, 3000, 'the hello event');
  assert.deepEqual(JSON.parse(first.of('hello')[0].data).types, ['attacker']);
  const again = await SseClient.open(`${api.base}api/v1/stream?ticket=${t}`);
  await waitFor(() => again.closed, 3000, 'the refused stream to end');
  assert.equal(again.status, 401);
  assert.match(JSON.parse(again.body).detail, /unknown, used or expired/);
  const none = await SseClient.open(`${api.base}api/v1/stream`);
  await waitFor(() => none.closed, 3000, 'the refused stream to end');
  assert.equal(none.status, 401);
  // a bearer token in the query is not a ticket
  const jwt = await SseClient.open(`${api.base}api/v1/stream?ticket=${encodeURIComponent(api.viewer)}`);
  await waitFor(() => jwt.closed, 3000, 'the refused stream to end');
  assert.ok([401, 422].includes(jwt.status));
  first.close();
});

test('a ticket dies with its user', async () => {
  const c = api.client;
  const made = await c.call('POST', '/api/v1/config/users', { token: api.admin, body: { username: 'shortlived', password: VIEWER_PASSWORD } });
  const first = await c.login('shortlived', VIEWER_PASSWORD);
  await c.call('POST', '/api/v1/auth/change-password', { token: first, body: { old_password: VIEWER_PASSWORD, new_password: 'shortlived passphrase' } });
  const token = await c.login('shortlived', 'shortlived passphrase');
  const t = await ticket(token);
  assert.equal((await c.call('DELETE', `/api/v1/config/users/${made.body.uuid}`, { token: api.admin })).status, 204);
  const s = await SseClient.open(`${api.base}api/v1/stream?ticket=${t}`);
  await waitFor(() => s.closed, 3000, 'the refused stream to end');
  assert.equal(s.status, 401);
});

test('bus events reach the streams that asked for their type', async () => {
  const attackers = await stream('&types=attacker');
  const health = await stream('&types=health,ttp');
  await waitFor(() => attackers.of('hello').length && health.of('hello').length, 3000, 'both streams');
  publisher.publish('attacker.scored', { attacker_ip: '192.0.2.7', event_count: 3 }, 'scored');
  publisher.publish('ttp.tagged', { attacker_uuid: 'x', tag_uuids: ['y'] }, 'tagged');
  const got = await waitFor(() => attackers.of('attacker')[0], 3000, 'the attacker event');
  const data = JSON.parse(got.data);
  assert.equal(data.topic, 'attacker.scored');
  assert.equal(data.payload.attacker_ip, '192.0.2.7');
  await waitFor(() => health.of('ttp').length === 1, 3000, 'the ttp event');
  assert.equal(attackers.of('ttp').length, 0);
  assert.equal(health.of('attacker').length, 0);
  attackers.close();
  health.close();
});

test('at most a few streams per user; closing one frees a slot', async () => {
  const capped = await userToken('capped');
  const mine: SseClient[] = [];
  for (let i = 0; i < 3; i++) mine.push(await stream('&types=health', {}, capped));
  assert.ok(mine.every((c) => c.status === 200));
  const over = await stream('&types=health', {}, capped);
  await waitFor(() => over.closed, 3000, 'the refused stream to end');
  assert.equal(over.status, 429);
  assert.match(JSON.parse(over.body).detail, /too many open streams/);
  const other = await stream('&types=health', {}, api.admin);
  assert.equal(other.status, 200, 'another user is not affected');
  mine[0].close();
  const again = await waitFor(async () => {
    const c = await stream('&types=health', {}, capped);
    return c.status === 200 ? c : undefined;
  }, 5000, 'a slot to free up');
  assert.equal(again.status, 200);
  for (const c of [...mine, other, again]) c.close();
});

test('log rows arrive with their ids, filtered by search, and Last-Event-ID resumes without a gap', async () => {
  const { appendLogs, maxLogId } = await import('../../src/db/logs/repo.ts');
  const all = await stream('&types=log');
  const ssh = await stream('&types=log&search=service:ssh');
  await waitFor(() => all.of('hello').length && ssh.of('hello').length, 3000, 'the streams');
  const row = (i: number, service: string) => ({ ts: new Date().toISOString(), decky: 'web-01', service, event_type: 'connect', attacker_ip: '192.0.2.9', raw_line: `line ${i} ${service} ${Math.random()}` });
  await appendLogs(db, [row(1, 'ssh'), row(2, 'http'), row(3, 'ssh')]);
  publisher.publish('system.log', { component: 'ingester', flushed: 3 }, 'batch_committed');
  await waitFor(() => all.of('log').length === 3, 5000, 'three log rows');
  await waitFor(() => ssh.of('log').length === 2, 5000, 'the two ssh rows');
  const rows = all.of('log').map((e) => ({ id: Number(e.id), row: JSON.parse(e.data) }));
  assert.deepEqual(rows.map((r) => r.id), rows.map((r) => r.row.id), 'the SSE id is the row id');
  assert.ok(ssh.of('log').every((e) => JSON.parse(e.data).service === 'ssh'));
  all.close();
  ssh.close();

  // rows written while nobody listened come back on reconnect, after the last id seen
  const lastSeen = rows[rows.length - 1].id;
  await appendLogs(db, [row(4, 'ssh'), row(5, 'ssh')]);
  const resumed = await stream('&types=log', { 'last-event-id': String(lastSeen) });
  await waitFor(() => resumed.of('log').length === 2, 5000, 'the missed rows');
  await appendLogs(db, [row(6, 'ssh')]);
  publisher.publish('system.log', { component: 'ingester', flushed: 1 }, 'batch_committed');
  await waitFor(() => resumed.of('log').length === 3, 5000, 'the live row after the missed ones');
  const got = resumed.of('log').map((e) => Number(e.id));
  assert.deepEqual(got, [lastSeen + 1, lastSeen + 2, await maxLogId(db)], 'in order, no gap, no duplicate');
  resumed.close();
  const bad = await stream('&types=log&search=%22unclosed');
  await waitFor(() => bad.closed, 3000, 'the refused stream');
  assert.equal(bad.status, 422);
});

test('a client that stops reading never delays the others; it loses the oldest events and is told so', { timeout: 30_000 }, async () => {
  const slow = await stream('&types=attacker', {}, await userToken('slowpoke'));
  const fast = await stream('&types=attacker', {}, await userToken('speedy'));
  await waitFor(() => slow.of('hello').length && fast.of('hello').length, 3000, 'the streams');
  slow.pause();
  const filler = 'x'.repeat(16 * 1024);
  const total = 1500; // ~24 MB: far more than socket buffers hold
  const started = Date.now();
  // Published in bursts the reading client can absorb (its queue holds 64 frames); the paused one
  // cannot take any of it once its socket buffers are full.
  for (let i = 0; i < total; i += 20) {
    for (let j = i; j < Math.min(total, i + 20); j++) publisher.publish('attacker.scored', { n: j, filler }, 'scored');
    await waitFor(() => fast.of('attacker').length >= Math.min(total, i + 20), 5_000, `the fast client to get event ${i + 19}`);
  }
  const elapsed = Date.now() - started;
  const seq = fast.of('attacker').map((e) => JSON.parse(e.data).payload.n);
  assert.deepEqual(seq.slice(0, 5), [0, 1, 2, 3, 4]);
  assert.equal(seq[total - 1], total - 1);
  assert.ok(slow.of('attacker').length < total / 2, `the slow client is far behind (${slow.of('attacker').length})`);
  // once it reads again it hears what it lost, then the newest events
  slow.resume();
  const dropped = await waitFor(() => slow.of('dropped')[0], 10_000, 'the dropped notice');
  assert.ok(JSON.parse(dropped.data).count > 0);
  await waitFor(() => slow.of('attacker').some((e) => JSON.parse(e.data).payload.n === total - 1), 10_000, 'the newest event at the slow client');
  const received = slow.of('attacker').length;
  assert.ok(received < total, `some events were dropped for the slow client (${received} of ${total})`);
  assert.ok(elapsed < 20_000);
  slow.close();
  fast.close();
});
