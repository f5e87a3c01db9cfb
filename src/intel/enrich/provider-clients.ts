// The four online providers' clients. Every answer is checked before it is used: a provider (or
// whoever answers in its place) gets no say over types, sizes or the verdict's vocabulary.
import { HttpError, httpSend, jsonBody, type HttpResponse } from '../../core/http-client.ts';
import type { Verdict } from '../../db/intel/repo.ts';
import type { IntelProvider, ProviderAnswer, ProviderSettings } from './providers.ts';

const USER_AGENT = 'decnet-enrich/1.0';
const MAX_RESPONSE = 1024 * 1024;
const MAX_FEED = 32 * 1024 * 1024;
const MAX_RAW_CHARS = 16 * 1024;
const MAX_LIST = 64;
const MAX_TEXT = 256;

export class ProviderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderError';
  }
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v.slice(0, MAX_TEXT) : null);

function textList(values: Iterable<unknown>): string[] {
  const out = new Set<string>();
  for (const v of values) {
    const t = text(v);
    if (t) out.add(t);
    if (out.size >= MAX_LIST) break;
  }
  return [...out].sort();
}

/** The raw answer kept for the record, unless it is too large to be worth storing. */
function bounded(raw: unknown): unknown {
  const encoded = JSON.stringify(raw) ?? 'null';
  return encoded.length <= MAX_RAW_CHARS ? raw : { truncated: true, chars: encoded.length };
}

async function send(settings: ProviderSettings, init: { url: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; max?: number }, signal: AbortSignal): Promise<HttpResponse> {
  return httpSend({
    url: init.url,
    method: init.method,
    headers: { 'user-agent': USER_AGENT, accept: 'application/json', ...init.headers },
    body: init.body,
    timeoutMs: settings.timeoutMs,
    maxResponseBytes: init.max ?? MAX_RESPONSE,
    signal,
  });
}

function failed(settings: ProviderSettings, res: HttpResponse): ProviderError {
  const hint = res.status === 401 || res.status === 403 ? ' (check the API key)' : res.status === 429 ? ' (the provider is rate-limiting us)' : '';
  return new ProviderError(`${settings.name}: HTTP ${res.status}${hint}`);
}

/** GreyNoise community API: GET <url><ip>; 404 means the address was not seen scanning. */
export function greyNoise(settings: ProviderSettings): IntelProvider {
  return {
    settings,
    async query(ip, signal): Promise<ProviderAnswer> {
      const base = settings.url.endsWith('/') ? settings.url : `${settings.url}/`;
      const res = await send(settings, { url: new URL(encodeURIComponent(ip), base).toString(), headers: settings.key ? { key: settings.key } : {} }, signal);
      if (res.status === 404) {
        return { columns: { greynoise_classification: 'unknown', greynoise_name: null, greynoise_tags: [], greynoise_raw: null }, verdict: 'unknown' };
      }
      if (res.status !== 200) throw failed(settings, res);
      const body = jsonBody(res, 'greynoise') as Record<string, unknown>;
      if (!body || typeof body !== 'object') throw new ProviderError('greynoise: the answer is not an object');
      const cls = typeof body.classification === 'string' ? body.classification.toLowerCase() : 'unknown';
      const classification: Verdict = cls === 'malicious' || cls === 'suspicious' || cls === 'benign' ? cls : 'unknown';
      return {
        columns: {
          greynoise_classification: classification,
          greynoise_name: text(body.name),
          greynoise_tags: Array.isArray(body.tags) ? textList(body.tags) : [],
          greynoise_raw: bounded(body),
        },
        verdict: classification,
      };
    },
  };
}

/** AbuseIPDB v2 check: confidence score 0-100 and the report categories of the last 30 days. */
export function abuseIpDb(settings: ProviderSettings): IntelProvider {
  return {
    settings,
    async query(ip, signal): Promise<ProviderAnswer> {
      const url = new URL(settings.url);
      url.searchParams.set('ipAddress', ip);
      url.searchParams.set('maxAgeInDays', '30');
      url.searchParams.set('verbose', '');
      const res = await send(settings, { url: url.toString(), headers: { key: settings.key ?? '' } }, signal);
      if (res.status !== 200) throw failed(settings, res);
      const body = jsonBody(res, 'abuseipdb') as { data?: Record<string, unknown> };
      const data = body?.data;
      if (!data || typeof data !== 'object') throw new ProviderError('abuseipdb: the answer has no data object');
      const score = data.abuseConfidenceScore;
      if (typeof score !== 'number' || !Number.isInteger(score) || score < 0 || score > 100) throw new ProviderError('abuseipdb: abuseConfidenceScore is not a whole number from 0 to 100');
      const categories = new Set<number>();
      if (Array.isArray(data.reports)) {
        for (const r of data.reports.slice(0, 10_000)) {
          const list = (r as { categories?: unknown })?.categories;
          if (Array.isArray(list)) for (const c of list) if (Number.isInteger(c) && c >= 0 && c < 1000) categories.add(c as number);
        }
      }
      const { reports: _reports, ...summary } = data;
      const verdict: Verdict = score >= 75 ? 'malicious' : score >= 25 ? 'suspicious' : 'benign';
      return {
        columns: { abuseipdb_score: score, abuseipdb_categories: [...categories].sort((a, b) => a - b), abuseipdb_raw: bounded(summary) },
        verdict,
      };
    },
  };
}

interface FeodoEntry {
  malware: string | null;
  raw: Record<string, unknown>;
}

/** abuse.ch Feodo Tracker: a block list downloaded whole and refreshed on a timer. */
export function feodo(settings: ProviderSettings): IntelProvider {
  let list: Map<string, FeodoEntry> | undefined;
  let fetchedAt = 0;
  let refreshing: Promise<Map<string, FeodoEntry>> | undefined;

  async function download(signal: AbortSignal): Promise<Map<string, FeodoEntry>> {
    const res = await send(settings, { url: settings.url, headers: settings.key ? { 'auth-key': settings.key } : {}, max: MAX_FEED }, signal);
    if (res.status !== 200) throw failed(settings, res);
    const body = jsonBody(res, 'feodo');
    if (!Array.isArray(body)) throw new ProviderError('feodo: the block list is not a JSON array');
    const map = new Map<string, FeodoEntry>();
    for (const item of body.slice(0, 200_000)) {
      if (!item || typeof item !== 'object') continue;
      const entry = item as Record<string, unknown>;
      const address = text(entry.ip_address);
      if (address) map.set(address, { malware: text(entry.malware), raw: bounded(entry) as Record<string, unknown> });
    }
    return map;
  }

  return {
    settings,
    async query(ip, signal): Promise<ProviderAnswer> {
      if (!list || Date.now() - fetchedAt >= (settings.refreshMs ?? 3_600_000)) {
        refreshing ??= download(signal).finally(() => (refreshing = undefined));
        try {
          list = await refreshing;
          fetchedAt = Date.now();
        } catch (err) {
          // A stale list beats none; without one the look-up fails and is retried later.
          if (!list) throw err;
          fetchedAt = Date.now() - (settings.refreshMs ?? 3_600_000) + 60_000; // try again in a minute
        }
      }
      const hit = list.get(ip);
      if (!hit) return { columns: { feodo_listed: false, feodo_malware_family: null, feodo_raw: null }, verdict: null };
      return { columns: { feodo_listed: true, feodo_malware_family: hit.malware, feodo_raw: hit.raw }, verdict: 'malicious' };
    },
  };
}

/** abuse.ch ThreatFox: IOC search for the address. */
export function threatFox(settings: ProviderSettings): IntelProvider {
  return {
    settings,
    async query(ip, signal): Promise<ProviderAnswer> {
      const res = await send(
        settings,
        { url: settings.url, method: 'POST', headers: { 'content-type': 'application/json', 'auth-key': settings.key ?? '' }, body: JSON.stringify({ query: 'search_ioc', search_term: ip }) },
        signal,
      );
      if (res.status !== 200) throw failed(settings, res);
      const body = jsonBody(res, 'threatfox') as { query_status?: unknown; data?: unknown };
      const status = body?.query_status;
      if (status === 'no_result') {
        return { columns: { threatfox_listed: false, threatfox_threat_types: [], threatfox_ioc_types: [], threatfox_malware_families: [], threatfox_raw: null }, verdict: null };
      }
      if (status !== 'ok' || !Array.isArray(body.data)) throw new ProviderError(`threatfox: query_status ${JSON.stringify(String(status)).slice(0, 80)}`);
      const iocs = body.data.slice(0, 1000).filter((d): d is Record<string, unknown> => !!d && typeof d === 'object');
      return {
        columns: {
          threatfox_listed: true,
          threatfox_threat_types: textList(iocs.map((d) => d.threat_type)),
          threatfox_ioc_types: textList(iocs.map((d) => d.ioc_type)),
          threatfox_malware_families: textList(iocs.map((d) => d.malware_printable ?? d.malware)),
          threatfox_raw: bounded(iocs.slice(0, 20)),
        },
        verdict: 'malicious',
      };
    },
  };
}

export { HttpError };
