// Tarpit repository: one traffic-delay rule per decky.
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { Db } from '../types.ts';
import { MAX_DELAY_MS, MIN_DELAY_MS, type TarpitTables } from './schema.ts';
import { DataError, fromJson, int, json, name, nowIso, num, optName } from '../values.ts';

export interface TarpitRuleRow {
  id: string;
  decky_name: string;
  ports: number[];
  delay_ms: number;
  created_at: string;
  created_by: string | null;
}

const q = (db: Db) => db.kysely as Kysely<TarpitTables>;
const decode = (r: Record<string, unknown>): TarpitRuleRow => ({ ...(r as unknown as TarpitRuleRow), delay_ms: num(r.delay_ms), ports: fromJson(r.ports, []) });

/** Sets (or replaces) the rule of a decky. An empty port list means every port. */
export async function setTarpitRule(db: Db, r: { decky_name: string; ports: number[]; delay_ms: number; created_by?: string | null }): Promise<TarpitRuleRow> {
  if (!Array.isArray(r.ports) || r.ports.length > 64) throw new DataError('ports', 'expected a list of at most 64 ports');
  const ports = [...new Set(r.ports.map((p, i) => int(`ports[${i}]`, p, 1, 65_535)))].sort((a, b) => a - b);
  const values = {
    id: uuidv7(),
    decky_name: name('decky_name', r.decky_name),
    ports: json('ports', ports),
    delay_ms: int('delay_ms', r.delay_ms, MIN_DELAY_MS, MAX_DELAY_MS),
    created_at: nowIso(),
    created_by: optName('created_by', r.created_by),
  };
  const { id: _id, decky_name: _d, ...update } = values;
  const row = await q(db).insertInto('tarpit_rules').values(values).onConflict((oc) => oc.column('decky_name').doUpdateSet(update)).returningAll().executeTakeFirstOrThrow();
  return decode(row as Record<string, unknown>);
}

export async function getTarpitRule(db: Db, deckyName: string): Promise<TarpitRuleRow | undefined> {
  const row = await q(db).selectFrom('tarpit_rules').selectAll().where('decky_name', '=', name('decky_name', deckyName)).executeTakeFirst();
  return row ? decode(row as Record<string, unknown>) : undefined;
}

export async function deleteTarpitRule(db: Db, deckyName: string): Promise<boolean> {
  return (await q(db).deleteFrom('tarpit_rules').where('decky_name', '=', name('decky_name', deckyName)).executeTakeFirst()).numDeletedRows > 0n;
}

export async function listTarpitRules(db: Db): Promise<TarpitRuleRow[]> {
  return (await q(db).selectFrom('tarpit_rules').selectAll().orderBy('decky_name').execute()).map((r) => decode(r as Record<string, unknown>));
}
