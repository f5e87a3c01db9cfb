// Online threat-intel providers (GreyNoise community, AbuseIPDB, abuse.ch Feodo Tracker and
// ThreatFox): which are enabled, their keys, base URLs, timeouts and rate limits, all from the
// environment. Online look-ups are opt-in: a provider runs when its key is set or when
// DECNET_INTEL_PROVIDERS names it. This module holds configuration only; the clients are loaded
// when at least one provider is enabled.
import { ConfigError } from '../../core/errors.ts';
import { envBool, envNumber, envString } from '../../core/env.ts';
import type { Verdict } from '../../db/intel/repo.ts';

export const PROVIDERS = ['greynoise', 'abuseipdb', 'feodo', 'threatfox'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export interface ProviderSettings {
  name: ProviderName;
  key?: string;
  /** The endpoint (overridable, e.g. to point tests at a local server). */
  url: string;
  timeoutMs: number;
  /** Requests per second and burst of the provider's token bucket. */
  ratePerSec: number;
  burst: number;
  /** Feodo only: how often the block list is downloaded again. */
  refreshMs?: number;
}

/** A provider's answer for one address: its attacker_intel columns and its verdict (null: no opinion). */
export interface ProviderAnswer {
  columns: Record<string, unknown>;
  verdict: Verdict | null;
}

export interface IntelProvider {
  readonly settings: ProviderSettings;
  query(ip: string, signal: AbortSignal): Promise<ProviderAnswer>;
}

interface Defaults {
  url: string;
  perMinute: number;
  keyRequired: boolean;
}

const DEFAULTS: Record<ProviderName, Defaults> = {
  greynoise: { url: 'https://api.greynoise.io/v3/community/', perMinute: 40, keyRequired: false },
  abuseipdb: { url: 'https://api.abuseipdb.com/api/v2/check', perMinute: 120, keyRequired: true },
  feodo: { url: 'https://feodotracker.abuse.ch/downloads/ipblocklist.json', perMinute: 6, keyRequired: false },
  threatfox: { url: 'https://threatfox-api.abuse.ch/api/v1/', perMinute: 120, keyRequired: true },
};

const ENV = (name: ProviderName) => `DECNET_${name.toUpperCase()}`;

function keyOf(name: ProviderName): string | undefined {
  return envString(`${ENV(name)}_KEY`) ?? envString(`${ENV(name)}_API_KEY`);
}

function urlOf(name: ProviderName): string {
  const variable = `${ENV(name)}_URL`;
  const raw = envString(variable) ?? DEFAULTS[name].url;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${variable}=${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${variable} must be an http:// or https:// URL`);
  return url.toString();
}

/** The providers to run, from DECNET_INTEL_PROVIDERS / DECNET_INTEL_ENABLED and the keys present. */
export function providerSettingsFromEnv(): ProviderSettings[] {
  if (!envBool('DECNET_INTEL_ENABLED', true)) return [];
  const listed = envString('DECNET_INTEL_PROVIDERS');
  let names: ProviderName[];
  if (listed !== undefined) {
    const raw = listed.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    if (raw.length === 1 && raw[0] === 'none') return [];
    for (const n of raw) if (!(PROVIDERS as readonly string[]).includes(n)) throw new ConfigError(`DECNET_INTEL_PROVIDERS: unknown provider ${JSON.stringify(n)}; choose from ${PROVIDERS.join(', ')} (or none)`);
    names = [...new Set(raw as ProviderName[])];
  } else {
    names = PROVIDERS.filter((n) => keyOf(n) !== undefined);
  }
  const timeoutMs = envNumber('DECNET_INTEL_TIMEOUT_MS', 5000, { min: 100, max: 60_000 });
  return names.map((name) => {
    const key = keyOf(name);
    if (DEFAULTS[name].keyRequired && !key) throw new ConfigError(`intel provider ${name} needs an API key: set ${ENV(name)}_KEY (or remove it from DECNET_INTEL_PROVIDERS)`);
    const perMinute = envNumber(`${ENV(name)}_RATE`, DEFAULTS[name].perMinute, { min: 0.01, max: 60_000 });
    const settings: ProviderSettings = {
      name,
      key,
      url: urlOf(name),
      timeoutMs,
      ratePerSec: perMinute / 60,
      burst: envNumber(`${ENV(name)}_BURST`, 2, { min: 1, max: 1000 }),
    };
    if (name === 'feodo') settings.refreshMs = envNumber('DECNET_FEODO_REFRESH_S', 3600, { min: 1, max: 7 * 86_400 }) * 1000;
    return settings;
  });
}

/** The strongest verdict: malicious > suspicious > benign > unknown; null when nobody had one. */
export function strongestVerdict(verdicts: Iterable<Verdict | null | undefined>): Verdict | null {
  const rank: Record<Verdict, number> = { malicious: 4, suspicious: 3, benign: 2, unknown: 1 };
  let best: Verdict | null = null;
  for (const v of verdicts) if (v && (best === null || rank[v] > rank[best])) best = v;
  return best;
}

export async function createProvider(settings: ProviderSettings): Promise<IntelProvider> {
  const clients = await import('./provider-clients.ts');
  switch (settings.name) {
    case 'greynoise':
      return clients.greyNoise(settings);
    case 'abuseipdb':
      return clients.abuseIpDb(settings);
    case 'feodo':
      return clients.feodo(settings);
    case 'threatfox':
      return clients.threatFox(settings);
  }
}

/** Each provider's attacker_intel columns (besides <name>_queried_at). */
export const PROVIDER_COLUMNS: Record<ProviderName, readonly string[]> = {
  greynoise: ['greynoise_classification', 'greynoise_name', 'greynoise_tags', 'greynoise_raw'],
  abuseipdb: ['abuseipdb_score', 'abuseipdb_categories', 'abuseipdb_raw'],
  feodo: ['feodo_listed', 'feodo_malware_family', 'feodo_raw'],
  threatfox: ['threatfox_listed', 'threatfox_threat_types', 'threatfox_ioc_types', 'threatfox_malware_families', 'threatfox_raw'],
};

/** A provider's verdict read back from stored columns (for providers not asked again this time). */
export function storedVerdict(name: ProviderName, row: Record<string, unknown>): Verdict | null {
  switch (name) {
    case 'greynoise': {
      const c = row.greynoise_classification;
      return c === 'malicious' || c === 'suspicious' || c === 'benign' || c === 'unknown' ? c : null;
    }
    case 'abuseipdb': {
      const s = row.abuseipdb_score;
      return typeof s !== 'number' ? null : s >= 75 ? 'malicious' : s >= 25 ? 'suspicious' : 'benign';
    }
    case 'feodo':
      return row.feodo_listed === true ? 'malicious' : null;
    case 'threatfox':
      return row.threatfox_listed === true ? 'malicious' : null;
  }
}
