// Off-thread reads for SQLite. node:sqlite is synchronous: counting a million events or building a
// histogram takes hundreds of milliseconds, during which an API on the main thread would answer
// nobody. The API therefore runs its reads in worker threads, each with its own read-only
// connection to the same database file (WAL lets readers run beside the writers of other
// processes). The repositories are used unchanged: they get a Kysely instance whose driver posts
// each compiled statement to a reader thread.
//
// Bounded everywhere: at most a fixed number of threads, a bounded queue (503 beyond it), and a time
// limit per statement. node:sqlite cannot interrupt a running statement, so a thread past the limit
// is abandoned (the caller gets a 503 at once, the thread ends when its statement does) and the
// next read starts a fresh one. The statements come from validated parameters and are bounded by
// the size of the tables, so an abandoned thread always finishes.
//
// A thread costs about 10 MB, so the first starts with the first read, another only when reads keep
// waiting, and each ends after a while without work: an API nobody looks at costs no more than one
// without them. Sorting and grouping spill to temporary files, not memory.
import { Worker } from 'node:worker_threads';
import {
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import type { Db } from '../db/types.ts';
import { HttpError } from './http/errors.ts';

// The thread's code, as CommonJS source: it works the same from the sources and from the bundle
// (esbuild does not bundle worker files), and it needs nothing but node:sqlite.
const READER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const original = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const text = typeof warning === 'string' ? warning : warning && warning.message;
  if (/sqlite/i.test(String(text))) return;
  return original.call(process, warning, ...rest);
};
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path, { readOnly: true });
db.exec('PRAGMA busy_timeout = ' + workerData.busyTimeoutMs + '; PRAGMA query_only = ON; PRAGMA cache_size = -' + workerData.cacheKiB + '; PRAGMA temp_store = FILE');
const statements = new Map();
function prepare(sql) {
  let s = statements.get(sql);
  if (s) { statements.delete(sql); statements.set(sql, s); return s; }
  const statement = db.prepare(sql);
  s = { statement, rows: statement.columns().length > 0 };
  statements.set(sql, s);
  if (statements.size > 64) statements.delete(statements.keys().next().value);
  return s;
}
parentPort.on('message', (m) => {
  try {
    const s = prepare(m.sql);
    if (!s.rows) throw Object.assign(new Error('the read pool runs queries that return rows only'), { name: 'ReadOnlyError' });
    parentPort.postMessage({ id: m.id, rows: s.statement.all(...m.params) });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: { message: String(err && err.message || err), name: err && err.name, errcode: err && err.errcode } });
  }
});
`;

/** A read waiting this long while every thread is busy starts another thread (up to the maximum). */
const GROW_AFTER_MS = 25;

export interface ReadPoolOptions {
  path: string;
  /** Most threads running at once. */
  threads: number;
  /** A thread with nothing to do for this long ends (default 2 minutes). */
  idleMs?: number;
  /** Statements waiting for a thread beyond this are refused (503). */
  maxQueued?: number;
  /** A statement running longer than this ends its thread (503 to the caller). */
  statementTimeoutMs?: number;
  cacheKiB?: number;
  busyTimeoutMs?: number;
}

interface Job {
  id: number;
  sql: string;
  params: unknown[];
  resolve(rows: unknown[]): void;
  reject(err: Error): void;
}

interface Reader {
  worker: Worker;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
  lastUsed: number;
  /** The thread has started (its start-up time does not count against a statement's limit). */
  online: boolean;
}

function bindable(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  return value;
}

export class ReadPool {
  private readonly o: Required<ReadPoolOptions>;
  private readonly readers: Reader[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private readonly idleTimer: NodeJS.Timeout;
  private growTimer: NodeJS.Timeout | undefined;
  readonly stats = { statements: 0, refused: 0, timeouts: 0, started: 0, retired: 0 };

  constructor(o: ReadPoolOptions) {
    this.o = { maxQueued: 512, statementTimeoutMs: 15_000, cacheKiB: 2048, busyTimeoutMs: 5_000, idleMs: 120_000, ...o };
    this.idleTimer = setInterval(() => this.retireIdle(), Math.min(30_000, this.o.idleMs));
    this.idleTimer.unref();
  }

  get threads(): number {
    return this.readers.length;
  }

  private retireIdle(now = Date.now()): void {
    for (const r of [...this.readers]) {
      if (r.job || now - r.lastUsed < this.o.idleMs) continue;
      this.readers.splice(this.readers.indexOf(r), 1);
      this.stats.retired++;
      void r.worker.terminate();
    }
  }

  private spawn(): Reader {
    const worker = new Worker(READER_SOURCE, {
      eval: true,
      workerData: { path: this.o.path, cacheKiB: this.o.cacheKiB, busyTimeoutMs: this.o.busyTimeoutMs },
      // a reader needs little heap: rows are handed back at once
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 4 },
    });
    const reader: Reader = { worker, job: undefined, timer: undefined, lastUsed: Date.now(), online: false };
    this.stats.started++;
    worker.once('online', () => {
      reader.online = true;
      if (reader.job) this.startTimer(reader);
    });
    worker.unref();
    worker.on('message', (m: { id: number; rows?: unknown[]; error?: { message: string; name?: string; errcode?: number } }) => {
      const job = reader.job;
      if (!job || job.id !== m.id) return;
      clearTimeout(reader.timer);
      reader.job = undefined;
      reader.lastUsed = Date.now();
      if (m.error) job.reject(Object.assign(new Error(m.error.message), { name: m.error.name ?? 'Error', errcode: m.error.errcode }));
      else job.resolve(m.rows ?? []);
      this.dispatch();
    });
    worker.on('error', (err) => this.replace(reader, err));
    worker.on('exit', () => {
      if (!this.closed && this.readers.includes(reader)) this.replace(reader, new Error('the reader thread exited'));
    });
    return reader;
  }

  /** Ends a failed or stuck thread; the next read starts a new one. */
  private replace(reader: Reader, err: Error): void {
    const i = this.readers.indexOf(reader);
    if (i === -1) return;
    clearTimeout(reader.timer);
    reader.job?.reject(err);
    reader.job = undefined;
    this.readers.splice(i, 1);
    void reader.worker.terminate();
    if (!this.closed) this.dispatch();
  }

  get pending(): number {
    return this.queue.length;
  }

  run(sql: string, params: readonly unknown[]): Promise<unknown[]> {
    if (this.closed) return Promise.reject(new Error('the read pool is closed'));
    if (this.queue.length >= this.o.maxQueued) {
      this.stats.refused++;
      return Promise.reject(new HttpError(503, 'the database is busy; try again in a moment', { headers: { 'retry-after': '1' } }));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, sql, params: params.map(bindable), resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.readers.length === 0 && this.queue.length > 0) this.readers.push(this.spawn());
    for (const reader of this.readers) {
      if (this.queue.length === 0) return;
      if (reader.job) continue;
      const job = this.queue.shift()!;
      reader.job = job;
      this.stats.statements++;
      if (reader.online) this.startTimer(reader);
      reader.worker.postMessage({ id: job.id, sql: job.sql, params: job.params });
    }
    // More threads only when reads keep waiting: a burst that one thread clears costs no memory.
    this.considerGrowing();
  }

  private considerGrowing(): void {
    if (this.queue.length === 0 || this.readers.length >= this.o.threads || this.growTimer) return;
    this.growTimer = setTimeout(() => {
      this.growTimer = undefined;
      if (this.closed) return;
      // a thread still starting up is not a reason for another one
      if (this.readers.some((r) => !r.online)) return this.considerGrowing();
      if (this.queue.length === 0 || this.readers.length >= this.o.threads) return;
      this.readers.push(this.spawn());
      this.dispatch();
    }, GROW_AFTER_MS);
    this.growTimer.unref();
  }

  private startTimer(reader: Reader): void {
    clearTimeout(reader.timer);
    reader.timer = setTimeout(() => {
      this.stats.timeouts++;
      this.replace(reader, new HttpError(503, `the query took longer than ${this.o.statementTimeoutMs} ms and was stopped; narrow the search or the time range`));
    }, this.o.statementTimeoutMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.idleTimer);
    clearTimeout(this.growTimer);
    for (const job of this.queue.splice(0)) job.reject(new Error('the read pool is closed'));
    const idle: Promise<number>[] = [];
    for (const r of this.readers.splice(0)) {
      clearTimeout(r.timer);
      const busy = r.job !== undefined;
      r.job?.reject(new Error('the read pool is closed'));
      // a thread inside a statement ends when the statement does; shutdown does not wait for it
      const ended = r.worker.terminate();
      if (!busy) idle.push(ended);
    }
    await Promise.all(idle);
  }

  /** A read-only handle for the repositories. */
  db(): Db {
    return { kysely: new Kysely<any>({ dialect: new PoolDialect(this) }), dialect: 'sqlite' };
  }
}

class PoolConnection implements DatabaseConnection {
  private readonly pool: ReadPool;
  constructor(pool: ReadPool) {
    this.pool = pool;
  }
  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return { rows: (await this.pool.run(compiled.sql, compiled.parameters)) as R[] };
  }
  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the read pool does not stream');
  }
}

class PoolDriver implements Driver {
  private readonly connection: PoolConnection;
  constructor(pool: ReadPool) {
    this.connection = new PoolConnection(pool);
  }
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return this.connection;
  }
  async beginTransaction(): Promise<void> {
    throw new Error('the read pool does not run transactions; use the main database');
  }
  async commitTransaction(): Promise<void> {}
  async rollbackTransaction(): Promise<void> {}
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

class PoolDialect implements Dialect {
  private readonly pool: ReadPool;
  constructor(pool: ReadPool) {
    this.pool = pool;
  }
  createDriver(): Driver {
    return new PoolDriver(this.pool);
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
