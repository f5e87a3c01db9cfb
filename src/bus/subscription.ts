// The subscriber side shared by every transport: a bounded queue per subscription that drops the
// oldest event when full (counted), consumed with `for await`, next() or consume().
import { DEFAULT_QUEUE_SIZE, type Envelope, type SubscribeOptions, type Subscription } from './types.ts';

export const MAX_QUEUE_SIZE = 1 << 20;

type Waiter = (ev: Envelope | undefined) => void;

export function checkQueueSize(size: number | undefined): number {
  if (size === undefined) return DEFAULT_QUEUE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_QUEUE_SIZE) {
    throw new RangeError(`queueSize must be a whole number from 1 to ${MAX_QUEUE_SIZE}, got ${String(size)}`);
  }
  return size;
}

export class QueueSubscription implements Subscription {
  readonly pattern: string;
  drops = 0;
  private readonly ring: (Envelope | undefined)[];
  private head = 0;
  private count = 0;
  private waiters: Waiter[] = [];
  private closed = false;
  private readonly onClose: (sub: QueueSubscription) => void;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = (): void => this.close();

  constructor(pattern: string, opts: SubscribeOptions | undefined, onClose: (sub: QueueSubscription) => void) {
    this.pattern = pattern;
    this.ring = new Array(checkQueueSize(opts?.queueSize));
    this.onClose = onClose;
    this.signal = opts?.signal;
    if (this.signal?.aborted) this.closed = true;
    else this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get pending(): number {
    return this.count;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Called by the transport for each matching event. */
  push(ev: Envelope): void {
    if (this.closed) return;
    if (this.waiters.length > 0) {
      this.waiters.shift()!(ev);
      return;
    }
    const cap = this.ring.length;
    if (this.count === cap) {
      // Full: the oldest event goes.
      this.ring[this.head] = ev;
      this.head = (this.head + 1) % cap;
      this.drops++;
      return;
    }
    this.ring[(this.head + this.count) % cap] = ev;
    this.count++;
  }

  /** The next queued event without waiting, or undefined if none is queued. */
  tryNext(): Envelope | undefined {
    if (this.count === 0) return undefined;
    const ev = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    return ev;
  }

  next(): Promise<Envelope | undefined> {
    if (this.count > 0) return Promise.resolve(this.tryNext());
    if (this.closed) return Promise.resolve(undefined);
    return new Promise<Envelope | undefined>((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    if (this.closed) return;
    this.end();
    this.onClose(this);
  }

  /** Ends the subscription without telling the transport (the transport itself is closing). */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.ring.fill(undefined);
    this.count = 0;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<Envelope> {
    return {
      next: (): Promise<IteratorResult<Envelope>> => {
        const ev = this.tryNext();
        if (ev !== undefined) return Promise.resolve({ done: false, value: ev });
        if (this.closed) return Promise.resolve({ done: true, value: undefined });
        return new Promise<IteratorResult<Envelope>>((resolve) =>
          this.waiters.push((e) => resolve(e === undefined ? { done: true, value: undefined } : { done: false, value: e })),
        );
      },
      return: (): Promise<IteratorResult<Envelope>> => {
        this.close();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }
}

/**
 * Hands each event of `sub` to `handler`, one at a time, until `signal` aborts or the subscription
 * ends; then closes the subscription. A handler that throws ends the loop with that error (a worker
 * then restarts under its supervisor).
 */
export async function consume(sub: Subscription, handler: (ev: Envelope) => unknown, signal?: AbortSignal): Promise<void> {
  const onAbort = (): void => sub.close();
  if (signal?.aborted) {
    sub.close();
    return;
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    while (true) {
      const ev = sub.tryNext() ?? (await sub.next());
      if (ev === undefined) return;
      const r = handler(ev);
      if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') await r;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    sub.close();
  }
}
