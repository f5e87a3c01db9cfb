// Attribution domain: the state machine output per (identity, behavioural primitive).
import type { Db, JsonNull } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface AttributionStateTable {
  identity_uuid: string;
  primitive: string;
  current_value: JsonNull;
  state: string;
  confidence: number;
  observation_count: number;
  last_change_ts: string | null;
  last_observation_ts: string | null;
  schema_version: number;
  updated_at: string;
}

export interface AttributionTables {
  attribution_state: AttributionStateTable;
}

export const TABLES = ['attribution_state'] as const;
export const STATES = ['unknown', 'stable', 'drifting', 'conflicted', 'multi_actor'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('attribution_state')
    .addColumn('identity_uuid', t.text, (c) => c.notNull().references('attacker_identities.uuid').onDelete('cascade'))
    .addColumn('primitive', t.text, (c) => c.notNull())
    .addColumn('current_value', t.json)
    .addColumn('state', t.text, (c) => c.notNull().defaultTo('unknown'))
    .addColumn('confidence', t.real, (c) => c.notNull().defaultTo(0))
    .addColumn('observation_count', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('last_change_ts', t.text)
    .addColumn('last_observation_ts', t.text)
    .addColumn('schema_version', t.int, (c) => c.notNull().defaultTo(1))
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .addPrimaryKeyConstraint('attribution_state_pkey', ['identity_uuid', 'primitive'])
    .execute();
  await index(db, 'attribution_state', ['state']);
  await index(db, 'attribution_state', ['last_change_ts']);
  await index(db, 'attribution_state', ['identity_uuid', 'state']);
}
