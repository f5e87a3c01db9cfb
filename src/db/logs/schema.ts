// Logs domain: every honeypot event the ingester stores (one row per event line).
import type { AutoId, Db, Json } from '../types.ts';
import { autoId, columnTypes, index } from '../ddl.ts';

export interface LogsTable {
  /** Grows only (AUTOINCREMENT / identity): the cursor of the profiler and of live streams. */
  id: AutoId;
  /** 8-byte big-endian event time (ms) + 16 bytes of SHA-256 over the event line (or the caller's key). */
  dedupe_key: Uint8Array;
  ts: string;
  decky: string | null;
  service: string | null;
  event_type: string | null;
  attacker_ip: string | null;
  src_port: number | null;
  dst_ip: string | null;
  dst_port: number | null;
  fields: Json;
  msg: string | null;
  raw_line: string;
  trace_id: string | null;
  span_id: string | null;
}

export interface LogsTables {
  logs: LogsTable;
}

export const TABLES = ['logs'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await autoId(db.kysely.schema.createTable('logs'), db.dialect)
    .addColumn('dedupe_key', t.bytes, (c) => c.notNull())
    .addColumn('ts', t.text, (c) => c.notNull())
    .addColumn('decky', t.text)
    .addColumn('service', t.text)
    .addColumn('event_type', t.text)
    .addColumn('attacker_ip', t.text)
    .addColumn('src_port', t.int)
    .addColumn('dst_ip', t.text)
    .addColumn('dst_port', t.int)
    .addColumn('fields', t.json, (c) => c.notNull().defaultTo('{}'))
    .addColumn('msg', t.text)
    .addColumn('raw_line', t.text, (c) => c.notNull())
    .addColumn('trace_id', t.text)
    .addColumn('span_id', t.text)
    .execute();
  await index(db, 'logs', ['dedupe_key'], true);
  await index(db, 'logs', ['ts']);
  // Lists are newest-first by id. A SQLite index entry already ends in the rowid (= id), so a
  // one-column index serves "filter, then order by id"; PostgreSQL needs id in the index.
  const byId = db.dialect === 'postgres' ? ['id'] : [];
  for (const column of ['decky', 'service', 'event_type', 'attacker_ip']) await index(db, 'logs', [column, ...byId]);
}
