// The enrich worker end to end against local HTTP servers standing in for GreyNoise, AbuseIPDB,
// Feodo Tracker and ThreatFox: every attacker gets country and AS from the offline tables; the
// online providers are asked in parallel, a provider that hangs or fails does not hold up the
// others and keeps its columns empty, answers are cached for the TTL, each provider's rate limit
// is enforced, internal addresses are never sent out, and each enrichment is announced.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { privateData, startHost, waitFor } from './herd-harness.ts';
import { getAttacker, upsertAttacker } from '../../src/db/attackers/repo.ts';
import { getAttackerIntel } from '../../src/db/intel/repo.ts';

const data = privateData('decnet-enrich-');
const db = await data.db();

interface Hit {
  provider: string;
  ip: string;
  at: number;
  headers: IncomingMessage['headers'];
}

const hits: Hit[] = [];
let greynoiseMode: 'hang' | 'fail' | 'ok' = 'hang';
let server: Server;
let base = '';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (url.pathname.startsWith('/gn/')) {
        const ip = decodeURIComponent(url.pathname.slice(4));
        hits.push({ provider: 'greynoise', ip, at: Date.now(), headers: req.headers });
        if (greynoiseMode === 'hang') return; // never answers: the client's deadline must end it
        if (greynoiseMode === 'fail') return json(res, 503, { message: 'down' });
        if (ip === '1.1.1.1') return json(res, 404, { message: 'IP not observed scanning the internet' });
        return json(res, 200, { ip, noise: true, riot: false, classification: 'malicious', name: 'unknown', last_seen: '2026-05-01' });
      }
      if (url.pathname === '/abuse') {
        const ip = url.searchParams.get('ipAddress') ?? '';
        hits.push({ provider: 'abuseipdb', ip, at: Date.now(), headers: req.headers });
        const score = ip === '8.8.8.8' ? 90 : 10;
        return json(res, 200, { data: { ipAddress: ip, abuseConfidenceScore: score, totalReports: 3, reports: [{ categories: [18, 22] }, { categories: [14] }] } });
      }
      if (url.pathname === '/feodo.json') {
        hits.push({ provider: 'feodo', ip: '', at: Date.now(), headers: req.headers });
        return json(res, 200, [{ ip_address: '1.1.1.1', port: 443, status: 'online', malware: 'Emotet' }]);
      }
      if (url.pathname === '/tf') {
        const q = JSON.parse(body) as { query: string; search_term: string };
        hits.push({ provider: 'threatfox', ip: q.search_term, at: Date.now(), headers: req.headers });
        if (q.search_term === '8.8.8.8') return json(res, 200, { query_status: 'ok', data: [{ ioc: '8.8.8.8:443', threat_type: 'botnet_cc', ioc_type: 'ip:port', malware_printable: 'Cobalt Strike' }] });
        return json(res, 200, { query_status: 'no_result', data: 'Your search did not yield any results' });
      }
      json(res, 404, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(process.env, {
    DECNET_INTEL_PROVIDERS: 'greynoise,abuseipdb,feodo,threatfox',
    DECNET_GREYNOISE_URL: `${base}/gn/`,
    DECNET_ABUSEIPDB_URL: `${base}/abuse`,
    DECNET_ABUSEIPDB_KEY: 'test-abuse-key',
    DECNET_FEODO_URL: `${base}/feodo.json`,
    DECNET_THREATFOX_URL: `${base}/tf`,
    DECNET_THREATFOX_KEY: 'test-tf-key',
    DECNET_INTEL_TIMEOUT_MS: '400',
  });
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  data.cleanup();
});

const seenAt = '2026-05-01T00:00:00Z';
const count = (provider: string, ip?: string) => hits.filter((h) => h.provider === provider && (ip === undefined || h.ip === ip)).length;

test('geolocation, parallel providers, a hanging provider that blocks nobody, and the TTL cache', async () => {
  const google = await upsertAttacker(db, { ip: '8.8.8.8', first_seen: seenAt, last_seen: seenAt });
  const cf = await upsertAttacker(db, { ip: '1.1.1.1', first_seen: seenAt, last_seen: seenAt });
  const lan = await upsertAttacker(db, { ip: '10.9.8.7', first_seen: seenAt, last_seen: seenAt });
  // TTL 3.6 s: long enough to see the cache hold, short enough to see it expire.
  const t = await startHost('herd-test', [{ name: 'enrich', config: { 'poll-interval': 0.2, 'ttl-hours': 0.001 } }], ['attacker.intel.enriched']);
  try {
    // Offline: country and AS for public addresses, 'private' for the LAN one.
    await waitFor(async () => (await getAttacker(db, lan.uuid))?.country_source === 'private', 10_000, 'the LAN attacker to be classified');
    const g = await waitFor(async () => {
      const row = await getAttacker(db, google.uuid);
      return row?.asn ? row : undefined;
    }, 10_000, 'the geolocation of 8.8.8.8');
    assert.equal(g.country_code, 'US');
    assert.equal(g.as_name, 'Google LLC');
    assert.equal(g.bgp_prefix, '8.8.8.0/24');
    assert.equal(g.country_source, 'ip-location-db/geo-whois-asn-country');
    const geoEvent = await waitFor(() => t.seen.find((e) => e.payload.source === 'geo' && e.payload.attacker_ip === '10.9.8.7'), 5000, 'the geo announcement');
    assert.equal(geoEvent.payload.address_class, 'private');

    // Online: GreyNoise hangs, yet AbuseIPDB, Feodo and ThreatFox answers are stored within its deadline.
    const started = Date.now();
    const intel = await waitFor(async () => {
      const row = await getAttackerIntel(db, google.uuid);
      return row?.abuseipdb_score !== null && row?.abuseipdb_score !== undefined ? row : undefined;
    }, 10_000, 'the intel of 8.8.8.8');
    assert.ok(Date.now() - started < 5000, 'a hanging provider costs at most its timeout');
    assert.equal(intel.abuseipdb_score, 90);
    assert.deepEqual(intel.abuseipdb_categories, [14, 18, 22]);
    assert.equal(intel.threatfox_listed, true);
    assert.deepEqual(intel.threatfox_threat_types, ['botnet_cc']);
    assert.deepEqual(intel.threatfox_malware_families, ['Cobalt Strike']);
    assert.equal(intel.feodo_listed, false);
    assert.equal(intel.greynoise_classification, null, 'the hanging provider left its columns empty');
    assert.equal(intel.greynoise_queried_at, null);
    assert.equal(intel.aggregate_verdict, 'malicious');
    const cfIntel = await waitFor(() => getAttackerIntel(db, cf.uuid), 5000, 'the intel of 1.1.1.1');
    assert.equal(cfIntel.feodo_listed, true);
    assert.equal(cfIntel.feodo_malware_family, 'Emotet');
    assert.equal(cfIntel.aggregate_verdict, 'malicious', 'listed by Feodo');
    const announced = await waitFor(() => t.seen.find((e) => e.payload.source === 'intel' && e.payload.attacker_ip === '8.8.8.8'), 5000, 'attacker.intel.enriched');
    assert.equal(announced.payload.aggregate_verdict, 'malicious');
    assert.deepEqual([...(announced.payload.providers as string[])].sort(), ['abuseipdb', 'feodo', 'threatfox']);
    assert.equal(hits.find((h) => h.provider === 'abuseipdb')?.headers.key, 'test-abuse-key');
    assert.equal(hits.find((h) => h.provider === 'threatfox')?.headers['auth-key'], 'test-tf-key');
    assert.equal(count('abuseipdb', '10.9.8.7') + count('greynoise', '10.9.8.7') + count('threatfox', '10.9.8.7'), 0, 'an internal address is never sent out');
    assert.equal((await getAttackerIntel(db, lan.uuid))?.aggregate_verdict, 'unknown');

    // Cached for the TTL: wake-ups do not ask AbuseIPDB again...
    const asked = count('abuseipdb', '8.8.8.8');
    assert.equal(asked, 1);
    const cachedUntil = Date.parse(intel.cached_at) + 3600;
    for (let i = 0; i < 5; i++) t.bus.publish('attacker.observed', { attacker_ip: '8.8.8.8' });
    await new Promise((r) => setTimeout(r, Math.max(0, cachedUntil - Date.now() - 1500)));
    assert.equal(count('abuseipdb', '8.8.8.8'), 1, 'no repeat within the TTL');
    // ...and ask again once it expired.
    await waitFor(() => count('abuseipdb', '8.8.8.8') >= 2, 10_000, 'a new question after the TTL');
    assert.ok(hits.filter((h) => h.provider === 'abuseipdb' && h.ip === '8.8.8.8')[1]!.at >= cachedUntil - 50);
  } finally {
    await t.stop();
  }
});

test('a failing provider opens its circuit; a provider over its rate limit is deferred, not hammered', async () => {
  greynoiseMode = 'fail';
  hits.length = 0;
  Object.assign(process.env, { DECNET_ABUSEIPDB_RATE: '0.6', DECNET_ABUSEIPDB_BURST: '1', DECNET_INTEL_PROVIDERS: 'greynoise,abuseipdb' });
  const ips = ['9.9.9.9', '9.9.9.10', '9.9.9.11', '9.9.9.12', '9.9.9.13'];
  const rows: { ip: string; uuid: string }[] = [];
  for (const ip of ips) rows.push({ ip, uuid: (await upsertAttacker(db, { ip, first_seen: seenAt, last_seen: seenAt })).uuid });
  const t = await startHost('herd-test-2', [{ name: 'enrich', config: { 'poll-interval': 0.2, 'ttl-hours': 1 } }]);
  try {
    await waitFor(async () => {
      for (const r of rows) if (!(await getAttackerIntel(db, r.uuid))) return false;
      return true;
    }, 20_000, 'a verdict row for every new attacker');
    // One token, refilled at 0.6 a minute: exactly one AbuseIPDB question for the five addresses.
    assert.equal(ips.reduce((n, ip) => n + count('abuseipdb', ip), 0), 1);
    const answered: string[] = [];
    for (const r of rows) {
      const intel = (await getAttackerIntel(db, r.uuid))!;
      if (intel.abuseipdb_score !== null) answered.push(r.ip);
      else assert.ok(Date.parse(intel.expires_at) - Date.now() <= 5 * 60_000 + 1000, 'a deferred look-up is retried soon, not after the TTL');
    }
    assert.equal(answered.length, 1);
    // GreyNoise answered 503 three times in a row, then was paused instead of asked for every address.
    assert.ok(count('greynoise') >= 3 && count('greynoise') < ips.length + 3, `greynoise asked ${count('greynoise')} times`);
  } finally {
    await t.stop();
  }
});

test('a provider that needs a key refuses to start without one', async () => {
  const saved = process.env.DECNET_ABUSEIPDB_KEY;
  delete process.env.DECNET_ABUSEIPDB_KEY;
  process.env.DECNET_INTEL_PROVIDERS = 'abuseipdb';
  const t = await startHost('herd-test-3', [{ name: 'enrich' }]);
  try {
    const slot = await waitFor(() => t.host.snapshot().workers.find((w) => w.state === 'failed'), 5000, 'the worker to fail');
    assert.match(slot.last_error ?? '', /abuseipdb needs an API key: set DECNET_ABUSEIPDB_KEY/);
  } finally {
    await t.stop();
    process.env.DECNET_ABUSEIPDB_KEY = saved;
  }
});
