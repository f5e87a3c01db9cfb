// Opening the database (DESIGN §4). DECNET_DB_URL chooses the dialect:
//   sqlite:<path>   (default: decnet.db in the data directory; sqlite::memory: for tests)
//   postgres://user:pass@host:port/db[?schema=name]   (also postgresql://)
// This module loads no driver: the SQLite adapter or `pg` is imported when a URL asks for it.
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { envInt, envString } from '../core/env.ts';
import { dataDir } from '../core/paths.ts';
import type { Database, DialectName } from './types.ts';

export type { Database, Db, DialectName } from './types.ts';

export type DbTarget =
  | { dialect: 'sqlite'; path: string }
  | { dialect: 'postgres'; connectionString: string; schema: string | null };

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function defaultDbUrl(): string {
  return `sqlite:${join(dataDir(), 'decnet.db')}`;
}

/** Parses a database URL; an unsupported or malformed one fails with a message saying what to write. */
export function parseDbUrl(url: string): DbTarget {
  const trimmed = url.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    let path = trimmed.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2); // sqlite:///abs/path
    if (path === '') return { dialect: 'sqlite', path: join(dataDir(), 'decnet.db') };
    if (path === ':memory:') return { dialect: 'sqlite', path };
    if (path.includes('\0')) throw new ConfigError('DECNET_DB_URL: the SQLite path contains a NUL byte');
    return { dialect: 'sqlite', path: isAbsolute(path) ? path : resolve(path) };
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let parsed: URL;
    try {
      parsed = new URL(trimmed);
    } catch {
      throw new ConfigError(`DECNET_DB_URL: ${JSON.stringify(redactUrl(trimmed))} is not a valid URL; expected postgres://user:password@host:5432/database`);
    }
    if (!parsed.hostname && !parsed.searchParams.get('host')) throw new ConfigError('DECNET_DB_URL: the PostgreSQL URL names no host (postgres://user@host/database)');
    if (parsed.pathname.length <= 1) throw new ConfigError('DECNET_DB_URL: the PostgreSQL URL names no database (postgres://user@host/database)');
    const schema = parsed.searchParams.get('schema');
    if (schema !== null && !SCHEMA_NAME.test(schema)) {
      throw new ConfigError(`DECNET_DB_URL: schema ${JSON.stringify(schema)} must be a lower-case identifier (letters, digits, _; at most 63)`);
    }
    parsed.searchParams.delete('schema');
    return { dialect: 'postgres', connectionString: parsed.toString(), schema };
  }
  const shown = scheme ? `"${scheme}:"` : `${JSON.stringify(redactUrl(trimmed))} (no scheme)`;
  throw new ConfigError(`DECNET_DB_URL: unsupported database ${shown}; use sqlite:<path> (e.g. sqlite:/var/lib/decnet/decnet.db) or postgres://user:password@host:5432/database`);
}

/** The URL with any password replaced by `***`, for logs and status output. */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/, '$1:***@');
}

export interface OpenOptions {
  /** Apply pending migrations while opening (default true). */
  migrate?: boolean;
  /** Warnings from the driver (a PostgreSQL pool losing an idle connection). */
  onWarning?: (message: string, err?: Error) => void;
}

/**
 * Opens the database named by `url` (default: DECNET_DB_URL, else SQLite in the data directory)
 * and, unless told not to, brings its schema up to date.
 */
export async function openDatabase(url?: string, options: OpenOptions = {}): Promise<Database> {
  const raw = url ?? envString('DECNET_DB_URL') ?? defaultDbUrl();
  const target = parseDbUrl(raw);
  const shown = redactUrl(raw);
  let kysely;
  let dialect: DialectName;
  if (target.dialect === 'sqlite') {
    const { openSqliteKysely } = await import('./sqlite-dialect.ts');
    kysely = await openSqliteKysely({
      path: target.path,
      busyTimeoutMs: envInt('DECNET_DB_BUSY_TIMEOUT_MS', 30_000, { min: 0, max: 3_600_000 }),
    });
    dialect = 'sqlite';
  } else {
    const { openPostgresKysely } = await import('./postgres.ts');
    kysely = await openPostgresKysely({
      connectionString: target.connectionString,
      schema: target.schema,
      poolSize: envInt('DECNET_DB_POOL_SIZE', 10, { min: 1, max: 1000 }),
      displayUrl: shown,
      onPoolError: (err) => options.onWarning?.('PostgreSQL connection lost (the pool reconnects)', err),
    });
    dialect = 'postgres';
  }
  let closed = false;
  const db: Database = {
    kysely,
    dialect,
    url: shown,
    close: async () => {
      if (closed) return;
      closed = true;
      await kysely.destroy();
    },
  };
  if (options.migrate !== false) {
    try {
      const { migrate } = await import('./migrations.ts');
      await migrate(db);
    } catch (err) {
      await db.close();
      throw err;
    }
  }
  return db;
}

let shared: Promise<Database> | undefined;

/**
 * The process's one database (workers hosted in one process share it). Opened on first use with
 * DECNET_DB_URL and migrated; a failed open is not cached, so the next call tries again.
 */
export function sharedDatabase(): Promise<Database> {
  if (!shared) {
    const opening = openDatabase();
    shared = opening;
    opening.catch(() => {
      if (shared === opening) shared = undefined;
    });
  }
  return shared;
}

/** Closes the shared database if it was opened (host shutdown). */
export async function closeSharedDatabase(): Promise<void> {
  const current = shared;
  shared = undefined;
  if (current) await (await current.catch(() => undefined))?.close();
}
