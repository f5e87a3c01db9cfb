// A token bucket: at most `burst` operations at once, refilled at `ratePerSec`. Rate limits for
// outbound calls (intel providers, webhook deliveries). Time comes from a monotonic clock.
import { monotonicMs } from './clock.ts';

export class TokenBucket {
  readonly ratePerSec: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(ratePerSec: number, burst: number, now: () => number = monotonicMs) {
    if (!(ratePerSec > 0) || !Number.isFinite(ratePerSec)) throw new RangeError(`rate must be a positive number of operations per second, got ${ratePerSec}`);
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError(`burst must be at least 1, got ${burst}`);
    this.ratePerSec = ratePerSec;
    this.burst = burst;
    this.tokens = burst;
    this.now = now;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSec);
    this.last = t;
  }

  /** Takes a token if one is available now. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is available (0 if one is). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerSec) * 1000);
  }

  /**
   * Waits for a token and takes it. Gives up (false) when the wait would exceed `maxWaitMs` or the
   * signal aborts, so a caller is never parked behind a slow limit for longer than it chose.
   */
  async take(maxWaitMs: number, signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      const wait = this.waitMs();
      if (wait === 0) {
        this.tokens -= 1;
        return true;
      }
      if (wait > maxWaitMs) return false;
      maxWaitMs -= wait;
      const slept = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve(true);
        }, wait);
        const onAbort = () => {
          clearTimeout(timer);
          resolve(false);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      if (!slept) return false;
    }
  }
}
