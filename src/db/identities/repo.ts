// Identities repository: actors made of one or more attacker rows (the clusterer and the
// attribution worker), with soft merges that readers resolve by following merged_into_uuid.
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { AttackersTables } from '../attackers/schema.ts';
import type { Db, Page, PageRequest } from '../types.ts';
import { LIST_COLUMNS, type IdentitiesTables } from './schema.ts';
import { inTransaction, page, pageArgs } from '../query.ts';
import { DataError, fromJson, int, json, name, nowIso, num, optName, optText, real, time } from '../values.ts';

type ListColumn = (typeof LIST_COLUMNS)[number];
export type IdentityLists = Partial<Record<ListColumn, unknown[]>>;

export interface IdentityRow extends Record<ListColumn, unknown[]> {
  uuid: string;
  schema_version: number;
  campaign_id: string | null;
  first_seen_at: string;
  last_seen_at: string;
  created_at: string;
  updated_at: string;
  confidence: number;
  observation_count: number;
  kd_digraph_simhash: Uint8Array | null;
  merged_into_uuid: string | null;
  notes: string | null;
}

const q = (db: Db) => db.kysely as Kysely<IdentitiesTables & AttackersTables>;

function listValues(lists: IdentityLists | undefined): Partial<Record<ListColumn, string>> {
  const out: Partial<Record<ListColumn, string>> = {};
  for (const column of LIST_COLUMNS) {
    const v = lists?.[column];
    if (v === undefined) continue;
    if (!Array.isArray(v)) throw new DataError(column, 'expected a list');
    out[column] = json(column, v, 'bigJson');
  }
  return out;
}

function simhash(value: Uint8Array | null | undefined): Uint8Array | null {
  if (value === undefined || value === null) return null;
  if (!(value instanceof Uint8Array) || value.length !== 8) throw new DataError('kd_digraph_simhash', 'expected 8 bytes');
  return value;
}

export interface IdentityCreate extends IdentityLists {
  first_seen_at: string | Date | number;
  last_seen_at: string | Date | number;
  confidence?: number;
  observation_count?: number;
  campaign_id?: string | null;
  kd_digraph_simhash?: Uint8Array | null;
  notes?: string | null;
}

export async function createIdentity(db: Db, data: IdentityCreate): Promise<string> {
  const now = nowIso();
  const uuid = uuidv7();
  await q(db)
    .insertInto('attacker_identities')
    .values({
      uuid,
      schema_version: 1,
      campaign_id: optName('campaign_id', data.campaign_id),
      first_seen_at: time('first_seen_at', data.first_seen_at),
      last_seen_at: time('last_seen_at', data.last_seen_at),
      created_at: now,
      updated_at: now,
      confidence: real('confidence', data.confidence ?? 0, 0, 1),
      observation_count: int('observation_count', data.observation_count ?? 0, 0),
      ja3_hashes: '[]',
      hassh_hashes: '[]',
      ja4h_hashes: '[]',
      ja4_quic_hashes: '[]',
      http_versions_seen: '[]',
      tls_cert_sha256: '[]',
      ipv6_link_local_iids: '[]',
      payload_simhashes: '[]',
      c2_endpoints: '[]',
      ...listValues(data),
      kd_digraph_simhash: simhash(data.kd_digraph_simhash),
      merged_into_uuid: null,
      notes: optText('notes', data.notes, 'text'),
    })
    .execute();
  return uuid;
}

function decodeIdentity(r: Record<string, unknown>): IdentityRow {
  const out = { ...r, confidence: num(r.confidence), observation_count: num(r.observation_count) } as Record<string, unknown>;
  for (const column of LIST_COLUMNS) out[column] = fromJson(r[column], []);
  return out as unknown as IdentityRow;
}

export async function getIdentity(db: Db, uuid: string): Promise<IdentityRow | undefined> {
  const row = await q(db).selectFrom('attacker_identities').selectAll().where('uuid', '=', name('uuid', uuid)).executeTakeFirst();
  return row ? decodeIdentity(row as Record<string, unknown>) : undefined;
}

const MAX_MERGE_DEPTH = 64;

/** The identity a uuid resolves to after following soft merges (cycle-safe). */
export async function resolveIdentity(db: Db, uuid: string): Promise<IdentityRow | undefined> {
  const seen = new Set<string>();
  let current = await getIdentity(db, uuid);
  while (current?.merged_into_uuid && !seen.has(current.uuid) && seen.size < MAX_MERGE_DEPTH) {
    seen.add(current.uuid);
    const next = await getIdentity(db, current.merged_into_uuid);
    if (!next) break;
    current = next;
  }
  return current;
}

/** Links an attacker row to an identity. */
export async function setAttackerIdentity(db: Db, attackerUuid: string, identityUuid: string | null): Promise<void> {
  await q(db)
    .updateTable('attackers')
    .set({ identity_id: optName('identity_uuid', identityUuid), updated_at: nowIso() })
    .where('uuid', '=', name('attacker_uuid', attackerUuid))
    .execute();
}

/**
 * The identity of an attacker; when it has none, a new one-attacker identity is created and
 * linked. Idempotent, also when two workers ask at once (one transaction holds the write lock).
 */
export async function ensureStubIdentityForAttacker(db: Db, attackerUuid: string): Promise<{ identity_uuid: string; created: boolean }> {
  const uuid = name('attacker_uuid', attackerUuid);
  return inTransaction(db, async (tx) => {
    const attacker = await q(tx).selectFrom('attackers').select(['identity_id', 'first_seen', 'last_seen']).where('uuid', '=', uuid).executeTakeFirst();
    if (!attacker) throw new DataError('attacker_uuid', `no attacker ${uuid}`);
    if (attacker.identity_id) return { identity_uuid: attacker.identity_id, created: false };
    const identity = await createIdentity(tx, { first_seen_at: attacker.first_seen, last_seen_at: attacker.last_seen });
    await q(tx).updateTable('attackers').set({ identity_id: identity }).where('uuid', '=', uuid).where('identity_id', 'is', null).execute();
    return { identity_uuid: identity, created: true };
  });
}

/** Soft-merges `loser` into `winner` (or undoes it with null). Refuses a merge that would make a cycle. */
export async function setIdentityMergedInto(db: Db, loser: string, winner: string | null): Promise<void> {
  const from = name('loser', loser);
  const into = optName('winner', winner);
  await inTransaction(db, async (tx) => {
    if (into) {
      if (into === from) throw new DataError('winner', 'an identity cannot be merged into itself');
      const target = await resolveIdentity(tx, into);
      if (!target) throw new DataError('winner', `no identity ${into}`);
      if (target.uuid === from) throw new DataError('winner', `merging ${from} into ${into} would make a cycle`);
    }
    await q(tx).updateTable('attacker_identities').set({ merged_into_uuid: into, updated_at: nowIso() }).where('uuid', '=', from).execute();
  });
}

export interface IdentityUpdate extends IdentityLists {
  first_seen_at?: string | Date | number;
  last_seen_at?: string | Date | number;
  confidence?: number;
  observation_count?: number;
  kd_digraph_simhash?: Uint8Array | null;
  notes?: string | null;
}

/** Replaces the fingerprint lists and counters the clusterer computed. */
export async function updateIdentity(db: Db, uuid: string, data: IdentityUpdate): Promise<void> {
  const set: Record<string, unknown> = { ...listValues(data), updated_at: nowIso() };
  if (data.first_seen_at !== undefined) set.first_seen_at = time('first_seen_at', data.first_seen_at);
  if (data.last_seen_at !== undefined) set.last_seen_at = time('last_seen_at', data.last_seen_at);
  if (data.confidence !== undefined) set.confidence = real('confidence', data.confidence, 0, 1);
  if (data.observation_count !== undefined) set.observation_count = int('observation_count', data.observation_count, 0);
  if (data.kd_digraph_simhash !== undefined) set.kd_digraph_simhash = simhash(data.kd_digraph_simhash);
  if (data.notes !== undefined) set.notes = optText('notes', data.notes, 'text');
  await q(db).updateTable('attacker_identities').set(set).where('uuid', '=', name('uuid', uuid)).execute();
}

/** Live (not merged) identities, for clustering. */
export async function listActiveIdentities(db: Db, limit = 10_000): Promise<IdentityRow[]> {
  const rows = await q(db)
    .selectFrom('attacker_identities')
    .selectAll()
    .where('merged_into_uuid', 'is', null)
    .orderBy('last_seen_at', 'desc')
    .limit(int('limit', limit, 1, 100_000))
    .execute();
  return rows.map((r) => decodeIdentity(r as Record<string, unknown>));
}

export interface ClusteringAttacker {
  uuid: string;
  ip: string;
  identity_id: string | null;
  first_seen: string;
  last_seen: string;
  fingerprints: unknown[];
  services: string[];
}

/** Attacker rows with what the identity clusterer compares. */
export async function listAttackersForClustering(db: Db, options: { since?: string | Date | number; limit?: number } = {}): Promise<ClusteringAttacker[]> {
  let query = q(db).selectFrom('attackers').select(['uuid', 'ip', 'identity_id', 'first_seen', 'last_seen', 'fingerprints', 'services']);
  if (options.since !== undefined) query = query.where('last_seen', '>=', time('since', options.since));
  const rows = await query.orderBy('last_seen', 'desc').limit(int('limit', options.limit ?? 10_000, 1, 100_000)).execute();
  return rows.map((r) => ({ ...r, fingerprints: fromJson<unknown[]>(r.fingerprints, []), services: fromJson<string[]>(r.services, []) }));
}

export async function attackersOfIdentity(db: Db, identityUuid: string): Promise<{ uuid: string; ip: string }[]> {
  return q(db).selectFrom('attackers').select(['uuid', 'ip']).where('identity_id', '=', name('identity_uuid', identityUuid)).orderBy('first_seen').execute();
}

export async function listIdentities(db: Db, request: PageRequest & { campaign_id?: string | null; include_merged?: boolean } = {}): Promise<Page<IdentityRow>> {
  const { limit, offset } = pageArgs(request);
  let query = q(db).selectFrom('attacker_identities');
  if (!request.include_merged) query = query.where('merged_into_uuid', 'is', null);
  if (request.campaign_id) query = query.where('campaign_id', '=', name('campaign_id', request.campaign_id));
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('last_seen_at', 'desc').orderBy('uuid').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return page(num(count?.n), limit, offset, rows.map((r) => decodeIdentity(r as Record<string, unknown>)));
}

