// Realism repository: memory of files planted and edited in deckies, and operator-tunable knobs.
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { Db, Page, PageRequest } from '../types.ts';
import type { RealismTables } from './schema.ts';
import { page, pageArgs } from '../query.ts';
import { DataError, fromJson, json, name, nowIso, num, optName, text, time } from '../values.ts';

/** The stored copy of a file body is clipped to this many characters (the hash covers all of it). */
export const LAST_BODY_MAX = 65_536;

export interface SyntheticFileRow {
  uuid: string;
  decky_uuid: string;
  path: string;
  persona: string | null;
  content_class: string | null;
  created_at: string;
  last_modified: string;
  edit_count: number;
  content_hash: string | null;
  last_body: string | null;
}

const q = (db: Db) => db.kysely as Kysely<RealismTables>;

function checkPath(value: unknown): string {
  const p = text('path', value, 'url');
  if (!p.startsWith('/') || p.split('/').includes('..')) throw new DataError('path', `${JSON.stringify(p)} must be an absolute path without '..'`);
  return p;
}

function bodyColumns(body: string) {
  if (typeof body !== 'string') throw new DataError('body', 'expected a string');
  return { content_hash: createHash('sha256').update(body).digest('hex'), last_body: body.slice(0, LAST_BODY_MAX).replace(/\u0000/g, '\uFFFD') };
}

/**
 * Records a file the orchestrator wrote into a decky. Writing the same path again counts as an
 * edit (edit_count + 1) and keeps the original creation time.
 */
export async function recordSyntheticFile(db: Db, f: { decky_uuid: string; path: string; body: string; persona?: string | null; content_class?: string | null; at?: string | Date | number }): Promise<void> {
  const at = time('at', f.at ?? Date.now());
  const values = {
    uuid: uuidv7(),
    decky_uuid: name('decky_uuid', f.decky_uuid),
    path: checkPath(f.path),
    persona: optName('persona', f.persona),
    content_class: optName('content_class', f.content_class),
    created_at: at,
    last_modified: at,
    edit_count: 0,
    ...bodyColumns(f.body),
  };
  await q(db)
    .insertInto('synthetic_files')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['decky_uuid', 'path']).doUpdateSet((eb) => ({
        edit_count: eb('synthetic_files.edit_count', '+', 1),
        last_modified: values.last_modified,
        content_hash: values.content_hash,
        last_body: values.last_body,
      })),
    )
    .execute();
}

const decode = (r: Record<string, unknown>): SyntheticFileRow => ({ ...(r as unknown as SyntheticFileRow), edit_count: num(r.edit_count) });

export async function listSyntheticFiles(db: Db, request: PageRequest & { decky_uuid?: string } = {}): Promise<Page<SyntheticFileRow>> {
  const { limit, offset } = pageArgs(request, { maxLimit: 500 });
  let query = q(db).selectFrom('synthetic_files');
  if (request.decky_uuid) query = query.where('decky_uuid', '=', name('decky_uuid', request.decky_uuid));
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('last_modified', 'desc').orderBy('uuid').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return page(num(count?.n), limit, offset, rows.map((r) => decode(r as Record<string, unknown>)));
}

/** A random file of a decky, for the orchestrator to edit next. */
export async function pickRandomSyntheticFile(db: Db, deckyUuid: string): Promise<SyntheticFileRow | undefined> {
  const row = await q(db)
    .selectFrom('synthetic_files')
    .selectAll()
    .where('decky_uuid', '=', name('decky_uuid', deckyUuid))
    .orderBy(sql`random()`)
    .limit(1)
    .executeTakeFirst();
  return row ? decode(row as Record<string, unknown>) : undefined;
}

const CONFIG_KEY = /^[a-z0-9_.-]{1,64}$/;

export async function getRealismConfig<T = unknown>(db: Db, key: string): Promise<T | undefined> {
  if (!CONFIG_KEY.test(key)) throw new DataError('key', `${JSON.stringify(key)} must be 1-64 characters of a-z, 0-9, _ . -`);
  const row = await q(db).selectFrom('realism_config').select('value').where('key', '=', key).executeTakeFirst();
  return row ? fromJson<T>(row.value, undefined as T) : undefined;
}

export async function setRealismConfig(db: Db, key: string, value: unknown): Promise<void> {
  if (!CONFIG_KEY.test(key)) throw new DataError('key', `${JSON.stringify(key)} must be 1-64 characters of a-z, 0-9, _ . -`);
  const encoded = json('value', value);
  const now = nowIso();
  await q(db).insertInto('realism_config').values({ key, value: encoded, updated_at: now }).onConflict((oc) => oc.column('key').doUpdateSet({ value: encoded, updated_at: now })).execute();
}
