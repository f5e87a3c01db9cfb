// Health (public, minimal), the effective configuration (no secrets), the OpenAPI document, and the
// live event stream with its tickets.
import { s } from '../http/schema.ts';
import { HANDLED, Reply, route, type ApiRequest, type RouteDef } from '../http/route.ts';
import { HttpError } from '../http/errors.ts';
import { API, SEARCH } from './common.ts';
import { STREAM_TYPES } from '../stream/hub.ts';

const HEALTH_TTL_MS = 1_000;

async function health(req: ApiRequest): Promise<Reply> {
  const database = await req.ctx.cache.get('health:db', HEALTH_TTL_MS, async () => {
    try {
      const { sql } = await import('kysely');
      await sql`select 1 as ok`.execute((await req.ctx.db()).kysely);
      return true;
    } catch {
      return false;
    }
  });
  const bus = req.ctx.bus.stats().connected;
  const status = !database ? 'unhealthy' : bus ? 'healthy' : 'degraded';
  return new Reply(database ? 200 : 503, {
    status,
    components: { database: { status: database ? 'ok' : 'failing' }, bus: { status: bus ? 'ok' : 'failing' } },
  });
}

async function config(req: ApiRequest): Promise<unknown> {
  const { ctx } = req;
  const p = req.principal!;
  const c = ctx.config;
  const out: Record<string, unknown> = {
    role: p.role,
    username: p.username,
    api: {
      listen: `${c.host}:${c.port}`,
      token_ttl_s: c.tokenTtlS,
      stream_ticket_ttl_s: c.ticketTtlS,
      max_streams_per_user: c.maxStreamsPerUser,
      login_attempts_per_5_min: c.loginAttempts,
      cors_origins: c.corsOrigins,
    },
    stream_types: STREAM_TYPES,
  };
  if (p.role === 'admin') {
    const { redactUrl } = await import('../../db/connection.ts');
    const { dataDir, runDir } = await import('../../core/paths.ts');
    const { existsSync } = await import('node:fs');
    const db = await ctx.db();
    out.database = { dialect: db.dialect, url: db.url };
    out.bus = { url: redactUrl(process.env.DECNET_BUS_URL || 'unix:'), connected: ctx.bus.stats().connected };
    out.paths = { data_dir: dataDir(), run_dir: runDir(), web_root: c.webRoot, web_built: existsSync(c.webRoot) };
    const { listUsers } = await import('../../db/auth/repo.ts');
    out.users = (await listUsers(db)).map((u) => ({ uuid: u.uuid, username: u.username, role: u.role, must_change_password: u.must_change_password }));
  }
  return out;
}

const TYPES = s.string({
  maxLength: 64,
  pattern: `^(${STREAM_TYPES.join('|')})(,(${STREAM_TYPES.join('|')}))*$`,
  description: `comma-separated event types (default: all): ${STREAM_TYPES.join(', ')}`,
});

function stream(req: ApiRequest): typeof HANDLED {
  if (req.raw.method !== 'GET') throw new HttpError(405, 'an event stream is opened with GET', { headers: { allow: 'GET' } });
  const types = new Set<string>(req.query.types ? (req.query.types as string).split(',') : STREAM_TYPES);
  let lastEventId = req.query.last_event_id as number | undefined;
  const header = req.raw.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') {
    if (!/^\d{1,15}$/.test(header)) throw new HttpError(422, 'the Last-Event-ID header must be a log id (digits)');
    lastEventId = Number(header);
  }
  let logFilter: ((row: Record<string, unknown>) => boolean) | undefined;
  if (req.query.search) logFilter = compiledFilter(req.query.search as string);
  req.ctx.streams.attach(req.res, { userUuid: req.principal!.uuid, types, logFilter, lastEventId });
  return HANDLED;
}

let parse: typeof import('../../db/logs/search.ts').parseLogSearch | undefined;
let matcher: typeof import('../stream/log-match.ts').logMatcher | undefined;

function compiledFilter(search: string): ((row: Record<string, unknown>) => boolean) | undefined {
  return matcher!(parse!(search));
}

export const systemRoutes: RouteDef[] = [
  route({
    method: 'GET',
    path: `${API}/health`,
    auth: 'public',
    tag: 'System',
    summary: 'Liveness: database and bus (no details; 503 when the database is unreachable)',
    responses: {
      200: { description: 'healthy, or degraded (bus down)', schema: s.shape({ status: s.enum(['healthy', 'degraded', 'unhealthy']), components: s.shape({}) }) },
      503: { description: 'unhealthy: the database is unreachable' },
    },
    handler: health,
  }),
  route({
    method: 'GET',
    path: `${API}/config`,
    auth: 'viewer',
    tag: 'System',
    summary: 'The effective configuration (no secrets); admins also see paths, database, bus and users',
    responses: { 200: { description: 'Configuration', schema: s.shape({ role: s.enum(['viewer', 'admin']), username: s.string({ maxLength: 64 }), api: s.shape({}) }) } },
    handler: config,
  }),
  route({
    method: 'POST',
    path: `${API}/stream/ticket`,
    auth: 'viewer',
    tag: 'Stream',
    summary: 'A single-use ticket for GET /stream (EventSource cannot send headers)',
    responses: { 200: { description: 'Ticket', schema: s.shape({ ticket: s.string({ maxLength: 64 }), expires_in: s.int(1, 300, { description: 'seconds' }) }) } },
    handler: (req) => req.ctx.tickets.mint(req.principal!),
  }),
  route({
    method: 'GET',
    path: `${API}/stream`,
    auth: 'ticket',
    tag: 'Stream',
    summary: 'Live events as Server-Sent Events',
    description:
      'Events: hello (first), log (a stored event row; its SSE id is the row id, so Last-Event-ID resumes), attacker, credential, ttp, health, decky ({topic, type, ts, payload}), ' +
      'dropped (this client read too slowly and lost some events). A comment line every 15 s keeps the connection open. At most a few streams per user (429 beyond). ' +
      'To continue a list without a gap or a duplicate, open the stream with last_event_id = the newest log id you already have.',
    query: {
      ticket: s.string({ minLength: 16, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'from POST /api/v1/stream/ticket' }),
      types: TYPES,
      search: { ...SEARCH, description: 'log search expression applied to live log events' },
      last_event_id: s.int(0, Number.MAX_SAFE_INTEGER, { description: 'resume log events after this id (EventSource sends Last-Event-ID by itself)' }),
    },
    requiredQuery: ['ticket'],
    responses: { 200: { description: 'An event stream', contentType: 'text/event-stream' }, 429: { description: 'Too many open streams for this user' }, 503: { description: 'The server is at its stream limit' } },
    handler: async (req) => {
      parse ??= (await import('../../db/logs/search.ts')).parseLogSearch;
      matcher ??= (await import('../stream/log-match.ts')).logMatcher;
      return stream(req);
    },
  }),
];

export function openApiRoute(document: () => unknown): RouteDef {
  let doc: unknown;
  return route({
    method: 'GET',
    path: `${API}/openapi.json`,
    auth: 'public',
    tag: 'System',
    summary: 'This API as an OpenAPI 3.1 document',
    responses: { 200: { description: 'OpenAPI document', schema: s.any() } },
    handler: () => new Reply(200, (doc ??= document()), { 'cache-control': 'no-cache' }),
  });
}
