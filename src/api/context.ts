// Everything a route handler may use, built once per run of the api worker.
import type { Bus } from '../bus/types.ts';
import type { Database, Db } from '../db/types.ts';
import type { Logger } from '../core/log.ts';
import type { ApiConfig } from './config.ts';
import type { AuthService } from './auth/principal.ts';
import type { RateLimiter, Semaphore } from './auth/rate-limit.ts';
import type { TicketStore } from './stream/tickets.ts';
import type { StreamHub } from './stream/hub.ts';
import type { WorkerRegistry } from './workers-view.ts';

export interface ApiLimits {
  loginByIp: RateLimiter;
  loginByUser: RateLimiter;
  passwordChange: RateLimiter;
  webhookWrites: RateLimiter;
  /** Password hashing is memory-hard (32 MiB each): only a few at a time. */
  hashing: Semaphore;
}

export interface ApiContext {
  readonly config: ApiConfig;
  readonly log: Logger;
  readonly bus: Bus;
  /** The database for writes (and for reads that must see this request's own writes). */
  db(): Promise<Database>;
  /** The database for reads: reader threads on SQLite (never blocks the event loop), else db(). */
  readDb(): Promise<Db>;
  readonly auth: AuthService;
  readonly limits: ApiLimits;
  readonly tickets: TicketStore;
  readonly streams: StreamHub;
  readonly workers: WorkerRegistry;
  /** Small results (counts, aggregates). */
  readonly cache: TtlCache;
  /** Serialised list pages (tens of KB each): fewer entries. */
  readonly pages: TtlCache;
  readonly startedAt: number;
}

/**
 * Short-lived results of expensive reads (counts over large tables, pages of lists). Values are
 * promises, so concurrent requests for the same key share one query. An expired value is still
 * answered (for at most MAX_STALE_MS) while one refresh runs in the background, so no request
 * waits for a recount that others already paid for. Bounded in entries.
 */
const MAX_STALE_MS = 60_000;

interface Entry {
  at: number;
  ttlMs: number;
  value: Promise<unknown>;
  settled: boolean;
  refreshing: boolean;
}

export class TtlCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;

  constructor(maxEntries = 512) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The cached value of `key`, or a new one from `load`. `ttlMs` is either fixed or computed from
   * how long the load took, so that an expensive result is reused longer than a cheap one.
   */
  get<T>(key: string, ttlMs: number | ((loadMs: number) => number), load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < hit.ttlMs) return hit.value as Promise<T>;
    if (hit && hit.settled && now - hit.at < hit.ttlMs + MAX_STALE_MS) {
      if (!hit.refreshing) this.refresh(hit, ttlMs, load);
      return hit.value as Promise<T>;
    }
    if (this.entries.size >= this.maxEntries) {
      for (const [k, e] of this.entries) if (e.settled && now - e.at >= e.ttlMs + MAX_STALE_MS) this.entries.delete(k);
      while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    const value = load();
    // While loading, concurrent callers share the pending promise.
    const entry: Entry = { at: now, ttlMs: Number.MAX_SAFE_INTEGER, value, settled: false, refreshing: false };
    this.entries.set(key, entry);
    value.then(
      () => {
        entry.settled = true;
        entry.at = Date.now();
        entry.ttlMs = typeof ttlMs === 'number' ? ttlMs : ttlMs(entry.at - now);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return value;
  }

  private refresh<T>(entry: Entry, ttlMs: number | ((loadMs: number) => number), load: () => Promise<T>): void {
    entry.refreshing = true;
    const started = Date.now();
    load().then(
      (v) => {
        entry.value = Promise.resolve(v);
        entry.at = Date.now();
        entry.ttlMs = typeof ttlMs === 'number' ? ttlMs : ttlMs(entry.at - started);
        entry.refreshing = false;
      },
      () => {
        // keep answering the last good value until it is too old; the next call tries again
        entry.refreshing = false;
      },
    );
  }

  /** Drops every entry whose key starts with `prefix` (after a write that changes them). */
  invalidate(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
