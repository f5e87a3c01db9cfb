// Attribution repository: the per-(identity, primitive) state the attribution worker maintains.
import type { Kysely } from 'kysely';
import type { Db } from '../types.ts';
import { STATES, type AttributionTables } from './schema.ts';
import { fromJson, int, json, name, nowIso, num, oneOf, optTime, real } from '../values.ts';

export type AttributionStateName = (typeof STATES)[number];

export interface AttributionStateInput {
  identity_uuid: string;
  primitive: string;
  current_value: unknown;
  state: AttributionStateName;
  confidence: number;
  observation_count: number;
  last_change_ts?: string | Date | number | null;
  last_observation_ts?: string | Date | number | null;
}

export interface AttributionStateRow {
  identity_uuid: string;
  primitive: string;
  current_value: unknown;
  state: AttributionStateName;
  confidence: number;
  observation_count: number;
  last_change_ts: string | null;
  last_observation_ts: string | null;
  schema_version: number;
  updated_at: string;
}

const q = (db: Db) => db.kysely as Kysely<AttributionTables>;

function decode(r: Record<string, unknown>): AttributionStateRow {
  return { ...(r as unknown as AttributionStateRow), current_value: fromJson(r.current_value, null), confidence: num(r.confidence), observation_count: num(r.observation_count) };
}

export async function upsertAttributionState(db: Db, s: AttributionStateInput): Promise<void> {
  const values = {
    identity_uuid: name('identity_uuid', s.identity_uuid),
    primitive: name('primitive', s.primitive),
    current_value: json('current_value', s.current_value ?? null),
    state: oneOf('state', s.state, STATES),
    confidence: real('confidence', s.confidence, 0, 1),
    observation_count: int('observation_count', s.observation_count, 0),
    last_change_ts: optTime('last_change_ts', s.last_change_ts),
    last_observation_ts: optTime('last_observation_ts', s.last_observation_ts),
    schema_version: 1,
    updated_at: nowIso(),
  };
  const { identity_uuid: _i, primitive: _p, ...update } = values;
  await q(db)
    .insertInto('attribution_state')
    .values(values)
    .onConflict((oc) => oc.columns(['identity_uuid', 'primitive']).doUpdateSet(update))
    .execute();
}

export async function getAttributionState(db: Db, identityUuid: string, primitive: string): Promise<AttributionStateRow | undefined> {
  const row = await q(db)
    .selectFrom('attribution_state')
    .selectAll()
    .where('identity_uuid', '=', name('identity_uuid', identityUuid))
    .where('primitive', '=', name('primitive', primitive))
    .executeTakeFirst();
  return row ? decode(row as Record<string, unknown>) : undefined;
}

export async function listAttributionStates(db: Db, identityUuid: string): Promise<AttributionStateRow[]> {
  const rows = await q(db).selectFrom('attribution_state').selectAll().where('identity_uuid', '=', name('identity_uuid', identityUuid)).orderBy('primitive').execute();
  return rows.map((r) => decode(r as Record<string, unknown>));
}

/** Identities with at least one primitive in the multi_actor state. */
export async function listMultiActorIdentities(db: Db, limit = 1000): Promise<string[]> {
  const rows = await q(db)
    .selectFrom('attribution_state')
    .select('identity_uuid')
    .distinct()
    .where('state', '=', 'multi_actor')
    .orderBy('identity_uuid')
    .limit(int('limit', limit, 1, 100_000))
    .execute();
  return rows.map((r) => r.identity_uuid);
}
