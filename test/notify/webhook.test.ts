// Webhooks against a real local receiver: signed deliveries the receiver verifies, exactly one
// delivery per matching subscription, retries with backoff and jitter, the circuit breaker, the
// SSRF guard (loopback refused unless allowed, also behind a host name), per-subscription rate
// limits and bounded queues, and reloads on system.webhook.subscriptions_changed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { privateData, startHost, waitFor, type TestHost } from '../intel/herd-harness.ts';
import { createWebhook, getWebhook, listWebhooks, deleteWebhook } from '../../src/db/webhooks/repo.ts';
import { deliverEvent } from '../../src/notify/webhook-deliver.ts';
import { canonicalJson, verifyWebhook } from '../../src/notify/webhook-sign.ts';

Object.assign(process.env, {
  DECNET_WEBHOOK_BACKOFF_MS: '40',
  DECNET_WEBHOOK_TIMEOUT_MS: '2000',
  DECNET_WEBHOOK_RELOAD_S: '600',
  DECNET_WEBHOOK_BURST: '2',
});
const data = privateData('decnet-webhook-');
const db = await data.db();

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

const received: Received[] = [];
/** Status codes to answer per path, in order; then 200. */
const script = new Map<string, number[]>();
let server: Server;
let base = '';

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body, at: Date.now() });
      const plan = script.get(path) ?? [];
      const status = plan.length > 0 ? plan.shift()! : 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

let host: TestHost | undefined;
after(async () => {
  await host?.stop();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  data.cleanup();
});

const at = (path: string) => received.filter((r) => r.path === path);
const SECRET = 'receiver-shared-secret-0123456789';

test('a receiver gets signed, canonical deliveries of the events it subscribed to, once each', async () => {
  const a = await createWebhook(db, { name: 'siem', url: `${base}/siem`, secret: SECRET, topic_patterns: ['attacker.*', 'ttp.>'], allow_private: true });
  // Overlapping patterns, within one subscription and across two: still one delivery each.
  await createWebhook(db, { name: 'overlap', url: `${base}/overlap`, secret: SECRET, topic_patterns: ['attacker.>', 'attacker.observed'], allow_private: true });
  host = await startHost('herd-webhook', [{ name: 'webhook' }], ['system.webhook.>']);
  await waitFor(() => {
    const hc = host!.host.snapshot().workers[0];
    return hc?.state === 'running';
  }, 5000, 'the worker to run');
  // The worker subscribes after reading the table: poll with a probe event until it is delivered.
  await waitFor(() => {
    host!.bus.publish('attacker.scored', { probe: true });
    return at('/siem').length > 0;
  }, 5000, 'the first delivery');
  const start = received.length;
  host.bus.publish('attacker.observed', { attacker_ip: '203.0.113.7', z: 1, a: { y: 2, b: [3, { d: 4, c: 5 }] } });
  host.bus.publish('ttp.tagged', { attacker_uuid: 'u-1', techniques_added: ['T1070.003'] });
  host.bus.publish('attacker.session.ended', { session_id: 's' }); // attacker.* does not match two tokens
  host.bus.publish('system.log', { rows: 3 }); // not subscribed at all
  await waitFor(() => at('/siem').filter((r) => r.body.includes('"ttp.tagged"')).length === 1 && at('/overlap').filter((r) => r.body.includes('session.ended')).length === 1, 5000, 'the deliveries');
  await new Promise((r) => setTimeout(r, 200)); // let any duplicate show up
  const notProbe = (r: Received) => !r.body.includes('"probe":true');
  const siem = received.slice(start).filter((r) => r.path === '/siem' && notProbe(r));
  assert.deepEqual(siem.map((r) => (JSON.parse(r.body) as { topic: string }).topic), ['attacker.observed', 'ttp.tagged']);
  const overlap = received.slice(start).filter((r) => r.path === '/overlap' && notProbe(r));
  assert.deepEqual(overlap.map((r) => (JSON.parse(r.body) as { topic: string }).topic), ['attacker.observed', 'attacker.session.ended']);

  for (const r of [...siem, ...overlap]) {
    assert.ok(verifyWebhook(SECRET, r.headers['x-decnet-timestamp'] as string, r.body, r.headers['x-decnet-signature'] as string), 'the signature verifies');
    assert.ok(!verifyWebhook('another-secret-000000', r.headers['x-decnet-timestamp'] as string, r.body, r.headers['x-decnet-signature'] as string), 'not with another secret');
    assert.ok(!verifyWebhook(SECRET, r.headers['x-decnet-timestamp'] as string, r.body.replace('"v":1', '"v":2'), r.headers['x-decnet-signature'] as string), 'not over another body');
    assert.ok(!verifyWebhook(SECRET, String(Number(r.headers['x-decnet-timestamp']) - 1), r.body, r.headers['x-decnet-signature'] as string), 'the timestamp is signed too');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['user-agent'], 'decnet-webhook/1.0');
    const body = JSON.parse(r.body) as { id: string; topic: string; ts: string; v: number };
    assert.equal(r.headers['x-decnet-event-id'], body.id);
    assert.equal(r.headers['x-decnet-event-topic'], body.topic);
    assert.match(body.ts, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(body.v, 1);
    assert.equal(r.body, canonicalJson(JSON.parse(r.body)), 'keys are sorted at every level');
  }
  assert.ok(siem[0]!.body.includes('"a":{"b":[3,{"c":5,"d":4}],"y":2}'));
  assert.ok((await getWebhook(db, a.uuid))?.last_success_at, 'the success is recorded');
});

test('transient failures are retried with growing, jittered delays; a 4xx is not retried', async () => {
  script.set('/flaky', [503, 429, 500]);
  const target = { url: `${base}/flaky`, secret: SECRET, policy: { allowInternal: true } };
  const event = { id: 'e-1', topic: 'attacker.observed', type: 'event', ts: Date.now(), payload: { n: 1 } };
  const result = await deliverEvent(target, event, { attempts: 4, baseDelayMs: 100, timeoutMs: 2000 });
  assert.equal(result.delivered, true);
  assert.equal(result.attempts, 4);
  const times = at('/flaky').map((r) => r.at);
  assert.equal(times.length, 4);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  // 100, 200, 400 ms, each ×[0.8, 1.2)
  [100, 200, 400].forEach((base, i) => {
    assert.ok(gaps[i]! >= base * 0.8 - 5 && gaps[i]! < base * 1.2 + 150, `gap ${i}: ${gaps[i]} ms for ${base} ms`);
  });
  // Each attempt is signed afresh and verifies.
  for (const r of at('/flaky')) assert.ok(verifyWebhook(SECRET, r.headers['x-decnet-timestamp'] as string, r.body, r.headers['x-decnet-signature'] as string));

  script.set('/gone', [404]);
  const gone = await deliverEvent({ ...target, url: `${base}/gone` }, event, { attempts: 4, baseDelayMs: 10, timeoutMs: 2000 });
  assert.deepEqual([gone.delivered, gone.attempts, gone.status, gone.error], [false, 1, 404, 'HTTP 404']);
  script.set('/moved', [302]);
  const moved = await deliverEvent({ ...target, url: `${base}/moved` }, event, { attempts: 4, baseDelayMs: 10, timeoutMs: 2000 });
  assert.equal(moved.attempts, 1);
  assert.match(moved.error ?? '', /redirects are not followed/);
  script.set('/down', [500, 500]);
  const down = await deliverEvent({ ...target, url: `${base}/down` }, event, { attempts: 2, baseDelayMs: 10, timeoutMs: 2000 });
  assert.deepEqual([down.delivered, down.attempts, down.error], [false, 2, 'HTTP 500']);
});

test('loopback, link-local and other internal destinations are refused unless allowed', async () => {
  const event = { id: 'e-2', topic: 'attacker.observed', type: 'event', ts: Date.now(), payload: {} };
  const port = (server.address() as AddressInfo).port;
  const before = received.length;
  for (const url of [`${base}/ssrf`, `http://localhost:${port}/ssrf`, `http://[::1]:${port}/ssrf`, 'http://169.254.169.254/latest/meta-data/', 'http://0.0.0.0:9/x', 'http://10.0.0.1/x', 'http://[::ffff:127.0.0.1]:9/x']) {
    const r = await deliverEvent({ url, secret: SECRET, policy: { allowInternal: false } }, event, { attempts: 3, baseDelayMs: 10, timeoutMs: 2000 });
    assert.equal(r.delivered, false, url);
    assert.equal(r.attempts, 1, `${url}: a refused destination is not retried`);
    assert.match(r.error ?? '', /webhooks may not connect there/, url);
  }
  // Even when allowed, an unspecified address is never a destination.
  const zero = await deliverEvent({ url: 'http://0.0.0.0:9/x', secret: SECRET, policy: { allowInternal: true } }, event, { attempts: 1, baseDelayMs: 10, timeoutMs: 2000 });
  assert.match(zero.error ?? '', /unspecified/);
  const bad = await deliverEvent({ url: 'ftp://example.org/x', secret: SECRET, policy: { allowInternal: true } }, event, { attempts: 1, baseDelayMs: 10, timeoutMs: 2000 });
  assert.match(bad.error ?? '', /ftp: URLs are not allowed/);
  assert.equal(received.length, before, 'nothing reached the receiver');
  // Allowed by the operator: 'localhost' is resolved at connect time and the checked address is used.
  const ok = await deliverEvent({ url: `http://localhost:${port}/ssrf`, secret: SECRET, policy: { allowInternal: true } }, event, { attempts: 1, baseDelayMs: 10, timeoutMs: 2000 });
  assert.equal(ok.delivered, true, ok.error);
  assert.equal(at('/ssrf')[0]?.headers.host, `localhost:${port}`, 'the Host header keeps the name');
});

test('after five failed deliveries in a row the subscription is disabled and stays so', async () => {
  script.set('/broken', new Array(100).fill(500));
  const hook = await createWebhook(db, { name: 'broken', url: `${base}/broken`, secret: SECRET, topic_patterns: ['campaign.>'], allow_private: true });
  host!.bus.publish('system.webhook.subscriptions_changed', { reason: 'test' });
  await waitFor(() => {
    host!.bus.publish('campaign.formed', { probe: true });
    return at('/broken').length > 0;
  }, 5000, 'the worker to pick up the new subscription');
  for (let i = 0; i < 8; i++) host!.bus.publish('campaign.formed', { n: i });
  const row = await waitFor(async () => {
    const r = await getWebhook(db, hook.uuid);
    return r && !r.enabled ? r : undefined;
  }, 15_000, 'the circuit to open');
  assert.ok(row.consecutive_failures >= 5);
  assert.ok(row.auto_disabled_at);
  assert.equal(row.last_error, 'HTTP 500');
  const changed = await waitFor(() => host!.seen.find((e) => e.topic === 'system.webhook.subscriptions_changed' && e.payload.reason === 'circuit_open'), 5000, 'the announcement');
  assert.equal(changed.payload.uuid, hook.uuid);
  // 4 attempts per failed delivery, 5 deliveries: no more once disabled.
  const count = at('/broken').length;
  assert.ok(count <= 5 * 4 + 4, `${count} requests`);
  host!.bus.publish('campaign.formed', { after: true });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(at('/broken').length, count, 'a disabled subscription gets nothing');
});

async function quiet(path: string, ms: number): Promise<void> {
  let last = at(path).length;
  let since = Date.now();
  await waitFor(() => {
    if (at(path).length !== last) {
      last = at(path).length;
      since = Date.now();
    }
    return Date.now() - since >= ms;
  }, 10_000, `${path} to go quiet`);
}

const ns = (path: string) => at(path).map((r) => (JSON.parse(r.body) as { payload: { n?: number } }).payload.n).filter((n) => n !== undefined);

test('each subscription is rate limited, and its queue drops the oldest events when full', async () => {
  process.env.DECNET_WEBHOOK_QUEUE = '3';
  await host?.stop();
  host = await startHost('herd-webhook-2', [{ name: 'webhook' }]);
  // 600 a minute = one every 100 ms, burst 2 (DECNET_WEBHOOK_BURST).
  await createWebhook(db, { name: 'limited', url: `${base}/limited`, secret: SECRET, topic_patterns: ['identity.formed'], allow_private: true, rate_per_minute: 600 });
  await waitFor(() => {
    host!.bus.publish('identity.formed', { probe: true });
    return at('/limited').length > 0;
  }, 5000, 'the limited subscription');
  await quiet('/limited', 400); // the probes drain and the bucket refills
  for (let i = 0; i < 3; i++) host.bus.publish('identity.formed', { n: i });
  await waitFor(() => ns('/limited').length === 3, 5000, 'three deliveries');
  const times = at('/limited').slice(-3).map((r) => r.at);
  // Two tokens in the bucket: the first two go at once; the third waits for the refill (100 ms).
  assert.ok(times[2]! - times[0]! >= 100 * 0.9, `the third waits for a token (${times[2]! - times[0]!} ms after the first)`);

  // 120 a minute, a queue of 3: six events at once keep only the newest three.
  await createWebhook(db, { name: 'slow', url: `${base}/slow`, secret: SECRET, topic_patterns: ['attribution.>'], allow_private: true, rate_per_minute: 120 });
  host.bus.publish('system.webhook.subscriptions_changed', {});
  await waitFor(() => {
    host!.bus.publish('attribution.profile.state_changed', { probe: true });
    return at('/slow').length > 0;
  }, 5000, 'the slow subscription');
  await quiet('/slow', 800);
  for (let i = 0; i < 8; i++) host.bus.publish('attribution.profile.state_changed', { n: i });
  await waitFor(() => ns('/slow').includes(7), 10_000, 'the newest event');
  await quiet('/slow', 700);
  const got = ns('/slow');
  assert.ok(got.length <= 3 + 2, `at most the burst and the queue: ${got.join(',')}`);
  assert.deepEqual(got.slice(-3), [5, 6, 7], 'the newest survive; the oldest were dropped');
  assert.ok(!got.includes(2) && !got.includes(3) && !got.includes(4), `dropped ones never arrive: ${got.join(',')}`);
});

test('decnet webhook add, list, test, enable and remove', async () => {
  const { execFile } = await import('node:child_process');
  const { CLI_SOURCE } = await import('../helpers/env.ts');
  const env = { ...process.env, DECNET_BUS_URL: `unix:${data.dir}/no-broker.sock`, DECNET_LOG_LEVEL: 'error' };
  // Asynchronous: the receiver runs in this process and must keep answering while the CLI runs.
  const cli = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI_SOURCE, 'webhook', ...args], { env, encoding: 'utf8' }, (err, stdout, stderr) => {
        resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });

  const refused = await cli('add', '--url', `${base}/cli`, '--events', 'attacker.*,ttp.>');
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /loopback address .*\(allow internal destinations with --allow-private/);
  const badPattern = await cli('add', '--url', `${base}/cli`, '--events', 'ttp.>.x', '--allow-private');
  assert.equal(badPattern.status, 2);
  assert.match(badPattern.stderr, /'>' must be the last token/);

  const added = await cli('add', '--url', `${base}/cli`, '--events', 'attacker.*,ttp.>', '--allow-private', '--name', 'cli-hook');
  assert.equal(added.status, 0, added.stderr);
  const secret = /signing secret \(shown once[^:]*\): (\S+)/.exec(added.stdout)?.[1];
  assert.ok(secret && secret.length >= 32, added.stdout);
  assert.match(added.stderr, /bus is not reachable/);
  const id = /\(([0-9a-f-]{36})\)/.exec(added.stdout)![1]!;

  const listed = await cli('list', '--json');
  assert.equal(listed.status, 0, listed.stderr);
  const rows = JSON.parse(listed.stdout) as { uuid: string; name: string; secret?: string; topic_patterns: string[] }[];
  const mine = rows.find((r) => r.uuid === id)!;
  assert.deepEqual(mine.topic_patterns, ['attacker.*', 'ttp.>']);
  assert.ok(!listed.stdout.includes(secret!) && !('secret' in mine), 'the secret is never listed');
  const table = await cli('list');
  assert.match(table.stdout, /cli-hook/);
  assert.ok(!table.stdout.includes(secret!));

  const tested = await cli('test', 'cli-hook');
  assert.equal(tested.status, 0, tested.stderr);
  assert.match(tested.stdout, /delivered a signed test event .*: HTTP 200/);
  const ping = at('/cli').at(-1)!;
  assert.ok(verifyWebhook(secret!, ping.headers['x-decnet-timestamp'] as string, ping.body, ping.headers['x-decnet-signature'] as string), 'the printed secret verifies the test delivery');
  assert.equal((JSON.parse(ping.body) as { type: string }).type, 'test.ping');

  script.set('/cli', [500]);
  const failing = await cli('test', id);
  assert.equal(failing.status, 1);
  assert.match(failing.stdout, /failed: HTTP 500/);

  const enabled = await cli('enable', id);
  assert.equal(enabled.status, 0, enabled.stderr);
  const removed = await cli('remove', 'cli-hook');
  assert.equal(removed.status, 0, removed.stderr);
  assert.equal((await listWebhooks(db)).some((w) => w.uuid === id), false);
  const unknown = await cli('remove', 'cli-hook');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /no webhook subscription "cli-hook"/);
  void deleteWebhook;
});
