// In-memory token buckets keyed by client IP or user name. The map is bounded: when it is full,
// buckets that have refilled completely (they carry no information) go first, then the oldest.
// A flood of distinct keys therefore costs a fixed amount of memory and cannot evict the bucket of
// an address that is being throttled right now unless the map is overwhelmed.

export interface BucketPolicy {
  /** Attempts allowed in a burst. */
  capacity: number;
  /** Time for the bucket to refill from empty, ms. */
  refillMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly policy: BucketPolicy;
  private readonly maxKeys: number;

  constructor(policy: BucketPolicy, maxKeys = 10_000) {
    if (policy.capacity < 1 || policy.refillMs <= 0) throw new Error('a bucket needs capacity >= 1 and refillMs > 0');
    this.policy = policy;
    this.maxKeys = maxKeys;
  }

  get size(): number {
    return this.buckets.size;
  }

  private level(b: Bucket, now: number): number {
    const refilled = ((now - b.at) / this.policy.refillMs) * this.policy.capacity;
    return Math.min(this.policy.capacity, b.tokens + refilled);
  }

  /** Seconds until one attempt is available again (0 when one is available now). */
  retryAfterS(key: string, now = Date.now()): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const level = this.level(b, now);
    return level >= 1 ? 0 : ((1 - level) * this.policy.refillMs) / this.policy.capacity / 1000;
  }

  /** Takes one token; false when the bucket is empty. */
  take(key: string, now = Date.now()): boolean {
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = this.level(b, now);
      b.at = now;
      // re-insert so Map order stays "least recently touched first"
      this.buckets.delete(key);
    } else {
      this.makeRoom(now);
      b = { tokens: this.policy.capacity, at: now };
    }
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Takes one token from each key's bucket only if every one has a token (so a refused attempt costs nothing). */
  takeAll(keys: readonly string[], now = Date.now()): { ok: true } | { ok: false; retryAfterS: number } {
    const waits = keys.map((k) => this.retryAfterS(k, now));
    const longest = Math.max(0, ...waits);
    // A refused attempt takes nothing, so hammering from one address cannot drain the
    // bucket of the user name it targets beyond what that address's own bucket allowed.
    if (longest > 0) return { ok: false, retryAfterS: longest };
    for (const k of keys) this.take(k, now);
    return { ok: true };
  }

  reset(): void {
    this.buckets.clear();
  }

  private makeRoom(now: number): void {
    if (this.buckets.size < this.maxKeys) return;
    for (const [key, b] of this.buckets) {
      if (this.level(b, now) >= this.policy.capacity) this.buckets.delete(key);
      if (this.buckets.size < this.maxKeys * 0.9) return;
    }
    while (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) break;
      this.buckets.delete(oldest);
    }
  }
}

/** Bounds concurrent expensive work (password hashing uses 32 MiB each) with a short bounded wait queue. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly limit: number;
  private readonly maxWaiting: number;

  constructor(limit: number, maxWaiting: number) {
    this.limit = limit;
    this.maxWaiting = maxWaiting;
  }

  /** Runs fn when a slot is free; returns undefined at once when the wait queue is full. */
  async run<T>(fn: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.active >= this.limit) {
      if (this.waiting.length >= this.maxWaiting) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return { value: await fn() };
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
