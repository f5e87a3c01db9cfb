// Canary repository: source blobs (deduplicated by hash), planted tokens and their triggers.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { Db } from '../types.ts';
import type { CanaryTables } from './schema.ts';
import { inTransaction } from '../query.ts';
import { ConflictError, DataError, fromJson, hex, int, json, name, nowIso, num, oneOf, optIp, optName, optText, optTime, text, time } from '../values.ts';

export const TOKEN_KINDS = ['http', 'dns', 'aws_passive'] as const;
export const TOKEN_STATES = ['planted', 'revoked', 'failed'] as const;
/** Callback slugs are lower-case so DNS (case-insensitive) and HTTP look-ups agree. */
const SLUG = /^[a-z0-9][a-z0-9-]{5,62}$/;

const q = (db: Db) => db.kysely as Kysely<CanaryTables>;

// ---- blobs -------------------------------------------------------------------------------------

export interface BlobRow {
  uuid: string;
  sha256: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  uploaded_by: string | null;
  uploaded_at: string;
}

/** Registers an uploaded artefact, or returns the existing row with the same hash. */
export async function upsertCanaryBlob(db: Db, b: { sha256: string; filename: string; content_type: string; size_bytes: number; uploaded_by?: string | null }): Promise<{ row: BlobRow; created: boolean }> {
  const sha = hex('sha256', b.sha256, 64);
  const values = {
    uuid: uuidv7(),
    sha256: sha,
    filename: text('filename', b.filename, 'short'),
    content_type: name('content_type', b.content_type),
    size_bytes: int('size_bytes', b.size_bytes, 0),
    uploaded_by: optName('uploaded_by', b.uploaded_by),
    uploaded_at: nowIso(),
  };
  return inTransaction(db, async (tx) => {
    const inserted = await q(tx).insertInto('canary_blobs').values(values).onConflict((oc) => oc.column('sha256').doNothing()).executeTakeFirst();
    const row = await q(tx).selectFrom('canary_blobs').selectAll().where('sha256', '=', sha).executeTakeFirstOrThrow();
    return { row: { ...row, size_bytes: num(row.size_bytes) }, created: Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1 };
  });
}

/** Blobs with how many tokens use each. */
export async function listCanaryBlobs(db: Db): Promise<(BlobRow & { token_count: number })[]> {
  const rows = await q(db)
    .selectFrom('canary_blobs as b')
    .leftJoin('canary_tokens as t', 't.blob_uuid', 'b.uuid')
    .select((eb) => ['b.uuid', 'b.sha256', 'b.filename', 'b.content_type', 'b.size_bytes', 'b.uploaded_by', 'b.uploaded_at', eb.fn.count('t.uuid').as('token_count')])
    .groupBy(['b.uuid', 'b.sha256', 'b.filename', 'b.content_type', 'b.size_bytes', 'b.uploaded_by', 'b.uploaded_at'])
    .orderBy('b.uploaded_at', 'desc')
    .execute();
  return rows.map((r) => ({ ...r, size_bytes: num(r.size_bytes), token_count: num(r.token_count) }));
}

/** Deletes a blob; refused while a token references it. */
export async function deleteCanaryBlob(db: Db, uuid: string): Promise<boolean> {
  const id = name('uuid', uuid);
  return inTransaction(db, async (tx) => {
    const used = await q(tx).selectFrom('canary_tokens').select((eb) => eb.fn.countAll().as('n')).where('blob_uuid', '=', id).executeTakeFirst();
    if (num(used?.n) > 0) throw new ConflictError(`blob ${id} is used by ${num(used?.n)} canary token(s); revoke and delete them first`);
    return (await q(tx).deleteFrom('canary_blobs').where('uuid', '=', id).executeTakeFirst()).numDeletedRows > 0n;
  });
}

// ---- tokens ------------------------------------------------------------------------------------

export interface TokenInput {
  kind: (typeof TOKEN_KINDS)[number];
  decky_name: string;
  topology_id?: string | null;
  blob_uuid?: string | null;
  instrumenter?: string | null;
  generator?: string | null;
  placement_path: string;
  /** Callback slug; a random one is minted when omitted. */
  callback_token?: string;
  created_by: string;
  state?: (typeof TOKEN_STATES)[number];
  placed_at?: string | Date | number | null;
}

export interface TokenRow {
  uuid: string;
  kind: string;
  decky_name: string;
  topology_id: string | null;
  blob_uuid: string | null;
  instrumenter: string | null;
  generator: string | null;
  placement_path: string;
  callback_token: string;
  secret_seed: string;
  placed_at: string | null;
  last_triggered_at: string | null;
  trigger_count: number;
  created_by: string;
  state: string;
  last_error: string | null;
  fingerprint_nonce: string;
  created_at: string;
}

function slug(value: unknown): string {
  const s = text('callback_token', value, 'name').toLowerCase();
  if (!SLUG.test(s)) throw new DataError('callback_token', 'must be 6-63 characters of a-z, 0-9 and -, starting with a letter or digit');
  return s;
}

export async function createCanaryToken(db: Db, t: TokenInput): Promise<TokenRow> {
  if (!t.blob_uuid && !t.generator) throw new DataError('token', 'a token needs blob_uuid (an uploaded artefact) or generator');
  const path = text('placement_path', t.placement_path, 'url');
  if (!path.startsWith('/')) throw new DataError('placement_path', 'must be an absolute path inside the decky');
  const row: TokenRow = {
    uuid: uuidv7(),
    kind: oneOf('kind', t.kind, TOKEN_KINDS),
    decky_name: name('decky_name', t.decky_name),
    topology_id: optName('topology_id', t.topology_id),
    blob_uuid: optName('blob_uuid', t.blob_uuid),
    instrumenter: optName('instrumenter', t.instrumenter),
    generator: optName('generator', t.generator),
    placement_path: path,
    callback_token: t.callback_token === undefined ? randomBytes(12).toString('hex') : slug(t.callback_token),
    secret_seed: randomBytes(32).toString('hex'),
    placed_at: optTime('placed_at', t.placed_at),
    last_triggered_at: null,
    trigger_count: 0,
    created_by: name('created_by', t.created_by),
    state: oneOf('state', t.state ?? 'planted', TOKEN_STATES),
    last_error: null,
    fingerprint_nonce: randomBytes(8).toString('hex'),
    created_at: nowIso(),
  };
  await q(db).insertInto('canary_tokens').values(row).execute();
  return row;
}

const decodeToken = (r: Record<string, unknown>): TokenRow => ({ ...(r as unknown as TokenRow), trigger_count: num(r.trigger_count) });

export async function getCanaryToken(db: Db, uuid: string): Promise<TokenRow | undefined> {
  const row = await q(db).selectFrom('canary_tokens').selectAll().where('uuid', '=', name('uuid', uuid)).executeTakeFirst();
  return row ? decodeToken(row as Record<string, unknown>) : undefined;
}

/** The token of a callback slug, whatever case it arrives in (DNS labels are case-insensitive). */
export async function getCanaryTokenBySlug(db: Db, callbackToken: string): Promise<TokenRow | undefined> {
  if (typeof callbackToken !== 'string' || callbackToken.length > 63) return undefined;
  const row = await q(db).selectFrom('canary_tokens').selectAll().where('callback_token', '=', callbackToken.toLowerCase()).executeTakeFirst();
  return row ? decodeToken(row as Record<string, unknown>) : undefined;
}

export async function listCanaryTokens(db: Db, filter: { decky_name?: string; state?: string; kind?: string; topology_id?: string } = {}): Promise<{ tokens: TokenRow[]; total: number }> {
  let query = q(db).selectFrom('canary_tokens').selectAll();
  if (filter.decky_name) query = query.where('decky_name', '=', name('decky_name', filter.decky_name));
  if (filter.state) query = query.where('state', '=', oneOf('state', filter.state, TOKEN_STATES));
  if (filter.kind) query = query.where('kind', '=', oneOf('kind', filter.kind, TOKEN_KINDS));
  if (filter.topology_id) query = query.where('topology_id', '=', name('topology_id', filter.topology_id));
  const tokens = (await query.orderBy('created_at', 'desc').execute()).map((r) => decodeToken(r as Record<string, unknown>));
  return { tokens, total: tokens.length };
}

export async function updateCanaryTokenState(db: Db, uuid: string, state: (typeof TOKEN_STATES)[number], lastError: string | null = null): Promise<boolean> {
  const result = await q(db)
    .updateTable('canary_tokens')
    .set({ state: oneOf('state', state, TOKEN_STATES), last_error: optText('last_error', lastError, 'text'), ...(state === 'planted' ? { placed_at: nowIso() } : {}) })
    .where('uuid', '=', name('uuid', uuid))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

// ---- triggers ----------------------------------------------------------------------------------

export interface TriggerInput {
  token_uuid: string;
  occurred_at: string | Date | number;
  src_ip?: string | null;
  user_agent?: string | null;
  request_path?: string | null;
  dns_qname?: string | null;
  headers?: Record<string, string>;
  attacker_id?: string | null;
}

export interface TriggerRow {
  uuid: string;
  token_uuid: string;
  occurred_at: string;
  src_ip: string | null;
  user_agent: string | null;
  request_path: string | null;
  dns_qname: string | null;
  headers: Record<string, string>;
  attacker_id: string | null;
}

/** Records a callback hit and bumps the token's counters, in one transaction. */
export async function recordCanaryTrigger(db: Db, t: TriggerInput): Promise<TriggerRow> {
  const row = {
    uuid: uuidv7(),
    token_uuid: name('token_uuid', t.token_uuid),
    occurred_at: time('occurred_at', t.occurred_at),
    src_ip: optIp('src_ip', t.src_ip),
    user_agent: optText('user_agent', t.user_agent, 'short'),
    request_path: optText('request_path', t.request_path, 'url'),
    dns_qname: optText('dns_qname', t.dns_qname, 'short'),
    raw_headers: json('headers', t.headers ?? {}),
    attacker_id: optName('attacker_id', t.attacker_id),
  };
  await inTransaction(db, async (tx) => {
    await q(tx).insertInto('canary_triggers').values(row).execute();
    await q(tx)
      .updateTable('canary_tokens')
      .set((eb) => ({ trigger_count: eb('trigger_count', '+', 1), last_triggered_at: row.occurred_at }))
      .where('uuid', '=', row.token_uuid)
      .execute();
  });
  const { raw_headers: _h, ...rest } = row;
  return { ...rest, headers: t.headers ?? {} };
}

export async function listCanaryTriggers(db: Db, tokenUuid: string, limit = 100): Promise<{ triggers: TriggerRow[]; total: number }> {
  const id = name('token_uuid', tokenUuid);
  const [rows, count] = await Promise.all([
    q(db).selectFrom('canary_triggers').selectAll().where('token_uuid', '=', id).orderBy('occurred_at', 'desc').limit(int('limit', limit, 1, 500)).execute(),
    q(db).selectFrom('canary_triggers').select((eb) => eb.fn.countAll().as('n')).where('token_uuid', '=', id).executeTakeFirst(),
  ]);
  return {
    triggers: rows.map(({ raw_headers, ...r }) => ({ ...r, headers: fromJson<Record<string, string>>(raw_headers, {}) })),
    total: num(count?.n),
  };
}

/** Attributes the unattributed triggers from an IP to an attacker; returns how many. */
export async function attributeCanaryTriggers(db: Db, srcIp: string, attackerUuid: string): Promise<number> {
  const result = await q(db)
    .updateTable('canary_triggers')
    .set({ attacker_id: name('attacker_uuid', attackerUuid) })
    .where('src_ip', '=', optIp('src_ip', srcIp))
    .where('attacker_id', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
