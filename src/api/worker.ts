// The `api` worker: the REST API under /api/v1, the live event stream, and the dashboard's files,
// on 127.0.0.1:8000 by default. It seeds the admin account if there is none, follows worker
// heartbeats for GET /workers, and reads SQLite through reader threads so that no query stalls
// the event loop.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineWorker, WorkerFatalError, type WorkerContext } from '../fleet/worker.ts';
import type { Database, Db } from '../db/types.ts';
import { errorMessage } from '../core/errors.ts';
import { envInt } from '../core/env.ts';
import { dataDir, ensureDir } from '../core/paths.ts';
import { apiConfig } from './config.ts';
import { dashboardUrl, removeApiEndpoint, writeApiEndpoint } from './endpoint-file.ts';

/** Where a generated first password for the admin is left (0600) when nobody else showed it. */
export function initialPasswordPath(): string {
  return join(dataDir(), 'initial-admin-password');
}

async function seed(ctx: WorkerContext, db: Database): Promise<void> {
  const { seedAdmin } = await import('../db/auth/repo.ts');
  const result = await seedAdmin(db);
  if (result.generated_password) {
    const path = initialPasswordPath();
    ensureDir(dataDir(), 0o700);
    writeFileSync(path, result.generated_password + '\n', { mode: 0o600 });
    ctx.log.warn(`created the admin account "${result.username}"; its one-time password is in ${path} (log in, change it, then delete the file)`);
  } else if (result.created) {
    ctx.log.info(`created the admin account "${result.username}" with DECNET_ADMIN_PASSWORD; it must change its password at first login`);
  }
}

interface Reads {
  read: Db;
  threads: number;
  stats(): Record<string, unknown> | undefined;
  close(): Promise<void>;
}

async function readHandle(db: Database): Promise<Reads> {
  const threads = envInt('DECNET_API_READ_THREADS', 2, { min: 0, max: 16 });
  const direct: Reads = { read: db, threads: 0, stats: () => undefined, close: async () => {} };
  if (db.dialect !== 'sqlite' || threads === 0) return direct;
  const { parseDbUrl } = await import('../db/connection.ts');
  const target = parseDbUrl(db.url);
  if (target.dialect !== 'sqlite' || target.path === ':memory:') return direct;
  const { ReadPool } = await import('./read-pool.ts');
  const pool = new ReadPool({ path: target.path, threads });
  return { read: pool.db(), threads, stats: () => ({ max_threads: threads, threads: pool.threads, queued: pool.pending, ...pool.stats }), close: () => pool.close() };
}

export default defineWorker({
  name: 'api',
  summary: 'REST API, live event stream and dashboard (http://127.0.0.1:8000 by default)',
  async run(ctx) {
    let config;
    try {
      config = apiConfig(ctx.config);
    } catch (err) {
      throw new WorkerFatalError(errorMessage(err));
    }
    const db = (await ctx.db()) as Database;
    await seed(ctx, db);
    const { loadJwtSecret } = await import('./auth/secret.ts');
    let secret: Buffer;
    try {
      secret = loadJwtSecret();
    } catch (err) {
      throw new WorkerFatalError(errorMessage(err));
    }
    const reads = await readHandle(db);
    const [{ AuthService }, { RateLimiter, Semaphore }, { TicketStore }, { StreamHub }, { WorkerRegistry }, { TtlCache }, { Router }, { ApiServer }, { StaticFiles }, { apiRoutes }] = await Promise.all([
      import('./auth/principal.ts'),
      import('./auth/rate-limit.ts'),
      import('./stream/tickets.ts'),
      import('./stream/hub.ts'),
      import('./workers-view.ts'),
      import('./context.ts'),
      import('./http/router.ts'),
      import('./http/server.ts'),
      import('./static.ts'),
      import('./app.ts'),
    ]);
    const FIVE_MIN = 5 * 60_000;
    const streams = new StreamHub({
      bus: ctx.bus,
      db: async () => reads.read,
      maxLogId: async () => (await import('../db/logs/repo.ts')).maxLogId(db),
      log: ctx.log,
      signal: ctx.signal,
      maxPerUser: config.maxStreamsPerUser,
      maxStreams: config.maxStreams,
      queueLimit: config.streamQueue,
      heartbeatMs: envInt('DECNET_SSE_HEARTBEAT_MS', 15_000, { min: 10, max: 600_000 }),
      stallLimitMs: envInt('DECNET_SSE_STALL_MS', 60_000, { min: 100, max: 3_600_000 }),
    });
    const workers = new WorkerRegistry(ctx.bus, { healthIntervalMs: config.healthIntervalMs });
    const apiCtx = {
      config,
      log: ctx.log,
      bus: ctx.bus,
      db: async () => db,
      readDb: async () => reads.read,
      auth: new AuthService({ secret, ttlS: config.tokenTtlS, db: async () => db }),
      limits: {
        loginByIp: new RateLimiter({ capacity: config.loginAttempts, refillMs: FIVE_MIN }),
        loginByUser: new RateLimiter({ capacity: config.loginAttempts, refillMs: FIVE_MIN }),
        passwordChange: new RateLimiter({ capacity: 5, refillMs: 60_000 }),
        webhookWrites: new RateLimiter({ capacity: 20, refillMs: 60_000 }),
        hashing: new Semaphore(2, 32),
      },
      tickets: new TicketStore({ ttlMs: config.ticketTtlS * 1000 }),
      streams,
      workers,
      cache: new TtlCache(512),
      pages: new TtlCache(128),
      startedAt: Date.now(),
    };
    const server = new ApiServer({ router: new Router(apiRoutes()), ctx: apiCtx, statics: new StaticFiles(config.webRoot) });
    let bound: { host: string; port: number };
    try {
      await streams.start();
      bound = await server.listen(config.host, config.port);
    } catch (err) {
      streams.stop();
      await reads.close();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES') throw new WorkerFatalError(`not allowed to listen on ${config.host}:${config.port}; use a port above 1024 (DECNET_API_PORT)`);
      if (code === 'EADDRNOTAVAIL') throw new WorkerFatalError(`${config.host} is not an address of this machine (DECNET_API_HOST)`);
      if (code === 'EADDRINUSE') throw new Error(`${config.host}:${config.port} is already in use (another API, or set DECNET_API_PORT)`);
      throw err;
    }
    const url = dashboardUrl(bound.host, bound.port);
    const following = workers.run(ctx.signal).catch((err) => ctx.log.warn('heartbeat follower stopped', { error: errorMessage(err) }));
    writeApiEndpoint({ url, host: bound.host, port: bound.port, pid: process.pid, started_at: Date.now() });
    ctx.health(() => ({ url, streams: streams.open, stream_stats: streams.stats, read_pool: reads.stats() ?? null }));
    ctx.log.info(`listening on ${url} (API under ${url}api/v1; database reads in up to ${reads.threads} reader thread(s))`);
    try {
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      removeApiEndpoint();
      streams.stop();
      await server.close();
      await following;
      await reads.close();
    }
  },
});
