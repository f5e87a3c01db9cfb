// Inter-arrival timing of one attacker's events, kept incrementally so a profile never needs the
// attacker's whole history again: count, mean and (population) deviation by Welford's method,
// extremes, and a bounded sample of the most recent intervals for the median. The stored record
// (attacker_behavior.timing_stats) is this object as JSON, so a restart resumes exactly.

export interface TimingStats {
  event_count: number;
  first_ts: string | null;
  last_ts: string | null;
  duration_s: number;
  /** Intervals measured (events that arrived in time order after another). */
  iat_count: number;
  mean_iat_s: number | null;
  /** Median of the most recent intervals (recent_iats_s). */
  median_iat_s: number | null;
  stdev_iat_s: number | null;
  min_iat_s: number | null;
  max_iat_s: number | null;
  /** stdev / mean: near 0 for a metronome (beacon), above 1 for bursts. */
  cv: number | null;
  recent_iats_s: number[];
}

export const RECENT_IATS = 256;

export function emptyTiming(): TimingStats {
  return { event_count: 0, first_ts: null, last_ts: null, duration_s: 0, iat_count: 0, mean_iat_s: null, median_iat_s: null, stdev_iat_s: null, min_iat_s: null, max_iat_s: null, cv: null, recent_iats_s: [] };
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A stored record read back; anything malformed starts over rather than poisoning later updates. */
export function reviveTiming(stored: unknown): TimingStats {
  const t = emptyTiming();
  if (stored === null || typeof stored !== 'object') return t;
  const s = stored as Record<string, unknown>;
  if (finite(s.event_count) && s.event_count >= 0) t.event_count = Math.floor(s.event_count);
  if (typeof s.first_ts === 'string' && Number.isFinite(Date.parse(s.first_ts))) t.first_ts = s.first_ts;
  if (typeof s.last_ts === 'string' && Number.isFinite(Date.parse(s.last_ts))) t.last_ts = s.last_ts;
  if (finite(s.iat_count) && s.iat_count >= 0) t.iat_count = Math.floor(s.iat_count);
  for (const k of ['mean_iat_s', 'stdev_iat_s', 'min_iat_s', 'max_iat_s'] as const) if (finite(s[k])) t[k] = s[k];
  if (Array.isArray(s.recent_iats_s)) t.recent_iats_s = s.recent_iats_s.filter(finite).slice(-RECENT_IATS);
  if (t.iat_count > 0 && (t.mean_iat_s === null || t.stdev_iat_s === null)) t.iat_count = 0;
  return finish(t);
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round = (v: number | null, digits = 3): number | null => (v === null ? null : Number(v.toFixed(digits)));

function finish(t: TimingStats): TimingStats {
  t.median_iat_s = round(median(t.recent_iats_s));
  t.cv = t.mean_iat_s !== null && t.stdev_iat_s !== null && t.mean_iat_s > 0 ? round(t.stdev_iat_s / t.mean_iat_s, 4) : null;
  t.duration_s = t.first_ts && t.last_ts ? Math.max(0, (Date.parse(t.last_ts) - Date.parse(t.first_ts)) / 1000) : 0;
  return t;
}

/**
 * Adds events (their times, ISO strings) to the statistics. Intervals are measured from the latest
 * event seen so far; an event older than that (a late line) counts but adds no interval.
 */
export function addEvents(prev: TimingStats, times: readonly string[]): TimingStats {
  const t: TimingStats = { ...prev, recent_iats_s: [...prev.recent_iats_s] };
  const sorted = times.map((s) => ({ s, ms: Date.parse(s) })).filter((x) => Number.isFinite(x.ms)).sort((a, b) => a.ms - b.ms);
  let n = t.iat_count;
  let mean = t.mean_iat_s ?? 0;
  let m2 = n > 0 && t.stdev_iat_s !== null ? t.stdev_iat_s * t.stdev_iat_s * n : 0;
  let lastMs = t.last_ts ? Date.parse(t.last_ts) : null;
  for (const { s, ms } of sorted) {
    t.event_count++;
    if (t.first_ts === null || ms < Date.parse(t.first_ts)) t.first_ts = s;
    if (lastMs === null) {
      lastMs = ms;
      t.last_ts = s;
      continue;
    }
    if (ms < lastMs) continue;
    const iat = (ms - lastMs) / 1000;
    lastMs = ms;
    t.last_ts = s;
    n++;
    const delta = iat - mean;
    mean += delta / n;
    m2 += delta * (iat - mean);
    t.min_iat_s = t.min_iat_s === null ? iat : Math.min(t.min_iat_s, iat);
    t.max_iat_s = t.max_iat_s === null ? iat : Math.max(t.max_iat_s, iat);
    t.recent_iats_s.push(iat);
  }
  if (t.recent_iats_s.length > RECENT_IATS) t.recent_iats_s.splice(0, t.recent_iats_s.length - RECENT_IATS);
  t.iat_count = n;
  t.mean_iat_s = n > 0 ? round(mean, 6) : null;
  t.stdev_iat_s = n > 0 ? round(Math.sqrt(Math.max(0, m2) / n), 6) : null;
  return finish(t);
}
