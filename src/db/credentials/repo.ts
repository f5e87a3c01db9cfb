// Credentials repository: de-duplicated credential captures (the ingester), the attacker back-fill
// (the profiler) and credential-reuse findings (the reuse correlator).
import { createHash } from 'node:crypto';
import { sql, type Kysely, type SqlBool } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { Db, Page, PageRequest } from '../types.ts';
import type { CredentialsTables } from './schema.ts';
import { chunks, containsText, page, pageArgs } from '../query.ts';
import { DataError, fromJson, int, ip, json, name, nowIso, num, oneOf, optIp, optName, optText, real, text, time } from '../values.ts';

export const OUTCOMES = ['success', 'failure', 'observed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The stored base64 of a secret is bounded; a longer secret is refused, not truncated. */
export const MAX_SECRET_B64 = 2048;
export const MAX_SECRET_PRINTABLE = 512;

export interface CredentialInput {
  attacker_ip: string;
  decky_name: string;
  service: string;
  principal?: string | null;
  /** plaintext, postgres_md5_challenge, vnc_des_response, … */
  secret_kind: string;
  /** The secret bytes, base64. */
  secret_b64: string;
  /** Readable form of the secret, when it has one (derived from the bytes when omitted). */
  secret_printable?: string | null;
  outcome?: Outcome;
  fields?: Record<string, unknown>;
  seen_at?: string | Date | number;
  attacker_uuid?: string | null;
}

export interface CredentialRow {
  id: number;
  attacker_ip: string;
  attacker_uuid: string | null;
  decky_name: string;
  service: string;
  principal: string | null;
  secret_kind: string;
  secret_sha256: string;
  secret_b64: string;
  secret_printable: string | null;
  outcome: string;
  fields: Record<string, unknown>;
  first_seen: string;
  last_seen: string;
  attempt_count: number;
}

const q = (db: Db) => db.kysely as Kysely<CredentialsTables>;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeSecret(b64: unknown): { b64: string; bytes: Buffer } {
  if (typeof b64 !== 'string') throw new DataError('secret_b64', 'expected a base64 string');
  if (b64.length > MAX_SECRET_B64) throw new DataError('secret_b64', `is ${b64.length} characters long; the limit is ${MAX_SECRET_B64}`);
  if (!BASE64.test(b64)) throw new DataError('secret_b64', 'is not valid base64');
  return { b64, bytes: Buffer.from(b64, 'base64') };
}

function printable(bytes: Buffer): string | null {
  const s = bytes.toString('utf8');
  if (s.includes('\uFFFD') || /[\u0000-\u001f\u007f]/.test(s)) return null;
  return s.slice(0, MAX_SECRET_PRINTABLE);
}

type CredentialValues = {
  attacker_ip: string;
  attacker_uuid: string | null;
  decky_name: string;
  service: string;
  principal: string | null;
  principal_key: string;
  secret_kind: string;
  secret_sha256: string;
  secret_b64: string;
  secret_printable: string | null;
  outcome: Outcome;
  fields: string;
  first_seen: string;
  last_seen: string;
  attempt_count: number;
};

/** Checks a sighting and returns its row (one attempt). */
function credentialRow(c: CredentialInput, at = 'credential'): CredentialValues {
  if (c === null || typeof c !== 'object') throw new DataError(at, 'expected an object');
  const secret = decodeSecret(c.secret_b64);
  const principal = optText('principal', c.principal, 'short');
  const seen = time('seen_at', c.seen_at ?? Date.now());
  const sha = createHash('sha256').update(secret.bytes).digest('hex');
  // LIMITS.short is MAX_SECRET_PRINTABLE (512)
  const given = c.secret_printable === undefined ? undefined : optText('secret_printable', c.secret_printable, 'short');
  return {
    attacker_ip: ip('attacker_ip', c.attacker_ip),
    attacker_uuid: optName('attacker_uuid', c.attacker_uuid),
    decky_name: name('decky_name', c.decky_name),
    service: name('service', c.service),
    principal,
    principal_key: principal ?? '',
    secret_kind: name('secret_kind', c.secret_kind),
    secret_sha256: sha,
    secret_b64: secret.b64,
    secret_printable: given === undefined ? printable(secret.bytes) : given,
    outcome: oneOf('outcome', c.outcome ?? 'observed', OUTCOMES),
    fields: json('fields', c.fields ?? {}),
    first_seen: seen,
    last_seen: seen,
    attempt_count: 1,
  };
}

const CREDENTIAL_KEY = ['attacker_ip', 'decky_name', 'service', 'secret_kind', 'secret_sha256', 'principal_key'] as const;

/** INSERT … ON CONFLICT that adds the new rows' attempts to a stored row's (a success is sticky). */
function insertCredentialRows(db: Db, rows: CredentialValues[]) {
  return q(db)
    .insertInto('credentials')
    .values(rows)
    .onConflict((oc) =>
      oc.columns([...CREDENTIAL_KEY]).doUpdateSet((eb) => ({
        attempt_count: sql<number>`${eb.ref('credentials.attempt_count')} + ${eb.ref('excluded.attempt_count')}`,
        last_seen: sql<string>`case when ${eb.ref('excluded.last_seen')} > ${eb.ref('credentials.last_seen')} then ${eb.ref('excluded.last_seen')} else ${eb.ref('credentials.last_seen')} end`,
        first_seen: sql<string>`case when ${eb.ref('excluded.first_seen')} < ${eb.ref('credentials.first_seen')} then ${eb.ref('excluded.first_seen')} else ${eb.ref('credentials.first_seen')} end`,
        outcome: sql<string>`case when ${eb.ref('excluded.outcome')} = 'success' then 'success' else ${eb.ref('credentials.outcome')} end`,
        attacker_uuid: sql<string | null>`coalesce(${eb.ref('credentials.attacker_uuid')}, ${eb.ref('excluded.attacker_uuid')})`,
      })),
    );
}

/**
 * Records one credential sighting. The first sighting of (attacker IP, decky, service, kind,
 * secret, principal) inserts a row; a repeat bumps attempt_count and last_seen and keeps the
 * first sighting's fields. A success is sticky: a later failure does not hide it.
 */
export async function upsertCredential(db: Db, c: CredentialInput): Promise<{ id: number; inserted: boolean; attempt_count: number; secret_sha256: string }> {
  const row = credentialRow(c);
  const result = await insertCredentialRows(db, [row]).returning(['id', 'attempt_count']).executeTakeFirstOrThrow();
  const attempts = num(result.attempt_count);
  return { id: num(result.id), inserted: attempts === 1, attempt_count: attempts, secret_sha256: row.secret_sha256 };
}

export interface CredentialUpsertResult {
  id: number;
  /** The (attacker, decky, service, kind, secret, principal) row did not exist before this call. */
  inserted: boolean;
  attempt_count: number;
  secret_sha256: string;
}

/** Rows per statement: 15 columns x 60 rows = 900 parameters, under both dialects' limits. */
const CREDENTIALS_PER_STATEMENT = 60;

/**
 * Records many sightings at once, with the same result as calling upsertCredential for each in
 * order: sightings of one row are merged first (attempts added, first/last seen widened, a
 * success kept, the first sighting's fields), then written in few statements. Returns one result
 * per input; `inserted` is true for the first input of each row that is new. Invalid inputs throw
 * (DataError naming the index) before anything is written.
 */
export async function upsertCredentials(db: Db, list: readonly CredentialInput[]): Promise<CredentialUpsertResult[]> {
  const rows = list.map((c, i) => credentialRow(c, `credentials[${i}]`));
  const keyOf = (r: CredentialValues) => CREDENTIAL_KEY.map((k) => r[k]).join('\0');
  const groups = new Map<string, { row: CredentialValues; first: number }>();
  rows.forEach((r, i) => {
    const key = keyOf(r);
    const g = groups.get(key);
    if (!g) return void groups.set(key, { row: { ...r }, first: i });
    g.row.attempt_count++;
    if (r.first_seen < g.row.first_seen) g.row.first_seen = r.first_seen;
    if (r.last_seen > g.row.last_seen) g.row.last_seen = r.last_seen;
    if (r.outcome === 'success') g.row.outcome = 'success';
    g.row.attacker_uuid ??= r.attacker_uuid;
  });
  const stored = new Map<string, { id: number; attempt_count: number }>();
  for (const chunk of chunks([...groups.values()], CREDENTIALS_PER_STATEMENT)) {
    const returned = await insertCredentialRows(db, chunk.map((g) => g.row)).returning(['id', 'attempt_count', ...CREDENTIAL_KEY]).execute();
    for (const r of returned) stored.set(keyOf(r as unknown as CredentialValues), { id: num(r.id), attempt_count: num(r.attempt_count) });
  }
  return rows.map((r, i) => {
    const key = keyOf(r);
    const g = groups.get(key)!;
    const s = stored.get(key)!;
    return { id: s.id, inserted: g.first === i && s.attempt_count === g.row.attempt_count, attempt_count: s.attempt_count, secret_sha256: r.secret_sha256 };
  });
}

/** Links the credentials of an IP to its attacker row where not linked yet; returns how many. */
export async function backfillCredentialAttacker(db: Db, attackerIp: string, attackerUuid: string): Promise<number> {
  const result = await q(db)
    .updateTable('credentials')
    .set({ attacker_uuid: name('attacker_uuid', attackerUuid) })
    .where('attacker_ip', '=', ip('attacker_ip', attackerIp))
    .where('attacker_uuid', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Distinct credentials captured from one IP (the profile's credential_count). */
export async function countCredentialsForIp(db: Db, attackerIp: string): Promise<number> {
  const row = await q(db).selectFrom('credentials').select((eb) => eb.fn.countAll().as('n')).where('attacker_ip', '=', ip('attacker_ip', attackerIp)).executeTakeFirst();
  return num(row?.n);
}

function decodeCredential(r: Record<string, unknown>): CredentialRow {
  const { principal_key: _key, ...rest } = r;
  return { ...(rest as unknown as CredentialRow), id: num(r.id), attempt_count: num(r.attempt_count), fields: fromJson(r.fields, {}) };
}

export interface CredentialListRequest extends PageRequest {
  /** Substring of principal, printable secret, decky or attacker IP. */
  search?: string | null;
  service?: string | null;
  attacker_ip?: string | null;
}

/** One page of credentials, most recently seen first. */
export async function listCredentials(db: Db, request: CredentialListRequest = {}): Promise<Page<CredentialRow>> {
  const { limit, offset } = pageArgs(request);
  let query = q(db).selectFrom('credentials');
  if (request.search) {
    const needle = text('search', request.search, 'short');
    query = query.where((eb) => eb.or(['principal', 'secret_printable', 'decky_name', 'attacker_ip'].map((c) => containsText(db, sql.ref(c), needle))));
  }
  if (request.service) query = query.where('service', '=', name('service', request.service));
  const attackerIp = optIp('attacker_ip', request.attacker_ip);
  if (attackerIp) query = query.where('attacker_ip', '=', attackerIp);
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('last_seen', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return page(num(count?.n), limit, offset, rows.map((r) => decodeCredential(r as Record<string, unknown>)));
}

// ---- reuse ------------------------------------------------------------------------------------

export interface ReuseFinding {
  secret_sha256: string;
  secret_kind: string;
  principal: string | null;
  principal_key: string;
  attacker_uuids: string[];
  attacker_ips: string[];
  deckies: string[];
  services: string[];
  target_count: number;
  attempt_count: number;
  first_seen: string;
  last_seen: string;
}

export interface ReuseRow extends ReuseFinding {
  id: string;
  confidence: number;
  created_at: string;
  updated_at: string;
}

/** The identity of a reuse group: one secret of one kind for one principal. */
export interface ReuseKey {
  secret_sha256: string;
  secret_kind: string;
  principal_key: string;
}

export interface ReuseOptions {
  /** Distinct (decky, service) pairs that make a reuse (default 2). */
  minTargets?: number;
  /** Also a reuse: this many distinct attacker IPs tried the secret (even on one target). Off by default. */
  minAttackerIps?: number;
}

/** The map key of a reuse group. */
export const reuseKeyOf = (k: ReuseKey): string => `${k.secret_sha256}\0${k.secret_kind}\0${k.principal_key}`;

/**
 * Secrets tried on at least `minTargets` distinct (decky, service) pairs (or, with
 * `minAttackerIps`, by that many distinct IPs), with who tried them where. Keys are found with one
 * GROUP BY; their member rows are then aggregated here.
 */
export async function findReuseCandidates(db: Db, options: ReuseOptions & { limit?: number } = {}): Promise<ReuseFinding[]> {
  const minTargets = int('minTargets', options.minTargets ?? 2, 2, 1_000_000);
  const minIps = options.minAttackerIps === undefined ? null : int('minAttackerIps', options.minAttackerIps, 2, 1_000_000);
  const limit = int('limit', options.limit ?? 1000, 1, 10_000);
  const target = sql`${sql.ref('decky_name')} || '|' || ${sql.ref('service')}`;
  const qualifies =
    minIps === null
      ? sql<SqlBool>`count(distinct ${target}) >= ${minTargets}`
      : sql<SqlBool>`(count(distinct ${target}) >= ${minTargets} or count(distinct ${sql.ref('attacker_ip')}) >= ${minIps})`;
  const keys = await q(db)
    .selectFrom('credentials')
    .select(['secret_sha256', 'secret_kind', 'principal_key'])
    .groupBy(['secret_sha256', 'secret_kind', 'principal_key'])
    .having(qualifies)
    .orderBy(sql`max(${sql.ref('last_seen')})`, 'desc')
    .limit(limit)
    .execute();
  return reuseFindingsForKeys(db, keys);
}

/** The current aggregate of each given group (whether or not it qualifies as reuse), in no particular order. */
export async function reuseFindingsForKeys(db: Db, keys: readonly ReuseKey[]): Promise<ReuseFinding[]> {
  const findings: ReuseFinding[] = [];
  for (const group of chunks(keys, 100)) {
    const rows = await q(db)
      .selectFrom('credentials')
      .select(['secret_sha256', 'secret_kind', 'principal_key', 'principal', 'attacker_uuid', 'attacker_ip', 'decky_name', 'service', 'attempt_count', 'first_seen', 'last_seen'])
      .where((eb) => eb.or(group.map((k) => eb.and([eb('secret_sha256', '=', k.secret_sha256), eb('secret_kind', '=', k.secret_kind), eb('principal_key', '=', k.principal_key)]))))
      .execute();
    const byKey = new Map<string, typeof rows>();
    for (const r of rows) {
      const key = reuseKeyOf(r);
      (byKey.get(key) ?? byKey.set(key, []).get(key)!).push(r);
    }
    for (const members of byKey.values()) {
      const first = members[0];
      const targets = new Set(members.map((m) => `${m.decky_name}|${m.service}`));
      findings.push({
        secret_sha256: first.secret_sha256,
        secret_kind: first.secret_kind,
        principal: first.principal,
        principal_key: first.principal_key,
        attacker_uuids: [...new Set(members.map((m) => m.attacker_uuid).filter((u): u is string => !!u))].sort(),
        attacker_ips: [...new Set(members.map((m) => m.attacker_ip))].sort(),
        deckies: [...new Set(members.map((m) => m.decky_name))].sort(),
        services: [...new Set(members.map((m) => m.service))].sort(),
        target_count: targets.size,
        attempt_count: members.reduce((sum, m) => sum + num(m.attempt_count), 0),
        first_seen: members.reduce((min, m) => (m.first_seen < min ? m.first_seen : min), first.first_seen),
        last_seen: members.reduce((max, m) => (m.last_seen > max ? m.last_seen : max), first.last_seen),
      });
    }
  }
  return findings;
}

/** The groups of credentials stored after `afterId` (the reuse correlator's cursor), and the last id seen. */
export async function credentialKeysAfterId(db: Db, afterId: number, limit = 5000): Promise<{ lastId: number; keys: ReuseKey[] }> {
  int('afterId', afterId, 0);
  int('limit', limit, 1, 50_000);
  const rows = await q(db).selectFrom('credentials').select(['id', 'secret_sha256', 'secret_kind', 'principal_key']).where('id', '>', afterId).orderBy('id').limit(limit).execute();
  const keys = new Map<string, ReuseKey>();
  for (const r of rows) keys.set(reuseKeyOf(r), { secret_sha256: r.secret_sha256, secret_kind: r.secret_kind, principal_key: r.principal_key });
  return { lastId: rows.length > 0 ? num(rows[rows.length - 1].id) : afterId, keys: [...keys.values()] };
}

/** The groups of credentials one IP tried (at most `limit` groups, most recent first). */
export async function credentialKeysForIp(db: Db, attackerIp: string, limit = 1000): Promise<ReuseKey[]> {
  const rows = await q(db)
    .selectFrom('credentials')
    .select(['secret_sha256', 'secret_kind', 'principal_key'])
    .where('attacker_ip', '=', ip('attacker_ip', attackerIp))
    .groupBy(['secret_sha256', 'secret_kind', 'principal_key'])
    .orderBy(sql`max(${sql.ref('last_seen')})`, 'desc')
    .limit(int('limit', limit, 1, 10_000))
    .execute();
  return rows.map((r) => ({ secret_sha256: r.secret_sha256, secret_kind: r.secret_kind, principal_key: r.principal_key }));
}

/** Stored reuse rows for these groups, keyed by `secret_sha256 \0 secret_kind \0 principal_key`. */
export async function reuseRowsForKeys(db: Db, keys: readonly ReuseKey[]): Promise<Map<string, ReuseRow>> {
  const out = new Map<string, ReuseRow>();
  for (const group of chunks(keys, 100)) {
    const rows = await q(db)
      .selectFrom('credential_reuse')
      .selectAll()
      .where((eb) => eb.or(group.map((k) => eb.and([eb('secret_sha256', '=', k.secret_sha256), eb('secret_kind', '=', k.secret_kind), eb('principal_key', '=', k.principal_key)]))))
      .execute();
    for (const r of rows) out.set(reuseKeyOf(r), decodeReuse(r as Record<string, unknown>));
  }
  return out;
}

/**
 * Stores a reuse finding (one row per secret, kind and principal). Counts are replaced with the
 * finding's current totals, never added to, so running the correlator again does not inflate
 * them. Returns null when the finding is below `minTargets` (and, when given, `minAttackerIps`).
 */
export async function upsertCredentialReuse(db: Db, f: ReuseFinding, options: ReuseOptions & { confidence?: number } = {}): Promise<{ row: ReuseRow; inserted: boolean } | null> {
  const minTargets = int('minTargets', options.minTargets ?? 2, 2);
  const minIps = options.minAttackerIps === undefined ? null : int('minAttackerIps', options.minAttackerIps, 2);
  const enoughTargets = int('target_count', f.target_count, 0) >= minTargets;
  const enoughIps = minIps !== null && Array.isArray(f.attacker_ips) && f.attacker_ips.length >= minIps;
  if (!enoughTargets && !enoughIps) return null;
  const now = nowIso();
  const id = uuidv7();
  const lists = {
    attacker_uuids: json('attacker_uuids', f.attacker_uuids),
    attacker_ips: json('attacker_ips', f.attacker_ips),
    deckies: json('deckies', f.deckies),
    services: json('services', f.services),
  };
  const values = {
    id,
    secret_sha256: text('secret_sha256', f.secret_sha256, 'hash'),
    secret_kind: name('secret_kind', f.secret_kind),
    principal: optText('principal', f.principal, 'short'),
    principal_key: text('principal_key', f.principal_key ?? '', 'short'),
    ...lists,
    target_count: f.target_count,
    attempt_count: int('attempt_count', f.attempt_count, 0),
    confidence: real('confidence', options.confidence ?? 1, 0, 1),
    first_seen: time('first_seen', f.first_seen),
    last_seen: time('last_seen', f.last_seen),
    created_at: now,
    updated_at: now,
  };
  const row = await q(db)
    .insertInto('credential_reuse')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['secret_sha256', 'secret_kind', 'principal_key']).doUpdateSet({
        ...lists,
        principal: values.principal,
        target_count: values.target_count,
        attempt_count: values.attempt_count,
        confidence: values.confidence,
        first_seen: values.first_seen,
        last_seen: values.last_seen,
        updated_at: now,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
  return { row: decodeReuse(row as Record<string, unknown>), inserted: row.id === id };
}

function decodeReuse(r: Record<string, unknown>): ReuseRow {
  return {
    ...(r as unknown as ReuseRow),
    target_count: num(r.target_count),
    attempt_count: num(r.attempt_count),
    attacker_uuids: fromJson(r.attacker_uuids, []),
    attacker_ips: fromJson(r.attacker_ips, []),
    deckies: fromJson(r.deckies, []),
    services: fromJson(r.services, []),
  };
}

export async function listCredentialReuse(db: Db, request: PageRequest = {}): Promise<Page<ReuseRow>> {
  const { limit, offset } = pageArgs(request);
  const [rows, count] = await Promise.all([
    q(db).selectFrom('credential_reuse').selectAll().orderBy('last_seen', 'desc').orderBy('id').limit(limit).offset(offset).execute(),
    q(db).selectFrom('credential_reuse').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return page(num(count?.n), limit, offset, rows.map((r) => decodeReuse(r as Record<string, unknown>)));
}


/** One reuse finding by id (the API's detail view). */
export async function getCredentialReuse(db: Db, id: string): Promise<ReuseRow | undefined> {
  const row = await q(db).selectFrom('credential_reuse').selectAll().where('id', '=', name('id', id)).executeTakeFirst();
  return row ? decodeReuse(row as Record<string, unknown>) : undefined;
}
