// Wake-up signals for workers whose source of truth is the database: bus events only say "there may
// be something new", so they are coalesced into one flag; a slow tick covers missed events.
import type { Bus } from '../bus/types.ts';

export class Waker {
  private flagged = false;
  private wakeNow: (() => void) | undefined;
  private count = 0;

  /** Subscribes `bus` to every pattern until `signal` aborts. */
  constructor(bus: Bus, patterns: readonly string[], signal: AbortSignal) {
    for (const pattern of patterns) {
      // The content is never read: a tiny queue is enough, and drops only lose duplicate pokes.
      const sub = bus.subscribe(pattern, { queueSize: 4, signal });
      void (async () => {
        for await (const _event of sub) this.poke();
      })();
    }
  }

  /** Events that woke (or would have woken) the worker. */
  get wakeups(): number {
    return this.count;
  }

  poke(): void {
    this.count++;
    this.flagged = true;
    const wake = this.wakeNow;
    this.wakeNow = undefined;
    wake?.();
  }

  /** Resolves when poked (at once if poked since the last wait), after `ms`, or when `signal` aborts. */
  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (!this.flagged && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          if (this.wakeNow === done) this.wakeNow = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener('abort', done, { once: true });
        this.wakeNow = done;
      });
    }
    this.flagged = false;
  }
}
