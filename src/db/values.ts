// Input checks and value conversions shared by the repositories. Every value that reaches SQL
// goes through one of these: lengths are bounded per column family, times are normalised to one
// UTC ISO-8601 format, JSON is encoded once, and bad input fails with a message naming the field.
import { isIP } from 'node:net';
import { DecnetError } from '../core/errors.ts';

/** Bad data handed to a repository (a caller bug or hostile input): names the field and the rule. */
export class DataError extends DecnetError {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`, 2);
    this.name = 'DataError';
    this.field = field;
  }
}

/** A write that conflicts with the stored state (a referenced row, a stale version, a duplicate name). */
export class ConflictError extends DecnetError {
  constructor(message: string) {
    super(message, 1);
    this.name = 'ConflictError';
  }
}

/**
 * Maximum lengths per column family, in UTF-16 code units (JavaScript string length).
 * docs/schema.md lists which column belongs to which family.
 */
export const LIMITS = {
  /** Identifiers chosen by us or the operator: decky, service, event type, kinds, states, usernames. */
  name: 128,
  /** IP address text (the longest IPv6 form is 45). */
  ip: 45,
  /** Short attacker- or operator-supplied strings: principals, hostnames, subjects, user agents. */
  short: 512,
  /** URLs and filesystem paths. */
  url: 2048,
  /** Hash digests and fingerprints (hex or base64). */
  hash: 128,
  /** Free text: log messages, raw event lines, notes, errors. */
  text: 65_536,
  /** Large documents: rule YAML, synthetic file bodies, e-mail payloads. */
  document: 1_048_576,
  /** A JSON value once encoded. */
  json: 262_144,
  /** JSON documents that legitimately grow (attacker command lists, configs). */
  bigJson: 1_048_576,
} as const;

export type LimitFamily = keyof typeof LIMITS;

// U+0000 cannot be stored in PostgreSQL text or JSONB; replace it (on both dialects, for
// identical results) with U+FFFD, the standard replacement character.
const NUL = /\u0000/g;
const CONTROL = /[\u0000-\u001f\u007f]/;

function clean(value: string): string {
  return value.includes('\u0000') ? value.replace(NUL, '\uFFFD') : value;
}

/** A required string of at most LIMITS[family] characters. */
export function text(field: string, value: unknown, family: LimitFamily = 'short'): string {
  if (typeof value !== 'string') throw new DataError(field, `expected a string, got ${describe(value)}`);
  const max = LIMITS[family];
  if (value.length > max) throw new DataError(field, `is ${value.length} characters long; the limit is ${max}`);
  return clean(value);
}

/** An optional string: undefined and null become null. */
export function optText(field: string, value: unknown, family: LimitFamily = 'short'): string | null {
  return value === undefined || value === null ? null : text(field, value, family);
}

/** A required identifier: non-empty, no control characters, at most LIMITS.name characters. */
export function name(field: string, value: unknown): string {
  const s = text(field, value, 'name');
  if (s.length === 0) throw new DataError(field, 'must not be empty');
  if (CONTROL.test(s)) throw new DataError(field, 'must not contain control characters');
  return s;
}

export function optName(field: string, value: unknown): string | null {
  return value === undefined || value === null || value === '' ? null : name(field, value);
}

/** One of a fixed set of values. */
export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new DataError(field, `must be one of ${allowed.join(', ')}; got ${describe(value)}`);
  }
  return value as T;
}

/**
 * An IP address in canonical text form: IPv4 dotted quad, IPv6 as RFC 5952; an IPv4-mapped IPv6
 * address becomes its IPv4 form, so one host never gets two rows. A port suffix is refused:
 * attackers are keyed on the bare address.
 */
export function ip(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new DataError(field, `expected an IP address, got ${describe(value)}`);
  if (value.length > LIMITS.ip) throw new DataError(field, `is ${value.length} characters long; an IP address has at most ${LIMITS.ip}`);
  let s = value.trim();
  const version = isIP(s);
  if (version === 0) throw new DataError(field, `${JSON.stringify(value)} is not an IP address (without port)`);
  if (version === 6) s = canonicalIpv6(s);
  return s;
}

/** RFC 5952 text form: lower case, no leading zeros, the longest run of zero groups as '::'. */
function canonicalIpv6(address: string): string {
  let text = address.toLowerCase();
  const zone = text.indexOf('%');
  const suffix = zone === -1 ? '' : text.slice(zone);
  if (zone !== -1) text = text.slice(0, zone);
  // an embedded IPv4 tail becomes two hex groups
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const words = groups.map((g) => parseInt(g, 16));
  if (!suffix && words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    return `${words[6] >> 8}.${words[6] & 0xff}.${words[7] >> 8}.${words[7] & 0xff}`; // IPv4-mapped: one host, one row
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  const body = bestStart === -1 ? hex.join(':') : `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
  return body + suffix;
}

export function optIp(field: string, value: unknown): string | null {
  return value === undefined || value === null || value === '' ? null : ip(field, value);
}

/** An integer within [min, max]. */
export function int(field: string, value: unknown, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new DataError(field, `expected a whole number, got ${describe(value)}`);
  if (value < min || value > max) throw new DataError(field, `${value} is outside ${min}..${max}`);
  return value;
}

export function optInt(field: string, value: unknown, min?: number, max?: number): number | null {
  return value === undefined || value === null ? null : int(field, value, min, max);
}

export function port(field: string, value: unknown): number | null {
  return optInt(field, value, 0, 65_535);
}

/** A finite number within [min, max]. */
export function real(field: string, value: unknown, min = -Number.MAX_VALUE, max = Number.MAX_VALUE): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new DataError(field, `expected a number, got ${describe(value)}`);
  if (value < min || value > max) throw new DataError(field, `${value} is outside ${min}..${max}`);
  return value;
}

export function optReal(field: string, value: unknown, min?: number, max?: number): number | null {
  return value === undefined || value === null ? null : real(field, value, min, max);
}

export function bool(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new DataError(field, `expected true or false, got ${describe(value)}`);
  return value;
}

export function optBool(field: string, value: unknown): boolean | null {
  return value === undefined || value === null ? null : bool(field, value);
}

/** Lower-case hex digest of exactly `length` characters. */
export function hex(field: string, value: unknown, length: number): string {
  if (typeof value !== 'string' || value.length !== length || !/^[0-9a-fA-F]+$/.test(value)) {
    throw new DataError(field, `expected ${length} hexadecimal characters, got ${describe(value)}`);
  }
  return value.toLowerCase();
}

// ---- times ---------------------------------------------------------------------------------

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Now, in the stored time format. */
export function nowIso(): string {
  return new Date().toISOString();
}

/**
 * A point in time in the one stored format, `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC, milliseconds), which
 * sorts as text. Accepts a Date, epoch milliseconds, or any ISO-8601 string with a zone (a string
 * without a zone is read as UTC).
 */
export function time(field: string, value: unknown): string {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    if (ISO_UTC.test(value)) return value;
    if (value.length > 64) throw new DataError(field, 'is not a time (too long)');
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(value.trim());
    const normalised = value.trim().replace(' ', 'T');
    ms = Date.parse(hasZone ? normalised : `${normalised}Z`);
  } else throw new DataError(field, `expected a time, got ${describe(value)}`);
  if (!Number.isFinite(ms)) throw new DataError(field, `${JSON.stringify(value)} is not a valid time (use ISO-8601, e.g. 2024-05-01T12:00:00Z)`);
  const date = new Date(ms);
  if (date.getUTCFullYear() < 1970 || date.getUTCFullYear() > 9999) throw new DataError(field, `${JSON.stringify(value)} is out of range`);
  return date.toISOString();
}

export function optTime(field: string, value: unknown): string | null {
  return value === undefined || value === null || value === '' ? null : time(field, value);
}

// ---- JSON ----------------------------------------------------------------------------------

function stripNul(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? clean(value) : value;
}

/**
 * Encodes a JSON column value. NUL characters inside strings become U+FFFD (PostgreSQL's JSONB
 * refuses them); the encoded size is bounded.
 */
export function json(field: string, value: unknown, family: 'json' | 'bigJson' = 'json'): string {
  let encoded: string | undefined;
  try {
    encoded = JSON.stringify(value === undefined ? null : value, stripNul);
  } catch (err) {
    throw new DataError(field, `cannot be encoded as JSON (${(err as Error).message})`);
  }
  if (encoded === undefined) throw new DataError(field, 'cannot be encoded as JSON');
  const max = LIMITS[family];
  if (encoded.length > max) throw new DataError(field, `is ${encoded.length} characters as JSON; the limit is ${max}`);
  return encoded;
}

/** Decodes a JSON column: a string on SQLite, already parsed on PostgreSQL (JSONB). */
export function fromJson<T>(value: unknown, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  if (typeof value !== 'string') return value as T;
  try {
    return JSON.parse(value) as T;
  } catch {
    return fallback;
  }
}

/** A boolean column: 0/1 on SQLite, true/false on PostgreSQL. */
export function fromBool(value: unknown): boolean {
  return value === true || value === 1 || value === 1n;
}

export function fromOptBool(value: unknown): boolean | null {
  return value === null || value === undefined ? null : fromBool(value);
}

/** A numeric result (COUNT, SUM): PostgreSQL returns bigint aggregates as strings. */
export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value !== '') return Number(value);
  return 0;
}

/** A list of strings, each checked, bounded in count. */
export function stringList(field: string, value: unknown, family: LimitFamily = 'short', maxItems = 10_000): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new DataError(field, `expected a list of strings, got ${describe(value)}`);
  if (value.length > maxItems) throw new DataError(field, `has ${value.length} items; the limit is ${maxItems}`);
  return value.map((item, i) => text(`${field}[${i}]`, item, family));
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return value.length > 40 ? `a ${value.length}-character string` : JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
