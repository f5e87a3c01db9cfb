// The `enrich` worker. Two passes, woken by attacker.observed / attacker.scored and a slow tick:
//   1. geolocation: every attacker without a country/AS gets one from the offline ip-location-db
//      tables (loaded on first use, released when idle); special-purpose addresses get 'private';
//   2. threat intel (only when online providers are configured): attackers without a verdict, or
//      whose verdict expired, are looked up with every provider in parallel. Each provider has its
//      own TTL cache (its *_queried_at column), token bucket and circuit breaker; one that fails
//      or is rate-limited keeps its previous columns and is retried sooner, and never holds up the
//      others beyond its timeout.
// Each enriched attacker is announced on attacker.intel.enriched.
import { defineWorker, type WorkerContext } from '../../fleet/worker.ts';
import { topics } from '../../bus/topics.ts';
import { ConfigError, errorMessage } from '../../core/errors.ts';
import { TokenBucket } from '../../core/token-bucket.ts';
import { classifyAddress } from '../../core/special-addresses.ts';
import type { Db } from '../../db/types.ts';
import type { IntelRow, Verdict } from '../../db/intel/repo.ts';
import { Waker } from '../wake.ts';
import { GeoIndex, PRIVATE_SOURCE } from './geo.ts';
import { PROVIDER_COLUMNS, createProvider, providerSettingsFromEnv, storedVerdict, strongestVerdict, type IntelProvider, type ProviderName } from './providers.ts';

export const WAKE_PATTERNS = [topics.attackerObserved, topics.attackerScored] as const;

const GEO_BATCH = 500;
/** How long one look-up may wait for its provider's rate limit before it is deferred. */
const MAX_TOKEN_WAIT_MS = 2000;
/** A failed or deferred provider is asked again after this long (or the TTL, if shorter). */
const RETRY_MS = 5 * 60_000;
/** Consecutive failures that open a provider's circuit, and its first and longest cool-down. */
const BREAKER_FAILURES = 3;
const BREAKER_MIN_MS = 60_000;
const BREAKER_MAX_MS = 15 * 60_000;
/** Attackers looked up at once with the online providers. */
const CONCURRENCY = 4;

export interface EnrichConfig {
  pollMs: number;
  ttlMs: number;
  batch: number;
}

function numberOption(config: Readonly<Record<string, unknown>>, key: string, fallback: number, min: number, max: number): number {
  const raw = config[key];
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(`enrich: --${key} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

export function enrichConfig(config: Readonly<Record<string, unknown>>): EnrichConfig {
  return {
    pollMs: numberOption(config, 'poll-interval', 60, 0.05, 86_400) * 1000,
    ttlMs: Math.round(numberOption(config, 'ttl-hours', 24, 0.0001, 24 * 366) * 3_600_000),
    batch: Math.floor(numberOption(config, 'batch', 50, 1, 1000)),
  };
}

type Outcome =
  | { kind: 'ok'; columns: Record<string, unknown>; verdict: Verdict | null }
  | { kind: 'cached' | 'deferred' | 'failed'; error?: string };

interface ProviderState {
  provider: IntelProvider;
  bucket: TokenBucket;
  failures: number;
  openUntil: number;
  counts: { ok: number; cached: number; deferred: number; failed: number };
  lastError?: string;
}

export default defineWorker({
  name: 'enrich',
  summary: 'country and AS of every attacker (offline data) and optional threat-intel look-ups',
  async run(ctx: WorkerContext) {
    const cfg = enrichConfig(ctx.config);
    const settings = providerSettingsFromEnv();
    const geo = new GeoIndex();
    const providers: ProviderState[] = [];
    for (const s of settings) {
      providers.push({ provider: await createProvider(s), bucket: new TokenBucket(s.ratePerSec, s.burst), failures: 0, openUntil: 0, counts: { ok: 0, cached: 0, deferred: 0, failed: 0 } });
    }
    const db = (await ctx.db()) as Db;
    const { listAttackersWithoutGeo, setAttackerGeo } = await import('../../db/attackers/repo.ts');
    const intelRepo = providers.length > 0 ? await import('../../db/intel/repo.ts') : undefined;

    const waker = new Waker(ctx.bus, WAKE_PATTERNS, ctx.signal);
    const stats = { geo_located: 0, geo_private: 0, intel_enriched: 0, errors: 0 };
    ctx.health(() => ({
      ...stats,
      geo: geo.snapshot(),
      providers: Object.fromEntries(providers.map((p) => [p.provider.settings.name, { ...p.counts, circuit_open: p.openUntil > Date.now(), last_error: p.lastError ?? null }])),
    }));
    ctx.log.info('enriching attackers', { geo: geo.enabled, providers: settings.map((s) => s.name) });

    async function geoPass(): Promise<number> {
      if (!geo.enabled) return 0;
      const rows = await listAttackersWithoutGeo(db, GEO_BATCH);
      for (const r of rows) {
        if (ctx.signal.aborted) break;
        const res = await geo.lookup(r.ip);
        let update;
        if (!res || res.kind === 'private') {
          update = { country_code: null, country_source: PRIVATE_SOURCE, asn: null, as_name: null, bgp_prefix: null, asn_source: PRIVATE_SOURCE };
          stats.geo_private++;
        } else {
          update = { ...res.answer, country_source: geo.countrySource, asn_source: geo.asnSource };
          stats.geo_located++;
        }
        await setAttackerGeo(db, r.uuid, update);
        ctx.bus.publish(topics.attackerIntelEnriched, { source: 'geo', attacker_uuid: r.uuid, attacker_ip: r.ip, address_class: res?.kind === 'private' ? res.class : res ? 'public' : 'invalid', ...update });
      }
      return rows.length;
    }

    async function ask(p: ProviderState, ip: string, existing: IntelRow | undefined, now: number): Promise<Outcome> {
      const name = p.provider.settings.name;
      const queried = existing?.[`${name}_queried_at` as keyof IntelRow];
      if (typeof queried === 'string' && now - Date.parse(queried) < cfg.ttlMs) {
        p.counts.cached++;
        return { kind: 'cached' };
      }
      if (p.openUntil > now || !(await p.bucket.take(MAX_TOKEN_WAIT_MS, ctx.signal))) {
        p.counts.deferred++;
        return { kind: 'deferred' };
      }
      try {
        const answer = await p.provider.query(ip, ctx.signal);
        p.failures = 0;
        p.counts.ok++;
        return { kind: 'ok', ...answer };
      } catch (err) {
        p.failures++;
        p.counts.failed++;
        p.lastError = errorMessage(err).slice(0, 300);
        if (p.failures >= BREAKER_FAILURES) {
          const cool = Math.min(BREAKER_MAX_MS, BREAKER_MIN_MS * 2 ** (p.failures - BREAKER_FAILURES));
          p.openUntil = Date.now() + cool;
          ctx.log.warn(`intel provider ${name} failed ${p.failures} times in a row; pausing it for ${Math.round(cool / 1000)} s`, { error: p.lastError });
        }
        return { kind: 'failed', error: p.lastError };
      }
    }

    async function enrichOne(attacker: { uuid: string; ip: string }): Promise<void> {
      const repo = intelRepo!;
      const now = Date.now();
      if (classifyAddress(attacker.ip) !== 'public') {
        // Never send an internal or reserved address to a third party: there is nothing to learn.
        await repo.upsertAttackerIntel(db, { attacker_uuid: attacker.uuid, attacker_ip: attacker.ip, aggregate_verdict: 'unknown', ttl_ms: cfg.ttlMs });
        return;
      }
      const existing = await repo.getAttackerIntel(db, attacker.uuid);
      const outcomes = await Promise.all(providers.map((p) => ask(p, attacker.ip, existing, now)));
      const record: Record<string, unknown> = {};
      const verdicts: (Verdict | null)[] = [];
      const asked: ProviderName[] = [];
      let nextDue = now + cfg.ttlMs;
      const stored = (existing ?? {}) as Record<string, unknown>;
      providers.forEach((p, i) => {
        const name = p.provider.settings.name;
        const out = outcomes[i]!;
        const queriedKey = `${name}_queried_at`;
        if (out.kind === 'ok') {
          Object.assign(record, out.columns);
          record[queriedKey] = new Date(now).toISOString();
          verdicts.push(out.verdict);
          asked.push(name);
          return;
        }
        // Not asked this time: keep what is stored.
        for (const c of PROVIDER_COLUMNS[name]) if (stored[c] !== undefined) record[c] = stored[c];
        if (typeof stored[queriedKey] === 'string') record[queriedKey] = stored[queriedKey];
        verdicts.push(storedVerdict(name, stored));
        const due = out.kind === 'cached' && typeof stored[queriedKey] === 'string' ? Date.parse(stored[queriedKey] as string) + cfg.ttlMs : now + Math.min(RETRY_MS, cfg.ttlMs);
        nextDue = Math.min(nextDue, due);
      });
      const aggregate = strongestVerdict(verdicts) ?? 'unknown';
      await repo.upsertAttackerIntel(db, {
        ...(record as object),
        attacker_uuid: attacker.uuid,
        attacker_ip: attacker.ip,
        aggregate_verdict: aggregate,
        ttl_ms: Math.max(1000, nextDue - now),
      } as Parameters<typeof repo.upsertAttackerIntel>[1]);
      if (asked.length === 0) return;
      stats.intel_enriched++;
      ctx.bus.publish(topics.attackerIntelEnriched, {
        source: 'intel',
        attacker_uuid: attacker.uuid,
        attacker_ip: attacker.ip,
        aggregate_verdict: aggregate,
        providers: asked,
        abuseipdb_score: record.abuseipdb_score ?? null,
        abuseipdb_categories: record.abuseipdb_categories ?? null,
        greynoise_classification: record.greynoise_classification ?? null,
        greynoise_name: record.greynoise_name ?? null,
        greynoise_tags: record.greynoise_tags ?? null,
        feodo_listed: record.feodo_listed ?? null,
        feodo_malware_family: record.feodo_malware_family ?? null,
        threatfox_listed: record.threatfox_listed ?? null,
        threatfox_threat_types: record.threatfox_threat_types ?? null,
        threatfox_ioc_types: record.threatfox_ioc_types ?? null,
        threatfox_malware_families: record.threatfox_malware_families ?? null,
      });
    }

    async function intelPass(): Promise<number> {
      if (!intelRepo) return 0;
      const due = await intelRepo.listUnenrichedAttackers(db, cfg.batch);
      let next = 0;
      const lanes = Array.from({ length: Math.min(CONCURRENCY, due.length) }, async () => {
        while (next < due.length && !ctx.signal.aborted) {
          const attacker = due[next++]!;
          try {
            await enrichOne(attacker);
          } catch (err) {
            stats.errors++;
            ctx.log.error('enrichment failed', { attacker: attacker.ip, error: errorMessage(err) });
          }
        }
      });
      await Promise.all(lanes);
      return due.length;
    }

    while (!ctx.signal.aborted) {
      let more = false;
      try {
        more = (await geoPass()) >= GEO_BATCH;
        more = (await intelPass()) >= cfg.batch || more;
      } catch (err) {
        stats.errors++;
        ctx.log.error('enrichment pass failed', { error: errorMessage(err) });
        // A missing or malformed dataset is a configuration problem a retry cannot fix.
        if (err instanceof ConfigError) throw err;
      }
      geo.release();
      if (more) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      await waker.wait(cfg.pollMs, ctx.signal);
    }
  },
});
