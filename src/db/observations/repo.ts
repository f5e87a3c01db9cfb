// Observations repository: behavioural primitives from session recordings, stored once per
// (evidence, primitive), read per attacker or identity.
import { sql, type Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { Db } from '../types.ts';
import type { ObservationsTables } from './schema.ts';
import { DataError, fromJson, int, json, name, num, optName, optText, optTime, real, text, time } from '../values.ts';

export interface ObservationInput {
  attacker_uuid?: string | null;
  identity_ref?: string | null;
  primitive: string;
  value: unknown;
  confidence: number;
  window_start_ts?: string | Date | number | null;
  window_end_ts?: string | Date | number | null;
  source?: string | null;
  evidence_ref: string;
  envelope_v?: number;
  ts: string | Date | number;
}

export interface ObservationRow {
  id: string;
  attacker_uuid: string | null;
  identity_ref: string | null;
  primitive: string;
  value: unknown;
  confidence: number;
  window_start_ts: string | null;
  window_end_ts: string | null;
  source: string | null;
  evidence_ref: string;
  envelope_v: number;
  ts: string;
}

const q = (db: Db) => db.kysely as Kysely<ObservationsTables>;

function decode(r: Record<string, unknown>): ObservationRow {
  return { ...(r as unknown as ObservationRow), value: fromJson(r.value, null), confidence: num(r.confidence), envelope_v: num(r.envelope_v) };
}

/** Stores an observation unless one for the same evidence and primitive exists; true when new. */
export async function upsertObservation(db: Db, o: ObservationInput): Promise<boolean> {
  if (o === null || typeof o !== 'object') throw new DataError('observation', 'expected an object');
  const result = await q(db)
    .insertInto('observations')
    .values({
      id: uuidv7(),
      attacker_uuid: optName('attacker_uuid', o.attacker_uuid),
      identity_ref: optName('identity_ref', o.identity_ref),
      primitive: name('primitive', o.primitive),
      value: json('value', o.value ?? null),
      confidence: real('confidence', o.confidence, 0, 1),
      window_start_ts: optTime('window_start_ts', o.window_start_ts),
      window_end_ts: optTime('window_end_ts', o.window_end_ts),
      source: optText('source', o.source, 'name'),
      evidence_ref: text('evidence_ref', o.evidence_ref, 'url'),
      envelope_v: int('envelope_v', o.envelope_v ?? 1, 1, 1000),
      ts: time('ts', o.ts),
    })
    .onConflict((oc) => oc.columns(['evidence_ref', 'primitive']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function hasObservationsForEvidence(db: Db, evidenceRef: string): Promise<boolean> {
  const row = await q(db).selectFrom('observations').select('id').where('evidence_ref', '=', text('evidence_ref', evidenceRef, 'url')).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** The newest observation of each primitive for an attacker. */
export async function latestObservationsPerPrimitive(db: Db, attackerUuid: string): Promise<ObservationRow[]> {
  const uuid = name('attacker_uuid', attackerUuid);
  const rows = await q(db)
    .selectFrom('observations as o')
    .selectAll('o')
    .where('o.attacker_uuid', '=', uuid)
    .where('o.ts', '=', (eb) =>
      eb.selectFrom('observations as n').select((e) => e.fn.max('n.ts').as('m')).whereRef('n.attacker_uuid', '=', 'o.attacker_uuid').whereRef('n.primitive', '=', 'o.primitive'),
    )
    .orderBy('o.primitive')
    .execute();
  // several observations may share the newest timestamp: keep one per primitive
  const seen = new Set<string>();
  return rows.map((r) => decode(r as Record<string, unknown>)).filter((r) => !seen.has(r.primitive) && seen.add(r.primitive));
}

/** Observations of one primitive across the given attackers and/or identity reference, oldest first. */
export async function observationsFor(db: Db, primitive: string, who: { attacker_uuids?: string[]; identity_ref?: string | null }, options: { since?: string | Date | number; limit?: number } = {}): Promise<ObservationRow[]> {
  const attackers = (who.attacker_uuids ?? []).map((u, i) => name(`attacker_uuids[${i}]`, u));
  const identity = optName('identity_ref', who.identity_ref);
  if (attackers.length === 0 && !identity) return [];
  let query = q(db)
    .selectFrom('observations')
    .selectAll()
    .where('primitive', '=', name('primitive', primitive))
    .where((eb) => eb.or([...(attackers.length ? [eb('attacker_uuid', 'in', attackers)] : []), ...(identity ? [eb('identity_ref', '=', identity)] : [])]));
  if (options.since !== undefined) query = query.where('ts', '>=', time('since', options.since));
  const rows = await query.orderBy('ts').limit(int('limit', options.limit ?? 1000, 1, 100_000)).execute();
  return rows.map((r) => decode(r as Record<string, unknown>));
}

/** Observation counts per bucket of `bucket_minutes` for one attacker and primitive. */
export async function observationTimeSeries(db: Db, attackerUuid: string, primitive: string, bucketMinutes = 60): Promise<{ time: string; count: number }[]> {
  const seconds = int('bucket_minutes', bucketMinutes, 1, 525_600) * 60;
  const bucket =
    db.dialect === 'postgres'
      ? sql<number>`(floor(extract(epoch from ${sql.ref('ts')}::timestamptz) / ${sql.lit(seconds)}) * ${sql.lit(seconds)})::bigint`
      : sql<number>`(cast(strftime('%s', ${sql.ref('ts')}) as integer) / ${sql.lit(seconds)}) * ${sql.lit(seconds)}`;
  const rows = await q(db)
    .selectFrom('observations')
    .select([bucket.as('bucket'), (eb) => eb.fn.countAll().as('n')])
    .where('attacker_uuid', '=', name('attacker_uuid', attackerUuid))
    .where('primitive', '=', name('primitive', primitive))
    .groupBy(bucket)
    .orderBy(bucket)
    .execute();
  return rows.map((r) => ({ time: new Date(num(r.bucket) * 1000).toISOString(), count: num(r.n) }));
}
