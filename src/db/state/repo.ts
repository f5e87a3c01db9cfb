// State repository: named JSON values (worker cursors, the ingest offset, deployment settings).
import type { Kysely } from 'kysely';
import type { Db } from '../types.ts';
import type { StateTables } from './schema.ts';
import { DataError, fromJson, json, nowIso } from '../values.ts';

const KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

function checkKey(key: string): string {
  if (typeof key !== 'string' || !KEY.test(key)) throw new DataError('key', `${JSON.stringify(key)} must be 1-128 characters of letters, digits, _ . : -`);
  return key;
}

const q = (db: Db) => db.kysely as Kysely<StateTables>;

/** The stored value, or undefined when the key was never set. */
export async function getState<T = unknown>(db: Db, key: string): Promise<T | undefined> {
  const row = await q(db).selectFrom('state').select('value').where('key', '=', checkKey(key)).executeTakeFirst();
  return row ? fromJson<T>(row.value, undefined as T) : undefined;
}

/** Stores `value` (any JSON) under `key`, replacing what was there. */
export async function setState(db: Db, key: string, value: unknown): Promise<void> {
  const encoded = json('value', value, 'bigJson');
  const now = nowIso();
  await q(db)
    .insertInto('state')
    .values({ key: checkKey(key), value: encoded, updated_at: now })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: encoded, updated_at: now }))
    .execute();
}

export async function deleteState(db: Db, key: string): Promise<boolean> {
  const result = await q(db).deleteFrom('state').where('key', '=', checkKey(key)).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
