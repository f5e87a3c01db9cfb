// Decky-lifecycle repository: asynchronous deploy/mutate/teardown attempts, polled by the UI.
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { Db } from '../types.ts';
import { OPERATIONS, STATUSES, type DeckiesTables } from './schema.ts';
import { ConflictError, name, nowIso, oneOf, optName, optText, text, time } from '../values.ts';

export type Operation = (typeof OPERATIONS)[number];
export type LifecycleStatus = (typeof STATUSES)[number];
const TERMINAL: readonly LifecycleStatus[] = ['succeeded', 'failed'];

export interface LifecycleRow {
  id: string;
  decky_name: string;
  host_uuid: string | null;
  operation: Operation;
  status: LifecycleStatus;
  error: string | null;
  started_at: string;
  updated_at: string;
  completed_at: string | null;
}

const q = (db: Db) => db.kysely as Kysely<DeckiesTables>;

export async function createLifecycle(db: Db, deckyName: string, operation: Operation, hostUuid: string | null = null): Promise<LifecycleRow> {
  const now = nowIso();
  const row: LifecycleRow = {
    id: uuidv7(),
    decky_name: name('decky_name', deckyName),
    host_uuid: optName('host_uuid', hostUuid),
    operation: oneOf('operation', operation, OPERATIONS),
    status: 'pending',
    error: null,
    started_at: now,
    updated_at: now,
    completed_at: null,
  };
  await q(db).insertInto('decky_lifecycle').values(row).execute();
  return row;
}

/** Moves an attempt forward. A finished attempt (succeeded/failed) never changes again. */
export async function updateLifecycle(db: Db, id: string, status: LifecycleStatus, error: string | null = null): Promise<void> {
  const s = oneOf('status', status, STATUSES);
  const now = nowIso();
  const result = await q(db)
    .updateTable('decky_lifecycle')
    .set({ status: s, error: optText('error', error, 'text'), updated_at: now, completed_at: TERMINAL.includes(s) ? now : null })
    .where('id', '=', name('id', id))
    .where('status', 'not in', TERMINAL)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new ConflictError(`lifecycle ${id} does not exist or has already finished`);
}

export async function getLifecycles(db: Db, ids: readonly string[]): Promise<LifecycleRow[]> {
  if (ids.length === 0) return [];
  const checked = ids.slice(0, 1000).map((id, i) => name(`ids[${i}]`, id));
  return (await q(db).selectFrom('decky_lifecycle').selectAll().where('id', 'in', checked).orderBy('started_at').execute()) as LifecycleRow[];
}

/** The unfinished attempt on a decky, if any (one at a time per decky and host). */
export async function findOpenLifecycle(db: Db, deckyName: string, hostUuid: string | null = null): Promise<LifecycleRow | undefined> {
  let query = q(db).selectFrom('decky_lifecycle').selectAll().where('decky_name', '=', name('decky_name', deckyName)).where('status', 'not in', TERMINAL);
  const host = optName('host_uuid', hostUuid);
  query = host === null ? query.where('host_uuid', 'is', null) : query.where('host_uuid', '=', host);
  return (await query.orderBy('started_at', 'desc').executeTakeFirst()) as LifecycleRow | undefined;
}

/** Fails unfinished attempts not updated since `olderThan` (after a restart); returns how many. */
export async function sweepStaleLifecycle(db: Db, olderThan: string | Date | number, reason: string): Promise<number> {
  const now = nowIso();
  const result = await q(db)
    .updateTable('decky_lifecycle')
    .set({ status: 'failed', error: text('reason', reason, 'short'), updated_at: now, completed_at: now })
    .where('status', 'not in', TERMINAL)
    .where('updated_at', '<', time('olderThan', olderThan))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
