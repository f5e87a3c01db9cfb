// Campaigns repository: groups of identities (the campaign clusterer) with soft merges.
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { IdentitiesTables } from '../identities/schema.ts';
import type { Db, Page, PageRequest } from '../types.ts';
import { LIST_COLUMNS, type CampaignsTables } from './schema.ts';
import { inTransaction, page, pageArgs } from '../query.ts';
import { DataError, fromJson, int, json, name, nowIso, num, optName, optText, real, time } from '../values.ts';

type ListColumn = (typeof LIST_COLUMNS)[number];

export interface CampaignRow extends Record<ListColumn, unknown[]> {
  uuid: string;
  schema_version: number;
  first_seen_at: string;
  last_seen_at: string;
  created_at: string;
  updated_at: string;
  confidence: number;
  identity_count: number;
  merged_into_uuid: string | null;
  notes: string | null;
}

export interface CampaignWrite extends Partial<Record<ListColumn, unknown[]>> {
  first_seen_at: string | Date | number;
  last_seen_at: string | Date | number;
  confidence?: number;
  identity_count?: number;
  notes?: string | null;
}

const q = (db: Db) => db.kysely as Kysely<CampaignsTables & IdentitiesTables>;

function lists(data: Partial<Record<ListColumn, unknown[]>>): Partial<Record<ListColumn, string>> {
  const out: Partial<Record<ListColumn, string>> = {};
  for (const c of LIST_COLUMNS) {
    if (data[c] === undefined) continue;
    if (!Array.isArray(data[c])) throw new DataError(c, 'expected a list');
    out[c] = json(c, data[c], 'bigJson');
  }
  return out;
}

export async function createCampaign(db: Db, data: CampaignWrite): Promise<string> {
  const now = nowIso();
  const uuid = uuidv7();
  await q(db)
    .insertInto('campaigns')
    .values({
      uuid,
      schema_version: 1,
      first_seen_at: time('first_seen_at', data.first_seen_at),
      last_seen_at: time('last_seen_at', data.last_seen_at),
      created_at: now,
      updated_at: now,
      confidence: real('confidence', data.confidence ?? 0, 0, 1),
      identity_count: int('identity_count', data.identity_count ?? 0, 0),
      ja3_hashes: '[]',
      hassh_hashes: '[]',
      tls_cert_sha256: '[]',
      payload_simhashes: '[]',
      c2_endpoints: '[]',
      ...lists(data),
      merged_into_uuid: null,
      notes: optText('notes', data.notes, 'text'),
    })
    .execute();
  return uuid;
}

export async function updateCampaign(db: Db, uuid: string, data: Partial<CampaignWrite>): Promise<void> {
  const set: Record<string, unknown> = { ...lists(data), updated_at: nowIso() };
  if (data.first_seen_at !== undefined) set.first_seen_at = time('first_seen_at', data.first_seen_at);
  if (data.last_seen_at !== undefined) set.last_seen_at = time('last_seen_at', data.last_seen_at);
  if (data.confidence !== undefined) set.confidence = real('confidence', data.confidence, 0, 1);
  if (data.identity_count !== undefined) set.identity_count = int('identity_count', data.identity_count, 0);
  if (data.notes !== undefined) set.notes = optText('notes', data.notes, 'text');
  await q(db).updateTable('campaigns').set(set).where('uuid', '=', name('uuid', uuid)).execute();
}

function decode(r: Record<string, unknown>): CampaignRow {
  const out = { ...r, confidence: num(r.confidence), identity_count: num(r.identity_count) } as Record<string, unknown>;
  for (const c of LIST_COLUMNS) out[c] = fromJson(r[c], []);
  return out as unknown as CampaignRow;
}

export async function getCampaign(db: Db, uuid: string): Promise<CampaignRow | undefined> {
  const row = await q(db).selectFrom('campaigns').selectAll().where('uuid', '=', name('uuid', uuid)).executeTakeFirst();
  return row ? decode(row as Record<string, unknown>) : undefined;
}

/** Assigns an identity to a campaign (null removes it). */
export async function setIdentityCampaign(db: Db, identityUuid: string, campaignUuid: string | null): Promise<void> {
  await q(db)
    .updateTable('attacker_identities')
    .set({ campaign_id: optName('campaign_uuid', campaignUuid), updated_at: nowIso() })
    .where('uuid', '=', name('identity_uuid', identityUuid))
    .execute();
}

/** Soft-merges one campaign into another (null undoes it); refuses a cycle. */
export async function setCampaignMergedInto(db: Db, loser: string, winner: string | null): Promise<void> {
  const from = name('loser', loser);
  const into = optName('winner', winner);
  await inTransaction(db, async (tx) => {
    let cursor = into;
    for (let depth = 0; cursor && depth < 64; depth++) {
      if (cursor === from) throw new DataError('winner', `merging ${from} into ${into} would make a cycle`);
      const next = await q(tx).selectFrom('campaigns').select('merged_into_uuid').where('uuid', '=', cursor).executeTakeFirst();
      if (!next) {
        if (depth === 0) throw new DataError('winner', `no campaign ${into}`);
        break;
      }
      cursor = next.merged_into_uuid;
    }
    await q(tx).updateTable('campaigns').set({ merged_into_uuid: into, updated_at: nowIso() }).where('uuid', '=', from).execute();
  });
}

export async function listActiveCampaigns(db: Db, limit = 10_000): Promise<CampaignRow[]> {
  const rows = await q(db).selectFrom('campaigns').selectAll().where('merged_into_uuid', 'is', null).orderBy('last_seen_at', 'desc').limit(int('limit', limit, 1, 100_000)).execute();
  return rows.map((r) => decode(r as Record<string, unknown>));
}

export async function listCampaigns(db: Db, request: PageRequest & { include_merged?: boolean } = {}): Promise<Page<CampaignRow>> {
  const { limit, offset } = pageArgs(request);
  let query = q(db).selectFrom('campaigns');
  if (!request.include_merged) query = query.where('merged_into_uuid', 'is', null);
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('last_seen_at', 'desc').orderBy('uuid').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return page(num(count?.n), limit, offset, rows.map((r) => decode(r as Record<string, unknown>)));
}
