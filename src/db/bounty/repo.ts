// Bounty repository: harvested fingerprints and artefacts (the ingester, the orchestrator), read
// back per attacker by the profiler; and the fleet-wide register of attachment hashes.
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { Db, Page, PageRequest } from '../types.ts';
import type { BountyTables } from './schema.ts';
import { chunks, containsText, inTransaction, page, pageArgs } from '../query.ts';
import { DataError, fromJson, fromOptBool, hex, ip, json, name, num, optBool, optIp, optName, optText, stringList, text, time } from '../values.ts';

export interface BountyInput {
  ts: string | Date | number;
  decky?: string | null;
  service?: string | null;
  attacker_ip?: string | null;
  /** fingerprint, artifact, ip_leak, … */
  bounty_type: string;
  payload: unknown;
}

export interface BountyRow {
  id: number;
  ts: string;
  decky: string | null;
  service: string | null;
  attacker_ip: string | null;
  bounty_type: string;
  payload: unknown;
}

const q = (db: Db) => db.kysely as Kysely<BountyTables>;

function bountyValues(b: BountyInput, at: string) {
  if (b === null || typeof b !== 'object') throw new DataError(at, 'expected a bounty object');
  const type = name(`${at}.bounty_type`, b.bounty_type);
  const attackerIp = optIp(`${at}.attacker_ip`, b.attacker_ip);
  const payload = json(`${at}.payload`, b.payload);
  // The same finding (type, IP, payload) is stored once; the key is a digest so it indexes small.
  const dedupe = createHash('sha256').update(`${type}\0${attackerIp ?? ''}\0${payload}`).digest();
  return {
    ts: time(`${at}.ts`, b.ts),
    decky: optName(`${at}.decky`, b.decky),
    service: optName(`${at}.service`, b.service),
    attacker_ip: attackerIp,
    bounty_type: type,
    payload,
    dedupe_key: dedupe,
  };
}

/** Stores the findings not stored before; returns how many were new. */
export async function addBounties(db: Db, bounties: readonly BountyInput[]): Promise<number> {
  const rows = bounties.map((b, i) => bountyValues(b, `bounties[${i}]`));
  if (rows.length === 0) return 0;
  return inTransaction(db, async (tx) => {
    let inserted = 0;
    for (const group of chunks(rows, 100)) {
      const result = await q(tx).insertInto('bounty').values(group).onConflict((oc) => oc.column('dedupe_key').doNothing()).executeTakeFirst();
      inserted += Number(result.numInsertedOrUpdatedRows ?? 0n);
    }
    return inserted;
  });
}

export async function addBounty(db: Db, bounty: BountyInput): Promise<boolean> {
  return (await addBounties(db, [bounty])) === 1;
}

function decodeBounty(r: Record<string, unknown>): BountyRow {
  return {
    id: num(r.id),
    ts: r.ts as string,
    decky: (r.decky as string | null) ?? null,
    service: (r.service as string | null) ?? null,
    attacker_ip: (r.attacker_ip as string | null) ?? null,
    bounty_type: r.bounty_type as string,
    payload: fromJson(r.payload, null),
  };
}

const BOUNTY_COLUMNS = ['id', 'ts', 'decky', 'service', 'attacker_ip', 'bounty_type', 'payload'] as const;

export interface BountyListRequest extends PageRequest {
  bounty_type?: string | null;
  /** Substring of decky, service, attacker IP or the payload text. */
  search?: string | null;
}

/** One page of findings, newest first. */
export async function listBounties(db: Db, request: BountyListRequest = {}): Promise<Page<BountyRow>> {
  const { limit, offset } = pageArgs(request);
  let query = q(db).selectFrom('bounty');
  if (request.bounty_type) query = query.where('bounty_type', '=', name('bounty_type', request.bounty_type));
  if (request.search) {
    const needle = text('search', request.search, 'short');
    const payloadText = db.dialect === 'postgres' ? sql`${sql.ref('payload')}::text` : sql.ref('payload');
    query = query.where((eb) => eb.or([...['decky', 'service', 'attacker_ip'].map((c) => containsText(db, sql.ref(c), needle)), containsText(db, payloadText, needle)]));
  }
  const [rows, count] = await Promise.all([
    query.select(BOUNTY_COLUMNS).orderBy('id', 'desc').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return page(num(count?.n), limit, offset, rows.map((r) => decodeBounty(r as Record<string, unknown>)));
}

/** Every finding for these IPs (the profiler rebuilds fingerprints and counts from them), oldest first. */
export async function bountiesForIps(db: Db, addresses: readonly string[], bountyType?: string): Promise<BountyRow[]> {
  const ips = [...new Set(addresses.map((a, i) => ip(`ips[${i}]`, a)))];
  const out: BountyRow[] = [];
  for (const group of chunks(ips, 500)) {
    let query = q(db).selectFrom('bounty').select(BOUNTY_COLUMNS).where('attacker_ip', 'in', group);
    if (bountyType) query = query.where('bounty_type', '=', name('bounty_type', bountyType));
    for (const r of await query.orderBy('id').execute()) out.push(decodeBounty(r as Record<string, unknown>));
  }
  return out;
}

export async function countBountiesForIp(db: Db, address: string): Promise<number> {
  const row = await q(db).selectFrom('bounty').select((eb) => eb.fn.countAll().as('n')).where('attacker_ip', '=', ip('attacker_ip', address)).executeTakeFirst();
  return num(row?.n);
}

/** Deletes findings older than `before` (all when omitted); returns how many. */
export async function purgeBounties(db: Db, before?: string | Date | number): Promise<number> {
  let query = q(db).deleteFrom('bounty');
  if (before !== undefined) query = query.where('ts', '<', time('before', before));
  return Number((await query.executeTakeFirst()).numDeletedRows);
}

// ---- observed attachments ----------------------------------------------------------------------

export interface AttachmentSighting {
  sha256: string;
  seen_at: string | Date | number;
  decky_uuid?: string | null;
  attacker_uuid?: string | null;
  extensions?: string[];
  subject?: string | null;
  /** Malware-hash verdict of this check: true, false, or null/undefined when not checked. */
  mal_hash_match?: boolean | null;
  mal_hash_match_provider?: string | null;
}

export interface AttachmentRow {
  uuid: string;
  sha256: string;
  first_seen: string;
  last_seen: string;
  observation_count: number;
  first_seen_decky_uuid: string | null;
  first_seen_attacker_uuid: string | null;
  last_seen_attacker_uuid: string | null;
  extensions: string[];
  first_subject: string | null;
  mal_hash_match: boolean | null;
  mal_hash_match_provider: string | null;
  mal_hash_match_at: string | null;
}

/**
 * Records a sighting of an attachment hash. The first sighting fixes first_* columns; later
 * ones count, move last_seen and merge extensions. A malicious verdict is sticky: once true it
 * stays true whatever later checks say.
 */
export async function upsertObservedAttachment(db: Db, s: AttachmentSighting): Promise<AttachmentRow> {
  const sha = hex('sha256', s.sha256, 64);
  const seen = time('seen_at', s.seen_at);
  const verdict = optBool('mal_hash_match', s.mal_hash_match);
  const provider = optText('mal_hash_match_provider', s.mal_hash_match_provider, 'name');
  const extensions = stringList('extensions', s.extensions, 'name', 100);
  return inTransaction(db, async (tx) => {
    const existing = await q(tx).selectFrom('observed_attachments').selectAll().where('sha256', '=', sha).executeTakeFirst();
    if (!existing) {
      const row = {
        uuid: uuidv7(),
        sha256: sha,
        first_seen: seen,
        last_seen: seen,
        observation_count: 1,
        first_seen_decky_uuid: optName('decky_uuid', s.decky_uuid),
        first_seen_attacker_uuid: optName('attacker_uuid', s.attacker_uuid),
        last_seen_attacker_uuid: optName('attacker_uuid', s.attacker_uuid),
        extensions: json('extensions', [...new Set(extensions)].sort()),
        first_subject: optText('subject', s.subject, 'short'),
        mal_hash_match: verdict,
        mal_hash_match_provider: verdict === null ? null : provider,
        mal_hash_match_at: verdict === null ? null : seen,
      };
      await q(tx).insertInto('observed_attachments').values(row).execute();
      return decodeAttachment(row as Record<string, unknown>);
    }
    const prior = fromOptBool(existing.mal_hash_match);
    const sticky = prior === true;
    const merged = [...new Set([...fromJson<string[]>(existing.extensions, []), ...extensions])].sort();
    const update = {
      last_seen: seen > existing.last_seen ? seen : existing.last_seen,
      observation_count: num(existing.observation_count) + 1,
      last_seen_attacker_uuid: optName('attacker_uuid', s.attacker_uuid) ?? existing.last_seen_attacker_uuid,
      extensions: json('extensions', merged),
      ...(verdict !== null && !sticky ? { mal_hash_match: verdict, mal_hash_match_provider: provider, mal_hash_match_at: seen } : {}),
    };
    await q(tx).updateTable('observed_attachments').set(update).where('sha256', '=', sha).execute();
    return decodeAttachment({ ...existing, ...update } as Record<string, unknown>);
  });
}

function decodeAttachment(r: Record<string, unknown>): AttachmentRow {
  return {
    ...(r as unknown as AttachmentRow),
    observation_count: num(r.observation_count),
    extensions: fromJson(r.extensions, []),
    mal_hash_match: fromOptBool(r.mal_hash_match),
  };
}

export async function getObservedAttachment(db: Db, sha256: string): Promise<AttachmentRow | undefined> {
  const row = await q(db).selectFrom('observed_attachments').selectAll().where('sha256', '=', hex('sha256', sha256, 64)).executeTakeFirst();
  return row ? decodeAttachment(row as Record<string, unknown>) : undefined;
}
