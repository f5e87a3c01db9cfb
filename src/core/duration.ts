// Durations and "since" values on the command line: `90s`, `30m`, `12h`, `7d`, `2w`, or an
// ISO-8601 time.
import { UsageError } from './errors.ts';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `7d` → milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: ${JSON.stringify(text)} is not a duration; write a number and a unit, e.g. 90s, 30m, 12h, 7d, 2w`);
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  if (!Number.isFinite(ms) || ms <= 0 || ms > 100 * 365 * 86_400_000) throw new UsageError(`${what}: ${JSON.stringify(text)} is out of range`);
  return Math.round(ms);
}

/** A point in time given as a duration back from `now` (`7d`) or as an ISO-8601 time; epoch ms. */
export function parseSince(text: string, what = '--since', now = Date.now()): number {
  const trimmed = text.trim();
  if (/^\d+(?:\.\d+)?\s*[smhdw]$/.test(trimmed)) return now - parseDuration(trimmed, what);
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const ms = Date.parse(trimmed);
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(`${what}: ${JSON.stringify(text)} is neither a duration (7d, 12h, 30m) nor an ISO-8601 time (2026-05-01 or 2026-05-01T12:00:00Z)`);
}
