// Logs repository: batch append with de-duplication (the ingester), the id cursor (the profiler),
// and paged search, histogram and counts (the API).
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { CompiledQuery, sql, type ExpressionBuilder, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { Db, Page, PageRequest } from '../types.ts';
import type { LogsTables } from './schema.ts';
import { parseLogSearch, type SearchTerm } from './search.ts';
import { containsText, inTransaction, page, pageArgs } from '../query.ts';
import { DataError, fromJson, int, json, num, optIp, optName, optText, port, text, time } from '../values.ts';

export interface LogEventInput {
  /** Event time: ISO-8601 string, Date or epoch ms. */
  ts: string | Date | number;
  decky?: string | null;
  service?: string | null;
  event_type?: string | null;
  attacker_ip?: string | null;
  src_port?: number | null;
  dst_ip?: string | null;
  dst_port?: number | null;
  fields?: Record<string, unknown> | null;
  msg?: string | null;
  /** The event line as written to the event log (the durable source of truth). */
  raw_line: string;
  trace_id?: string | null;
  span_id?: string | null;
  /** Identity for de-duplication when the line itself is not unique enough (default: the line). */
  dedupe_key?: string;
}

export interface LogRow {
  id: number;
  ts: string;
  decky: string | null;
  service: string | null;
  event_type: string | null;
  attacker_ip: string | null;
  src_port: number | null;
  dst_ip: string | null;
  dst_port: number | null;
  fields: Record<string, unknown>;
  msg: string | null;
  raw_line: string;
  trace_id: string | null;
  span_id: string | null;
}

export interface AppendResult {
  /** Rows written now. */
  inserted: number;
  /** Valid events already stored (same dedupe key), skipped. */
  duplicates: number;
  /** With `skipInvalid`: events refused, by index in the input, with the reason. */
  rejected: { index: number; error: string }[];
  /** With `reportInserted`: indexes (into the input) of the events written now, ascending. */
  insertedIndexes?: number[];
}

export interface AppendOptions {
  /** Skip (and report) invalid events instead of refusing the whole batch. */
  skipInvalid?: boolean;
  /** Report which events were new (the ingester derives credentials and fingerprints from those only). */
  reportInserted?: boolean;
}

const COLUMNS = ['dedupe_key', 'ts', 'decky', 'service', 'event_type', 'attacker_ip', 'src_port', 'dst_ip', 'dst_port', 'fields', 'msg', 'raw_line', 'trace_id', 'span_id'] as const;
/**
 * Rows per INSERT statement. SQLite: 64 x 14 = 896 parameters, a statement of a few ms, so the
 * event loop gets a turn between statements. PostgreSQL: fewer, larger statements save round trips
 * (256 x 14 = 3,584 parameters, far under its 65,535 limit).
 */
const ROWS_PER_STATEMENT = { sqlite: 64, postgres: 256 } as const;
/** Longer batches are split into transactions of this size, with a turn of the event loop between. */
export const ROWS_PER_TRANSACTION = 500;

/**
 * The de-duplication key: 8 bytes of event time (big-endian ms) then 16 bytes of SHA-256 over the
 * caller's key or the event line. Leading with the time keeps the unique index append-mostly
 * (a random key would rewrite a random index page per row) while the same line always maps to
 * the same key.
 */
export function logDedupeKey(tsIso: string, identity: string): Buffer {
  const key = Buffer.allocUnsafe(24);
  const ms = Date.parse(tsIso);
  key.writeUInt32BE(Math.floor(ms / 0x1_0000_0000), 0);
  key.writeUInt32BE(ms % 0x1_0000_0000, 4);
  digest(identity).copy(key, 8, 0, 16);
  return key;
}

// crypto.hash (one call, no Hash object) where available: about twice as fast per line.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;
const digest = (data: string): Buffer => (oneShot ? oneShot('sha256', data, 'buffer') : createHash('sha256').update(data).digest());

type RowValues = unknown[];

function prepareRow(e: LogEventInput, at: string): RowValues {
  if (e === null || typeof e !== 'object') throw new DataError(at, 'expected an event object');
  const ts = time(`${at}.ts`, e.ts);
  const raw = text(`${at}.raw_line`, e.raw_line, 'text');
  if (raw.length === 0) throw new DataError(`${at}.raw_line`, 'must not be empty');
  const identity = e.dedupe_key === undefined ? raw : text(`${at}.dedupe_key`, e.dedupe_key, 'short');
  const fields = e.fields ?? {};
  if (typeof fields !== 'object' || Array.isArray(fields)) throw new DataError(`${at}.fields`, 'expected an object of event fields');
  return [
    logDedupeKey(ts, identity),
    ts,
    optName(`${at}.decky`, e.decky),
    optName(`${at}.service`, e.service),
    optName(`${at}.event_type`, e.event_type),
    optIp(`${at}.attacker_ip`, e.attacker_ip),
    port(`${at}.src_port`, e.src_port),
    optIp(`${at}.dst_ip`, e.dst_ip),
    port(`${at}.dst_port`, e.dst_port),
    json(`${at}.fields`, fields),
    optText(`${at}.msg`, e.msg, 'text'),
    raw,
    optText(`${at}.trace_id`, e.trace_id, 'hash'),
    optText(`${at}.span_id`, e.span_id, 'hash'),
  ];
}

const insertSqlCache = new Map<string, string>();

/** INSERT … ON CONFLICT DO NOTHING for `rows` rows, compiled once per size (the hot path skips the query builder). */
function insertSql(dialect: Db['dialect'], rows: number, returning: boolean): string {
  const cacheKey = `${dialect}:${rows}:${returning}`;
  let text = insertSqlCache.get(cacheKey);
  if (!text) {
    const tuples: string[] = [];
    let n = 0;
    for (let r = 0; r < rows; r++) {
      const slots = COLUMNS.map(() => (dialect === 'postgres' ? `$${++n}` : '?'));
      tuples.push(`(${slots.join(',')})`);
    }
    text = `insert into logs (${COLUMNS.join(',')}) values ${tuples.join(',')} on conflict (dedupe_key) do nothing${returning ? ' returning dedupe_key' : ''}`;
    insertSqlCache.set(cacheKey, text);
  }
  return text;
}

/** Inserts rows; with `newKeys`, collects the dedupe keys (hex) of the rows actually written. */
async function insertRows(db: Db, rows: RowValues[], newKeys?: Set<string>): Promise<number> {
  let inserted = 0;
  const step = ROWS_PER_STATEMENT[db.dialect];
  for (let i = 0; i < rows.length; i += step) {
    const slice = rows.slice(i, i + step);
    const result = await db.kysely.executeQuery<{ dedupe_key: Uint8Array }>(CompiledQuery.raw(insertSql(db.dialect, slice.length, newKeys !== undefined), slice.flat()));
    if (newKeys) {
      for (const r of result.rows) newKeys.add(Buffer.from(r.dedupe_key).toString('hex'));
      inserted += result.rows.length;
    } else inserted += Number(result.numAffectedRows ?? 0n);
  }
  return inserted;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Appends a batch of events. An event already stored (same dedupe key) is skipped, so re-reading
 * an event log after a crash stores nothing twice. Inside a caller's transaction everything joins
 * it; otherwise the batch is written in transactions of ROWS_PER_TRANSACTION rows.
 */
export async function appendLogs(db: Db, events: readonly LogEventInput[], options: AppendOptions = {}): Promise<AppendResult> {
  if (!Array.isArray(events)) throw new DataError('events', 'expected a list of events');
  const rows: RowValues[] = [];
  /** Input index of each prepared row. */
  const origin: number[] = [];
  const rejected: AppendResult['rejected'] = [];
  for (let i = 0; i < events.length; i++) {
    try {
      rows.push(prepareRow(events[i], `events[${i}]`));
      origin.push(i);
    } catch (err) {
      if (!options.skipInvalid || !(err instanceof DataError)) throw err;
      rejected.push({ index: i, error: err.message });
    }
  }
  const newKeys = options.reportInserted ? new Set<string>() : undefined;
  let inserted = 0;
  if (db.kysely.isTransaction) {
    inserted = await insertRows(db, rows, newKeys);
  } else {
    for (let i = 0; i < rows.length; i += ROWS_PER_TRANSACTION) {
      if (i > 0) await nextTurn();
      const slice = rows.slice(i, i + ROWS_PER_TRANSACTION);
      inserted += await inTransaction(db, (tx) => insertRows(tx, slice, newKeys));
    }
  }
  const result: AppendResult = { inserted, duplicates: rows.length - inserted, rejected };
  if (newKeys) {
    // A key written now belongs to the first row that carried it (a repeat inside the batch is a duplicate).
    result.insertedIndexes = [];
    for (let r = 0; r < rows.length; r++) {
      const key = Buffer.from(rows[r][0] as Buffer).toString('hex');
      if (newKeys.delete(key)) result.insertedIndexes.push(origin[r]);
    }
  }
  return result;
}

export async function appendLog(db: Db, event: LogEventInput): Promise<boolean> {
  return (await appendLogs(db, [event])).inserted === 1;
}

function decode(row: Record<string, unknown>): LogRow {
  return {
    id: num(row.id),
    ts: row.ts as string,
    decky: (row.decky as string | null) ?? null,
    service: (row.service as string | null) ?? null,
    event_type: (row.event_type as string | null) ?? null,
    attacker_ip: (row.attacker_ip as string | null) ?? null,
    src_port: (row.src_port as number | null) ?? null,
    dst_ip: (row.dst_ip as string | null) ?? null,
    dst_port: (row.dst_port as number | null) ?? null,
    fields: fromJson<Record<string, unknown>>(row.fields, {}),
    msg: (row.msg as string | null) ?? null,
    raw_line: row.raw_line as string,
    trace_id: (row.trace_id as string | null) ?? null,
    span_id: (row.span_id as string | null) ?? null,
  };
}

const SELECTED = ['id', 'ts', 'decky', 'service', 'event_type', 'attacker_ip', 'src_port', 'dst_ip', 'dst_port', 'fields', 'msg', 'raw_line', 'trace_id', 'span_id'] as const;

const q = (db: Db) => db.kysely as Kysely<LogsTables>;

/** Rows after the cursor `lastId`, oldest first (the profiler pages through new events with it). */
export async function logsAfterId(db: Db, lastId: number, limit = 500): Promise<LogRow[]> {
  int('lastId', lastId, 0);
  int('limit', limit, 1, 10_000);
  const rows = await q(db).selectFrom('logs').select(SELECTED).where('id', '>', lastId).orderBy('id').limit(limit).execute();
  return rows.map((r) => decode(r as Record<string, unknown>));
}

/** Rows after the cursor `lastId` whose event time is at or after `since`, oldest id first (replays). */
export async function logsAfterIdSince(db: Db, lastId: number, since: string | Date | number, limit = 500): Promise<LogRow[]> {
  int('lastId', lastId, 0);
  int('limit', limit, 1, 10_000);
  const rows = await q(db).selectFrom('logs').select(SELECTED).where('id', '>', lastId).where('ts', '>=', time('since', since)).orderBy('id').limit(limit).execute();
  return rows.map((r) => decode(r as Record<string, unknown>));
}

export async function maxLogId(db: Db): Promise<number> {
  const row = await q(db).selectFrom('logs').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
  return num(row?.max);
}

export async function getLog(db: Db, id: number): Promise<LogRow | undefined> {
  const row = await q(db).selectFrom('logs').select(SELECTED).where('id', '=', int('id', id, 1)).executeTakeFirst();
  return row ? decode(row as Record<string, unknown>) : undefined;
}

export interface LogFilter {
  /** Search expression (see search.ts). */
  search?: string | null;
  /** Inclusive bounds on the event time. */
  start_time?: string | Date | number | null;
  end_time?: string | Date | number | null;
}

type LogsEb = ExpressionBuilder<LogsTables, 'logs'>;

function termCondition(db: Db, eb: LogsEb, term: SearchTerm): Expression<SqlBool> {
  switch (term.kind) {
    case 'column':
      return eb(term.column, '=', term.value);
    case 'field':
      // the key is [A-Za-z0-9_] only (search.ts), so it is safe inside the JSON path
      return db.dialect === 'postgres'
        ? sql<SqlBool>`${sql.ref('fields')} ->> ${term.key} = ${term.value}`
        : sql<SqlBool>`cast(json_extract(${sql.ref('fields')}, ${`$."${term.key}"`}) as text) = ${term.value}`;
    case 'text':
      return eb.or(['raw_line', 'decky', 'service', 'attacker_ip'].map((c) => containsText(db, sql.ref(c), term.value)));
  }
}

function filterOf(db: Db, filter: LogFilter): (eb: LogsEb) => Expression<SqlBool> {
  const terms = parseLogSearch(filter.search);
  const start = filter.start_time === undefined || filter.start_time === null || filter.start_time === '' ? null : time('start_time', filter.start_time);
  const end = filter.end_time === undefined || filter.end_time === null || filter.end_time === '' ? null : time('end_time', filter.end_time);
  return (eb) => {
    const conditions: Expression<SqlBool>[] = terms.map((t) => termCondition(db, eb, t));
    if (start) conditions.push(eb('ts', '>=', start));
    if (end) conditions.push(eb('ts', '<=', end));
    return eb.and(conditions);
  };
}

export async function countLogs(db: Db, filter: LogFilter = {}): Promise<number> {
  const row = await q(db).selectFrom('logs').select((eb) => eb.fn.countAll().as('n')).where(filterOf(db, filter)).executeTakeFirst();
  return num(row?.n);
}

/** One page of events, newest first (by id, i.e. ingestion order), with the total that matches. */
export async function listLogs(db: Db, request: LogFilter & PageRequest = {}): Promise<Page<LogRow>> {
  const { limit, offset } = pageArgs(request);
  const where = filterOf(db, request);
  const [rows, total] = await Promise.all([
    q(db).selectFrom('logs').select(SELECTED).where(where).orderBy('id', 'desc').limit(limit).offset(offset).execute(),
    countLogs(db, request),
  ]);
  return page(total, limit, offset, rows.map((r) => decode(r as Record<string, unknown>)));
}

/** Events of one attacker IP, optionally of some event types, newest first (artefacts, transcripts, mail). */
export async function logsForAttacker(db: Db, attackerIp: string, request: { event_types?: string[] } & PageRequest = {}): Promise<Page<LogRow>> {
  const ip = optIp('attacker_ip', attackerIp);
  const { limit, offset } = pageArgs(request, { maxLimit: 1000 });
  const types = (request.event_types ?? []).map((t, i) => optName(`event_types[${i}]`, t)!);
  let query = q(db).selectFrom('logs').where('attacker_ip', '=', ip);
  if (types.length > 0) query = query.where('event_type', 'in', types);
  const [rows, count] = await Promise.all([
    query.select(SELECTED).orderBy('id', 'desc').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return page(num(count?.n), limit, offset, rows.map((r) => decode(r as Record<string, unknown>)));
}

export interface HistogramBucket {
  /** Bucket start, ISO-8601 UTC. */
  time: string;
  count: number;
}

/** Event counts per `interval_minutes` bucket, oldest first. */
export async function logHistogram(db: Db, request: LogFilter & { interval_minutes?: number } = {}): Promise<HistogramBucket[]> {
  const minutes = int('interval_minutes', request.interval_minutes ?? 15, 1, 525_600);
  const seconds = minutes * 60;
  // `seconds` is a checked integer, so it is inlined as a literal: PostgreSQL must see the same
  // expression in SELECT and GROUP BY, which separate parameters would break.
  const bucket =
    db.dialect === 'postgres'
      ? sql<number>`(floor(extract(epoch from ${sql.ref('ts')}::timestamptz) / ${sql.lit(seconds)}) * ${sql.lit(seconds)})::bigint`
      : sql<number>`(cast(strftime('%s', ${sql.ref('ts')}) as integer) / ${sql.lit(seconds)}) * ${sql.lit(seconds)}`;
  const rows = await q(db)
    .selectFrom('logs')
    .select([bucket.as('bucket'), (eb) => eb.fn.countAll().as('n')])
    .where(filterOf(db, request))
    .groupBy(bucket)
    .orderBy(bucket)
    .execute();
  return rows.map((r) => ({ time: new Date(num(r.bucket) * 1000).toISOString(), count: num(r.n) }));
}

export interface LogStats {
  total_logs: number;
  unique_attackers: number;
  deckies_hit: number;
}

export async function logStats(db: Db): Promise<LogStats> {
  const row = await q(db)
    .selectFrom('logs')
    .select((eb) => [eb.fn.countAll().as('total'), eb.fn.count('attacker_ip').distinct().as('attackers'), eb.fn.count('decky').distinct().as('deckies')])
    .executeTakeFirst();
  return { total_logs: num(row?.total), unique_attackers: num(row?.attackers), deckies_hit: num(row?.deckies) };
}

/** Deletes events older than `before` (all events when omitted); returns how many. */
export async function purgeLogs(db: Db, before?: string | Date | number): Promise<number> {
  let query = q(db).deleteFrom('logs');
  if (before !== undefined) query = query.where('ts', '<', time('before', before));
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** One page of events, newest first, without the total: for callers that cache counts (countLogs). */
export async function listLogRows(db: Db, request: LogFilter & PageRequest = {}): Promise<LogRow[]> {
  const { limit, offset } = pageArgs(request);
  const rows = await q(db).selectFrom('logs').select(SELECTED).where(filterOf(db, request)).orderBy('id', 'desc').limit(limit).offset(offset).execute();
  return rows.map((r) => decode(r as Record<string, unknown>));
}
