// The event log: paged search (newest first), histogram, and the dashboard's headline numbers.
// Totals and aggregates over the whole table are cached for a couple of seconds: on a million
// events they cost tens to hundreds of milliseconds, and every dashboard asks for the same ones.
import { s } from '../http/schema.ts';
import { RawJson, route, type ApiRequest, type RouteDef } from '../http/route.ts';
import { HttpError } from '../http/errors.ts';
import { envInt } from '../../core/env.ts';
import { API, PAGING, SEARCH, TIME, pageOf, readOf } from './common.ts';

const TAG = 'Logs';
/** A total is reused for 2 s, or 20 times as long as it took to count (at most 30 s). */
const countTtl = (loadMs: number) => Math.min(30_000, Math.max(2_000, 20 * loadMs));
const AGGREGATE_TTL_MS = 5_000;
/** Identical list requests within this time share one read and one serialisation (0: off). */
const PAGE_TTL_MS = envInt('DECNET_API_LIST_CACHE_MS', 1_000, { min: 0, max: 60_000 });
const MAX_CACHED_PAGE = 100;
/** A histogram answer has at most this many buckets. */
const MAX_BUCKETS = 10_000;

export const LOG_ROW = s.shape({
  id: s.int(1, Number.MAX_SAFE_INTEGER),
  ts: s.string({ maxLength: 40, description: 'event time, ISO-8601 UTC' }),
  decky: s.string({ maxLength: 128, nullable: true }),
  service: s.string({ maxLength: 128, nullable: true }),
  event_type: s.string({ maxLength: 128, nullable: true }),
  attacker_ip: s.string({ maxLength: 45, nullable: true }),
  src_port: s.int(0, 65535, { nullable: true }),
  dst_ip: s.string({ maxLength: 45, nullable: true }),
  dst_port: s.int(0, 65535, { nullable: true }),
  fields: s.shape({}, { description: 'event fields' }),
  msg: s.string({ maxLength: 65536, nullable: true }),
  raw_line: s.string({ maxLength: 65536 }),
});

const FILTER = { search: SEARCH, start_time: TIME, end_time: TIME };

interface Filter {
  search?: string;
  start_time?: string;
  end_time?: string;
}

/** Checks the search expression up front, so a syntax error is a 422 that says what to fix. */
async function checkedFilter(q: Filter): Promise<Filter> {
  if (q.search !== undefined) {
    const { parseLogSearch } = await import('../../db/logs/search.ts');
    parseLogSearch(q.search);
  }
  return { search: q.search, start_time: q.start_time, end_time: q.end_time };
}

const filterKey = (f: Filter) => JSON.stringify([f.search ?? '', f.start_time ?? '', f.end_time ?? '']);

async function readPage(req: ApiRequest, filter: Filter, limit: number, offset: number): Promise<Buffer> {
  const { listLogRows, countLogs } = await import('../../db/logs/repo.ts');
  const db = await readOf(req);
  const [data, total] = await Promise.all([
    listLogRows(db, { ...filter, limit, offset }),
    req.ctx.cache.get(`logs:count:${filterKey(filter)}`, countTtl, () => countLogs(db, filter)),
  ]);
  // A total cached a moment ago can trail the rows just read.
  return Buffer.from(JSON.stringify({ total: Math.max(total, offset + data.length), limit, offset, data }));
}

async function listLogs(req: ApiRequest): Promise<unknown> {
  const filter = await checkedFilter(req.query);
  const { limit, offset } = req.query as { limit: number; offset: number };
  // Only the page sizes dashboards use are kept, in a cache of their own, so its memory stays small.
  if (PAGE_TTL_MS === 0 || limit > MAX_CACHED_PAGE) return new RawJson(await readPage(req, filter, limit, offset));
  // Dashboards poll the same first page: one read a second serves all of them.
  // A page that took long to read (a text search scanning many rows) is kept longer, up to 10 s.
  const ttl = (loadMs: number) => Math.min(10_000, Math.max(PAGE_TTL_MS, 10 * loadMs));
  return new RawJson(await req.ctx.pages.get(`logs:page:${filterKey(filter)}:${limit}:${offset}`, ttl, () => readPage(req, filter, limit, offset)));
}

export async function headlineStats(req: ApiRequest): Promise<Record<string, number>> {
  return req.ctx.cache.get('stats', AGGREGATE_TTL_MS, async () => {
    const db = await readOf(req);
    const { logStats } = await import('../../db/logs/repo.ts');
    const { countAttackers } = await import('../../db/attackers/repo.ts');
    const { describeDeckies } = await import('../../deploy/describe.ts');
    const [logs, attackers, deckies] = await Promise.all([logStats(db), countAttackers(db), describeDeckies()]);
    return {
      total_logs: logs.total_logs,
      unique_attackers: logs.unique_attackers,
      attacker_profiles: attackers,
      deckies_hit: logs.deckies_hit,
      active_deckies: deckies.deckies.filter((d) => d.state === 'up' || d.state === 'partial').length,
      deployed_deckies: deckies.deckies.length,
    };
  });
}

export const logRoutes: RouteDef[] = [
  route({
    method: 'GET',
    path: `${API}/logs`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Events, newest first, with the log search syntax',
    description:
      'search: space-separated terms, all must match. decky:X service:X event:X attacker:IP match those columns exactly; any other key:value matches that event field exactly; ' +
      'a bare word or "quoted text" matches a substring of the raw line, decky, service or attacker IP (case-insensitive). ' +
      'Identical requests within a second share one answer; the total is reused for 2 s, longer for expensive searches (up to 30 s); an expired answer is still given while it is refreshed. ' +
      'Live events come from GET /stream.',
    query: { ...PAGING, ...FILTER },
    responses: { 200: { description: 'One page of events', schema: pageOf(LOG_ROW) } },
    handler: listLogs,
  }),
  route({
    method: 'GET',
    path: `${API}/logs/histogram`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Event counts per time bucket, oldest first',
    query: { ...FILTER, interval_minutes: s.int(1, 10_080, { default: 15, description: 'bucket width in minutes' }) },
    responses: { 200: { description: 'Buckets', schema: s.array(s.shape({ time: s.string({ maxLength: 40 }), count: s.int(0, Number.MAX_SAFE_INTEGER) }), 1_000_000) } },
    handler: async (req) => {
      const filter = await checkedFilter(req.query);
      const interval = req.query.interval_minutes as number;
      const { logHistogram } = await import('../../db/logs/repo.ts');
      const db = await readOf(req);
      const buckets = await req.ctx.cache.get(`logs:histogram:${interval}:${filterKey(filter)}`, AGGREGATE_TTL_MS, async () => {
        const all = await logHistogram(db, { ...filter, interval_minutes: interval });
        return all.length > MAX_BUCKETS ? all.length : all;
      });
      if (typeof buckets === 'number') {
        throw new HttpError(422, `that is ${buckets} buckets; the limit is ${MAX_BUCKETS}: raise interval_minutes or narrow the time range (start_time, end_time)`);
      }
      return buckets;
    },
  }),
  route({
    method: 'GET',
    path: `${API}/stats`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Headline numbers: events, attackers, deckies (cached 5 s)',
    responses: {
      200: {
        description: 'Counts',
        schema: s.shape({
          total_logs: s.int(0, Number.MAX_SAFE_INTEGER),
          unique_attackers: s.int(0, Number.MAX_SAFE_INTEGER, { description: 'distinct source addresses in the events' }),
          attacker_profiles: s.int(0, Number.MAX_SAFE_INTEGER),
          deckies_hit: s.int(0, Number.MAX_SAFE_INTEGER),
          active_deckies: s.int(0, 100_000),
          deployed_deckies: s.int(0, 100_000),
        }),
      },
    },
    handler: headlineStats,
  }),
];
