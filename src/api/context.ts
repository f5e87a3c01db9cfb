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
  readonly cache: TtlCache;
  readonly startedAt: number;
}

/**
 * Short-lived results of expensive reads (counts over large tables). Values are promises, so
 * concurrent requests for the same key share one query. Bounded in size.
 */
export class TtlCache {
  private readonly entries = new Map<string, { at: number; ttlMs: number; value: Promise<unknown> }>();
  private readonly maxEntries: number;

  constructor(maxEntries = 512) {
    this.maxEntries = maxEntries;
  }

  /**
   * The cached value of `key`, or a new one from `load`. `ttlMs` is either fixed or computed from
   * how long the load took, so that an expensive result is reused longer than a cheap one.
   */
  get<T>(key: string, ttlMs: number | ((loadMs: number) => number), load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < hit.ttlMs) return hit.value as Promise<T>;
    if (this.entries.size >= this.maxEntries) {
      for (const [k, e] of this.entries) if (now - e.at >= e.ttlMs) this.entries.delete(k);
      while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    const value = load();
    // While loading, concurrent callers share the pending promise.
    const entry = { at: now, ttlMs: Number.MAX_SAFE_INTEGER, value: value as Promise<unknown> };
    this.entries.set(key, entry);
    value.then(
      () => {
        const took = Date.now() - now;
        entry.at = Date.now();
        entry.ttlMs = typeof ttlMs === 'number' ? ttlMs : ttlMs(took);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return value;
  }

  /** Drops every entry whose key starts with `prefix` (after a write that changes them). */
  invalidate(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
