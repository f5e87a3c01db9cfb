// Orchestrator domain: the synthetic "life" between deckies (traffic, file edits) and the fake
// mailbox traffic, each capped per destination.
import type { Bool, Db, JsonNull } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface OrchestratorEventsTable {
  uuid: string;
  ts: string;
  kind: string;
  protocol: string | null;
  action: string;
  src_decky_uuid: string | null;
  dst_decky_uuid: string;
  success: Bool;
  payload: JsonNull;
}

export interface OrchestratorEmailsTable {
  uuid: string;
  ts: string;
  mail_decky_uuid: string;
  thread_id: string;
  message_id: string;
  in_reply_to: string | null;
  sender_email: string;
  recipient_email: string;
  subject: string;
  language: string | null;
  eml_path: string | null;
  success: Bool;
  payload: JsonNull;
}

export interface OrchestratorTables {
  orchestrator_events: OrchestratorEventsTable;
  orchestrator_emails: OrchestratorEmailsTable;
}

export const TABLES = ['orchestrator_events', 'orchestrator_emails'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('orchestrator_events')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('ts', t.text, (c) => c.notNull())
    .addColumn('kind', t.text, (c) => c.notNull())
    .addColumn('protocol', t.text)
    .addColumn('action', t.text, (c) => c.notNull())
    .addColumn('src_decky_uuid', t.text)
    .addColumn('dst_decky_uuid', t.text, (c) => c.notNull())
    .addColumn('success', t.bool, (c) => c.notNull())
    .addColumn('payload', t.json)
    .execute();
  await index(db, 'orchestrator_events', ['dst_decky_uuid', 'ts']);
  await index(db, 'orchestrator_events', ['ts']);
  await index(db, 'orchestrator_events', ['kind']);

  await db.kysely.schema
    .createTable('orchestrator_emails')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('ts', t.text, (c) => c.notNull())
    .addColumn('mail_decky_uuid', t.text, (c) => c.notNull())
    .addColumn('thread_id', t.text, (c) => c.notNull())
    .addColumn('message_id', t.text, (c) => c.notNull())
    .addColumn('in_reply_to', t.text)
    .addColumn('sender_email', t.text, (c) => c.notNull())
    .addColumn('recipient_email', t.text, (c) => c.notNull())
    .addColumn('subject', t.text, (c) => c.notNull())
    .addColumn('language', t.text)
    .addColumn('eml_path', t.text)
    .addColumn('success', t.bool, (c) => c.notNull())
    .addColumn('payload', t.json)
    .execute();
  await index(db, 'orchestrator_emails', ['mail_decky_uuid', 'ts']);
  await index(db, 'orchestrator_emails', ['thread_id']);
}
