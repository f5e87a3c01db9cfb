// Observations domain: behavioural primitives extracted from session recordings (BEHAVE
// envelopes), idempotent per (evidence, primitive).
import type { Db, JsonNull } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface ObservationsTable {
  id: string;
  attacker_uuid: string | null;
  identity_ref: string | null;
  primitive: string;
  value: JsonNull;
  confidence: number;
  window_start_ts: string | null;
  window_end_ts: string | null;
  source: string | null;
  /** Where the evidence lives, e.g. shard:{decky}/{service}/{date}.jsonl#sid. */
  evidence_ref: string;
  envelope_v: number;
  ts: string;
}

export interface ObservationsTables {
  observations: ObservationsTable;
}

export const TABLES = ['observations'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('observations')
    .addColumn('id', t.text, (c) => c.primaryKey())
    .addColumn('attacker_uuid', t.text, (c) => c.references('attackers.uuid').onDelete('cascade'))
    .addColumn('identity_ref', t.text)
    .addColumn('primitive', t.text, (c) => c.notNull())
    .addColumn('value', t.json)
    .addColumn('confidence', t.real, (c) => c.notNull().defaultTo(0))
    .addColumn('window_start_ts', t.text)
    .addColumn('window_end_ts', t.text)
    .addColumn('source', t.text)
    .addColumn('evidence_ref', t.text, (c) => c.notNull())
    .addColumn('envelope_v', t.int, (c) => c.notNull().defaultTo(1))
    .addColumn('ts', t.text, (c) => c.notNull())
    .execute();
  await index(db, 'observations', ['evidence_ref', 'primitive'], true);
  await index(db, 'observations', ['attacker_uuid', 'primitive', 'ts']);
  await index(db, 'observations', ['primitive', 'ts']);
  await index(db, 'observations', ['identity_ref', 'primitive']);
}
