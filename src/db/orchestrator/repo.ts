// Orchestrator repository: the synthetic traffic and mail between deckies, capped per destination.
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { Db, Page, PageRequest } from '../types.ts';
import type { OrchestratorTables } from './schema.ts';
import { page, pageArgs } from '../query.ts';
import { bool, fromBool, fromJson, int, json, name, num, oneOf, optName, optText, text, time } from '../values.ts';

export const EVENT_KINDS = ['traffic', 'file'] as const;
/** Rows kept per destination decky; older ones are pruned. */
export const PER_DECKY_CAP = 10_000;

export interface OrchestratorEventInput {
  ts?: string | Date | number;
  kind: (typeof EVENT_KINDS)[number];
  protocol?: string | null;
  action: string;
  src_decky_uuid?: string | null;
  dst_decky_uuid: string;
  success: boolean;
  payload?: unknown;
}

export interface OrchestratorEventRow {
  uuid: string;
  ts: string;
  kind: string;
  protocol: string | null;
  action: string;
  src_decky_uuid: string | null;
  dst_decky_uuid: string;
  success: boolean;
  payload: unknown;
}

const q = (db: Db) => db.kysely as Kysely<OrchestratorTables>;

export async function recordOrchestratorEvent(db: Db, e: OrchestratorEventInput): Promise<string> {
  const uuid = uuidv7();
  await q(db)
    .insertInto('orchestrator_events')
    .values({
      uuid,
      ts: time('ts', e.ts ?? Date.now()),
      kind: oneOf('kind', e.kind, EVENT_KINDS),
      protocol: optName('protocol', e.protocol),
      action: text('action', e.action, 'short'),
      src_decky_uuid: optName('src_decky_uuid', e.src_decky_uuid),
      dst_decky_uuid: name('dst_decky_uuid', e.dst_decky_uuid),
      success: bool('success', e.success),
      payload: e.payload === undefined ? null : json('payload', e.payload),
    })
    .execute();
  return uuid;
}

const decodeEvent = (r: Record<string, unknown>): OrchestratorEventRow => ({ ...(r as unknown as OrchestratorEventRow), success: fromBool(r.success), payload: fromJson(r.payload, null) });

export async function listOrchestratorEvents(db: Db, request: PageRequest & { dst_decky_uuid?: string; kind?: (typeof EVENT_KINDS)[number] } = {}): Promise<Page<OrchestratorEventRow>> {
  const { limit, offset } = pageArgs(request);
  let query = q(db).selectFrom('orchestrator_events');
  if (request.dst_decky_uuid) query = query.where('dst_decky_uuid', '=', name('dst_decky_uuid', request.dst_decky_uuid));
  if (request.kind) query = query.where('kind', '=', oneOf('kind', request.kind, EVENT_KINDS));
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('ts', 'desc').orderBy('uuid', 'desc').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return page(num(count?.n), limit, offset, rows.map((r) => decodeEvent(r as Record<string, unknown>)));
}

/** Keeps the newest `cap` events of one destination; returns how many were deleted. */
export async function pruneOrchestratorEvents(db: Db, dstDeckyUuid: string, cap = PER_DECKY_CAP): Promise<number> {
  const dst = name('dst_decky_uuid', dstDeckyUuid);
  const boundary = await q(db).selectFrom('orchestrator_events').select(['ts', 'uuid']).where('dst_decky_uuid', '=', dst).orderBy('ts', 'desc').orderBy('uuid', 'desc').offset(int('cap', cap, 1)).limit(1).executeTakeFirst();
  if (!boundary) return 0;
  const result = await q(db)
    .deleteFrom('orchestrator_events')
    .where('dst_decky_uuid', '=', dst)
    .where((eb) => eb.or([eb('ts', '<', boundary.ts), eb.and([eb('ts', '=', boundary.ts), eb('uuid', '<=', boundary.uuid)])]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

// ---- e-mails -----------------------------------------------------------------------------------

export interface OrchestratorEmailInput {
  ts?: string | Date | number;
  mail_decky_uuid: string;
  thread_id: string;
  message_id: string;
  in_reply_to?: string | null;
  sender_email: string;
  recipient_email: string;
  subject: string;
  language?: string | null;
  eml_path?: string | null;
  success: boolean;
  payload?: unknown;
}

export interface OrchestratorEmailRow extends Required<Omit<OrchestratorEmailInput, 'ts'>> {
  uuid: string;
  ts: string;
}

export async function recordOrchestratorEmail(db: Db, e: OrchestratorEmailInput): Promise<string> {
  const uuid = uuidv7();
  await q(db)
    .insertInto('orchestrator_emails')
    .values({
      uuid,
      ts: time('ts', e.ts ?? Date.now()),
      mail_decky_uuid: name('mail_decky_uuid', e.mail_decky_uuid),
      thread_id: text('thread_id', e.thread_id, 'short'),
      message_id: text('message_id', e.message_id, 'short'),
      in_reply_to: optText('in_reply_to', e.in_reply_to, 'short'),
      sender_email: text('sender_email', e.sender_email, 'short'),
      recipient_email: text('recipient_email', e.recipient_email, 'short'),
      subject: text('subject', e.subject, 'short'),
      language: optName('language', e.language),
      eml_path: optText('eml_path', e.eml_path, 'url'),
      success: bool('success', e.success),
      payload: e.payload === undefined ? null : json('payload', e.payload),
    })
    .execute();
  return uuid;
}

/** Threads of a mailbox decky: latest message per thread, newest threads first. */
export async function listOrchestratorEmailThreads(db: Db, mailDeckyUuid: string, limit = 50): Promise<{ thread_id: string; messages: number; last_ts: string; subject: string }[]> {
  const rows = await q(db)
    .selectFrom('orchestrator_emails')
    .select((eb) => ['thread_id', eb.fn.countAll().as('messages'), eb.fn.max('ts').as('last_ts'), eb.fn.min('subject').as('subject')])
    .where('mail_decky_uuid', '=', name('mail_decky_uuid', mailDeckyUuid))
    .groupBy('thread_id')
    .orderBy((eb) => eb.fn.max('ts'), 'desc')
    .limit(int('limit', limit, 1, 1000))
    .execute();
  return rows.map((r) => ({ thread_id: r.thread_id, messages: num(r.messages), last_ts: r.last_ts as string, subject: r.subject as string }));
}

export async function listOrchestratorEmails(db: Db, threadId: string): Promise<OrchestratorEmailRow[]> {
  const rows = await q(db).selectFrom('orchestrator_emails').selectAll().where('thread_id', '=', text('thread_id', threadId, 'short')).orderBy('ts').execute();
  return rows.map((r) => ({ ...(r as unknown as OrchestratorEmailRow), success: fromBool(r.success), payload: fromJson(r.payload, null) }));
}

/** Keeps the newest `cap` e-mails of one mailbox decky; returns how many were deleted. */
export async function pruneOrchestratorEmails(db: Db, mailDeckyUuid: string, cap = PER_DECKY_CAP): Promise<number> {
  const decky = name('mail_decky_uuid', mailDeckyUuid);
  const boundary = await q(db).selectFrom('orchestrator_emails').select(['ts', 'uuid']).where('mail_decky_uuid', '=', decky).orderBy('ts', 'desc').orderBy('uuid', 'desc').offset(int('cap', cap, 1)).limit(1).executeTakeFirst();
  if (!boundary) return 0;
  const result = await q(db)
    .deleteFrom('orchestrator_emails')
    .where('mail_decky_uuid', '=', decky)
    .where((eb) => eb.or([eb('ts', '<', boundary.ts), eb.and([eb('ts', '=', boundary.ts), eb('uuid', '<=', boundary.uuid)])]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
