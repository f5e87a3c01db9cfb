// A Kysely dialect over Node's built-in `node:sqlite` (no native addon). Loaded only when the
// database URL is `sqlite:`.
//
// node:sqlite is synchronous, so two rules keep the event loop and other processes healthy:
// - the in-library busy wait is short (BUSY_SLICE_MS); beyond that a locked database is waited
//   for asynchronously with backoff, so a process waiting for a lock keeps serving its event loop;
// - a caller that runs many statements back to back (a long transaction) gets a turn of the event
//   loop inserted every YIELD_AFTER_MS of continuous work, so timers and I/O keep running;
// - every transaction starts with BEGIN IMMEDIATE: it takes the write lock up front, so a
//   transaction never has to upgrade a read lock to a write lock later (the upgrade is where two
//   WAL writers deadlock and SQLite returns SQLITE_BUSY without waiting).
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, StatementSync, SQLInputValue } from 'node:sqlite';
import {
  CompiledQuery,
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import { monotonicMs } from '../core/clock.ts';

export interface SqliteOptions {
  /** File path, or ':memory:'. */
  path: string;
  /** How long to keep retrying a locked database before failing (ms). */
  busyTimeoutMs?: number;
  /** Page cache size in KiB. */
  cacheKiB?: number;
}

/** Synchronous busy wait inside SQLite per attempt; longer waits happen asynchronously. */
const BUSY_SLICE_MS = 2;
/** Continuous synchronous work after which the next statement first lets the event loop turn. */
const YIELD_AFTER_MS = 8;
/** Rows written within one second that mark this process as a heavy writer (see sqlite-checkpointer.ts). */
const HEAVY_WRITES_PER_SECOND = 2000;
/** With the background checkpointer running, the writer checkpoints itself only past this many WAL pages. */
const FALLBACK_AUTOCHECKPOINT = 16_000;
const STATEMENT_CACHE = 128;
const SQLITE_BUSY = 5;

type NodeSqlite = typeof import('node:sqlite');

let loaded: Promise<NodeSqlite> | undefined;

/**
 * Imports node:sqlite. Node 22 prints an ExperimentalWarning when the module loads; that one
 * warning is filtered (only while the import runs), every other warning passes through.
 */
function loadNodeSqlite(): Promise<NodeSqlite> {
  loaded ??= (async () => {
    const original = process.emitWarning;
    const filtered = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
      const message = typeof warning === 'string' ? warning : warning.message;
      const first = rest[0];
      const type = typeof first === 'string' ? first : typeof first === 'object' && first !== null ? (first as { type?: string }).type : (warning as Error).name;
      if (type === 'ExperimentalWarning' && /sqlite/i.test(message)) return;
      return (original as (...args: unknown[]) => void).call(process, warning, ...rest);
    };
    process.emitWarning = filtered as typeof process.emitWarning;
    try {
      return await import('node:sqlite');
    } finally {
      process.emitWarning = original;
    }
  })();
  return loaded;
}

export function isBusy(err: unknown): boolean {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && (code & 0xff) === SQLITE_BUSY;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retries `fn` while SQLite reports the database locked, with jittered exponential backoff. */
async function retryBusy<T>(fn: () => T, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err)) throw err;
      if (Date.now() >= deadline) {
        throw Object.assign(new Error(`the SQLite database stayed locked by another process for ${timeoutMs} ms (${what}); raise DECNET_DB_BUSY_TIMEOUT_MS or look for a stuck writer`), {
          code: 'ERR_SQLITE_ERROR',
          errcode: SQLITE_BUSY,
          cause: err,
        });
      }
      await pause(delay / 2 + Math.random() * delay);
      delay = Math.min(delay * 2, 100);
    }
  }
}

function bindable(value: unknown): SQLInputValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  return value as SQLInputValue;
}

class Mutex {
  #tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => next);
    return ready;
  }
}

interface CachedStatement {
  statement: StatementSync;
  returnsRows: boolean;
}

class SqliteConnection implements DatabaseConnection {
  readonly #db: DatabaseSync;
  readonly #busyTimeoutMs: number;
  readonly #path: string;
  #writeWindowStart = 0;
  #writesInWindow = 0;
  #checkpointer?: Promise<{ stop(): Promise<void> } | undefined>;
  readonly #statements = new Map<string, CachedStatement>();
  #sliceStart = 0;
  #lastEnd = 0;
  inTransaction = false;

  constructor(db: DatabaseSync, busyTimeoutMs: number, path: string) {
    this.#db = db;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#path = path;
  }

  /** Counts written rows; a sustained heavy writer moves its WAL checkpoints to a background thread. */
  #noteWrites(changes: number): void {
    if (this.#checkpointer || changes === 0 || this.#path === ':memory:') return;
    const now = monotonicMs();
    if (now - this.#writeWindowStart > 1000) {
      this.#writeWindowStart = now;
      this.#writesInWindow = 0;
    }
    this.#writesInWindow += changes;
    if (this.#writesInWindow < HEAVY_WRITES_PER_SECOND) return;
    this.#checkpointer = import('./sqlite-checkpointer.ts').then(
      ({ startCheckpointer }) => {
        const checkpointer = startCheckpointer(this.#path);
        this.#db.exec(`PRAGMA wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT}`);
        return checkpointer;
      },
      () => undefined, // without the thread the writer keeps checkpointing itself
    );
  }

  #prepare(text: string): CachedStatement {
    const hit = this.#statements.get(text);
    if (hit) {
      // refresh its position: the Map's insertion order is the eviction order
      this.#statements.delete(text);
      this.#statements.set(text, hit);
      return hit;
    }
    const statement = this.#db.prepare(text);
    // columns() exists from Node 22.16; before that, tell by the statement's text
    const returnsRows = typeof statement.columns === 'function' ? statement.columns().length > 0 : /^\s*(select|with|pragma|values|explain)\b|\breturning\b/i.test(text);
    const entry = { statement, returnsRows };
    this.#statements.set(text, entry);
    if (this.#statements.size > STATEMENT_CACHE) this.#statements.delete(this.#statements.keys().next().value!);
    return entry;
  }

  #run<R>(compiled: CompiledQuery): QueryResult<R> {
    const { statement, returnsRows } = this.#prepare(compiled.sql);
    const params = compiled.parameters.map(bindable);
    if (returnsRows) return { rows: statement.all(...params) as R[] };
    const result = statement.run(...params);
    this.#noteWrites(Number(result.changes));
    return { rows: [], numAffectedRows: BigInt(result.changes), insertId: BigInt(result.lastInsertRowid) };
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    // Awaiting a query that completed synchronously does not let the event loop run; after a
    // slice of continuous work, give it a turn before the next statement.
    // A pause since the previous statement means the loop was free: a new slice starts.
    const now = monotonicMs();
    if (now - this.#lastEnd > 2) this.#sliceStart = now;
    else if (now - this.#sliceStart > YIELD_AFTER_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.#sliceStart = monotonicMs();
    }
    try {
      return await this.#execute<R>(compiled);
    } finally {
      this.#lastEnd = monotonicMs();
    }
  }

  async #execute<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    // Outside a transaction a statement that met a lock did nothing, so it is safe to retry.
    // Inside one we hold the write lock already (BEGIN IMMEDIATE) and run it once.
    if (this.inTransaction) return this.#run<R>(compiled);
    return retryBusy(() => this.#run<R>(compiled), this.#busyTimeoutMs, 'statement');
  }

  async *streamQuery<R>(compiled: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    const { statement } = this.#prepare(compiled.sql);
    let rows: R[] = [];
    for (const row of statement.iterate(...compiled.parameters.map(bindable))) {
      rows.push(row as R);
      if (rows.length >= chunkSize) {
        yield { rows };
        rows = [];
      }
    }
    if (rows.length > 0) yield { rows };
  }

  async begin(): Promise<void> {
    await retryBusy(() => this.#db.exec('BEGIN IMMEDIATE'), this.#busyTimeoutMs, 'BEGIN IMMEDIATE');
    this.inTransaction = true;
  }

  exec(text: string): void {
    this.#db.exec(text);
  }

  #open(): boolean {
    // isTransaction exists from Node 22.16; before that, trust our own bookkeeping
    return typeof this.#db.isTransaction === 'boolean' ? this.#db.isTransaction : this.inTransaction;
  }

  finish(text: 'COMMIT' | 'ROLLBACK'): void {
    try {
      if (this.#open()) this.#db.exec(text);
      this.inTransaction = false;
    } finally {
      this.inTransaction = this.#open();
    }
  }

  async close(): Promise<void> {
    await (await this.#checkpointer)?.stop();
    this.#statements.clear();
    try {
      this.#db.exec('PRAGMA optimize');
    } catch {
      // optional housekeeping; a locked or read-only database just skips it
    }
    this.#db.close();
  }
}

const SAVEPOINT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

class SqliteDriver implements Driver {
  readonly #options: Required<SqliteOptions>;
  readonly #mutex = new Mutex();
  #connection?: SqliteConnection;
  #release?: () => void;

  constructor(options: SqliteOptions) {
    this.#options = { busyTimeoutMs: 30_000, cacheKiB: 8192, ...options };
  }

  async init(): Promise<void> {
    const { DatabaseSync } = await loadNodeSqlite();
    const { path, busyTimeoutMs, cacheKiB } = this.#options;
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
      // The database holds captured credentials: create it private. SQLite gives its -wal and
      // -shm files the same mode as the database file.
      closeSync(openSync(path, 'a', 0o600));
    }
    const db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
    try {
      db.exec(`PRAGMA busy_timeout = ${BUSY_SLICE_MS}`);
      // Switching to WAL needs a moment of exclusive access; another process opening the same
      // file at the same instant makes it report busy, so retry.
      const mode = await retryBusy(() => db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode: string }, busyTimeoutMs, 'journal_mode');
      if (path !== ':memory:' && mode.journal_mode.toLowerCase() !== 'wal') {
        throw new Error(`SQLite refused WAL mode for ${path} (got ${mode.journal_mode}); is it on a network filesystem?`);
      }
      db.exec(`PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -${Math.trunc(cacheKiB)}; PRAGMA temp_store = MEMORY`);
    } catch (err) {
      db.close();
      throw err;
    }
    this.#connection = new SqliteConnection(db, busyTimeoutMs, path);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // One connection per process, used by one caller at a time: a transaction owns it until
    // commit or rollback, which keeps statements of concurrent async callers from interleaving.
    this.#release = await this.#mutex.lock();
    return this.#connection!;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as SqliteConnection).begin();
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    (connection as SqliteConnection).finish('COMMIT');
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    (connection as SqliteConnection).finish('ROLLBACK');
  }

  async savepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    (connection as SqliteConnection).exec(`SAVEPOINT ${checkSavepoint(savepointName)}`);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    (connection as SqliteConnection).exec(`ROLLBACK TO SAVEPOINT ${checkSavepoint(savepointName)}`);
  }

  async releaseSavepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    (connection as SqliteConnection).exec(`RELEASE SAVEPOINT ${checkSavepoint(savepointName)}`);
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    const release = await this.#mutex.lock();
    try {
      await this.#connection?.close();
      this.#connection = undefined;
    } finally {
      release();
    }
  }
}

function checkSavepoint(name: string): string {
  if (!SAVEPOINT_NAME.test(name)) throw new Error(`invalid savepoint name ${JSON.stringify(name)}`);
  return name;
}

export class NodeSqliteDialect implements Dialect {
  readonly #options: SqliteOptions;
  constructor(options: SqliteOptions) {
    this.#options = options;
  }
  createDriver(): Driver {
    return new SqliteDriver(this.#options);
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

/** Opens a Kysely instance on a SQLite file with WAL, foreign keys and the busy handling above. */
export async function openSqliteKysely(options: SqliteOptions): Promise<Kysely<any>> {
  const kysely = new Kysely<any>({ dialect: new NodeSqliteDialect(options) });
  // Kysely initialises the driver lazily; do it now so a bad path fails at open, not at first use.
  await kysely.executeQuery(CompiledQuery.raw('select 1'));
  return kysely;
}
