// The `webhook` worker: delivers bus events to the subscriptions in webhook_subscriptions.
// - It subscribes the bus to the union of the enabled subscriptions' patterns (one bus
//   subscription per distinct pattern) and hands each event to every subscription it matches,
//   once: of the patterns that match a topic, only the first (in a fixed order) dispatches it.
// - Each subscription has a bounded queue (the oldest event is dropped, and counted, when full), a
//   token bucket (its rate_per_minute, else DECNET_WEBHOOK_RATE_PER_MIN) and a sequential delivery
//   loop; at most DECNET_WEBHOOK_CONCURRENCY deliveries run at once across subscriptions.
// - A delivery that fails after its retries counts against the subscription; after
//   DECNET_WEBHOOK_CIRCUIT_THRESHOLD (5) failures in a row it is disabled in the database (the
//   circuit breaker) and a line is logged. Any success resets the count.
// - The set is reloaded on system.webhook.subscriptions_changed and every DECNET_WEBHOOK_RELOAD_S.
import { defineWorker, type WorkerContext } from '../fleet/worker.ts';
import type { Envelope, Subscription } from '../bus/types.ts';
import { topics } from '../bus/topics.ts';
import { subjectMatches } from '../bus/subject.ts';
import { envBool, envInt, envNumber } from '../core/env.ts';
import { errorMessage } from '../core/errors.ts';
import { TokenBucket } from '../core/token-bucket.ts';
import type { Db } from '../db/types.ts';
import type { WebhookRow } from '../db/webhooks/repo.ts';

export interface WebhookWorkerConfig {
  attempts: number;
  baseDelayMs: number;
  timeoutMs: number;
  circuitThreshold: number;
  allowPrivate: boolean;
  ratePerMinute: number;
  burst: number;
  queueSize: number;
  concurrency: number;
  reloadMs: number;
}

export function webhookConfigFromEnv(): WebhookWorkerConfig {
  return {
    attempts: envInt('DECNET_WEBHOOK_ATTEMPTS', 4, { min: 1, max: 10 }),
    baseDelayMs: envInt('DECNET_WEBHOOK_BACKOFF_MS', 1000, { min: 1, max: 60_000 }),
    timeoutMs: envInt('DECNET_WEBHOOK_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
    circuitThreshold: envInt('DECNET_WEBHOOK_CIRCUIT_THRESHOLD', 5, { min: 1, max: 1000 }),
    allowPrivate: envBool('DECNET_WEBHOOK_ALLOW_PRIVATE', false),
    ratePerMinute: envNumber('DECNET_WEBHOOK_RATE_PER_MIN', 600, { min: 1, max: 60_000 }),
    burst: envInt('DECNET_WEBHOOK_BURST', 20, { min: 1, max: 10_000 }),
    queueSize: envInt('DECNET_WEBHOOK_QUEUE', 256, { min: 1, max: 100_000 }),
    concurrency: envInt('DECNET_WEBHOOK_CONCURRENCY', 10, { min: 1, max: 1000 }),
    reloadMs: envNumber('DECNET_WEBHOOK_RELOAD_S', 60, { min: 0.05, max: 86_400 }) * 1000,
  };
}

interface SubState {
  row: WebhookRow;
  bucket: TokenBucket;
  queue: Envelope[];
  running: boolean;
  /** Removed from the active set (disabled, deleted or tripped): stop after the current delivery. */
  retired: boolean;
  counts: { delivered: number; failed: number; dropped: number };
}

/** Counts slots for concurrent deliveries. */
class Gate {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async enter(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

const sameDelivery = (a: WebhookRow, b: WebhookRow) =>
  a.url === b.url && a.secret === b.secret && a.allow_private === b.allow_private && a.rate_per_minute === b.rate_per_minute && JSON.stringify(a.topic_patterns) === JSON.stringify(b.topic_patterns);

export default defineWorker({
  name: 'webhook',
  summary: 'delivers bus events to subscribed HTTP endpoints, signed with HMAC-SHA256',
  async run(ctx: WorkerContext) {
    const cfg = webhookConfigFromEnv();
    const db = (await ctx.db()) as Db;
    const repo = await import('../db/webhooks/repo.ts');
    const { deliverEvent } = await import('./webhook-deliver.ts');
    const subs = new Map<string, SubState>();
    const busSubs = new Map<string, Subscription>();
    let patternOrder: string[] = [];
    const gate = new Gate(cfg.concurrency);
    const totals = { delivered: 0, failed: 0, dropped: 0, disabled: 0, reloads: 0 };

    ctx.health(() => ({
      ...totals,
      subscriptions: subs.size,
      patterns: patternOrder.length,
      queued: [...subs.values()].reduce((n, s) => n + s.queue.length, 0),
      per_subscription: Object.fromEntries([...subs.values()].map((s) => [s.row.name, { ...s.counts, queued: s.queue.length }])),
    }));

    const bucketFor = (row: WebhookRow) => {
      const perMinute = row.rate_per_minute ?? cfg.ratePerMinute;
      return new TokenBucket(perMinute / 60, Math.min(cfg.burst, Math.max(1, perMinute)));
    };

    async function reload(): Promise<void> {
      const rows = await repo.listWebhooks(db, { enabledOnly: true });
      totals.reloads++;
      const seen = new Set<string>();
      for (const row of rows) {
        seen.add(row.uuid);
        const current = subs.get(row.uuid);
        if (!current) {
          subs.set(row.uuid, { row, bucket: bucketFor(row), queue: [], running: false, retired: false, counts: { delivered: 0, failed: 0, dropped: 0 } });
        } else if (!sameDelivery(current.row, row)) {
          if (current.row.rate_per_minute !== row.rate_per_minute) current.bucket = bucketFor(row);
          current.row = row;
        } else {
          current.row = row;
        }
      }
      for (const [uuid, s] of subs) {
        if (seen.has(uuid)) continue;
        s.retired = true;
        s.queue.length = 0;
        subs.delete(uuid);
      }
      resubscribe();
    }

    function resubscribe(): void {
      const wanted = new Set<string>();
      for (const s of subs.values()) for (const p of s.row.topic_patterns) wanted.add(p);
      for (const [pattern, sub] of busSubs) {
        if (wanted.has(pattern)) continue;
        sub.close();
        busSubs.delete(pattern);
      }
      for (const pattern of wanted) {
        if (busSubs.has(pattern)) continue;
        let sub: Subscription;
        try {
          sub = ctx.bus.subscribe(pattern, { signal: ctx.signal });
        } catch (err) {
          ctx.log.warn(`skipping the invalid pattern ${JSON.stringify(pattern)}`, { error: errorMessage(err) });
          continue;
        }
        busSubs.set(pattern, sub);
        void (async () => {
          for await (const event of sub) dispatch(pattern, event);
        })();
      }
      patternOrder = [...busSubs.keys()].sort();
    }

    function dispatch(viaPattern: string, event: Envelope): void {
      // Every bus subscription whose pattern matches receives a copy; only the first one dispatches.
      const first = patternOrder.find((p) => subjectMatches(p, event.topic));
      if (first !== viaPattern) return;
      for (const s of subs.values()) {
        if (!s.row.topic_patterns.some((p) => subjectMatches(p, event.topic))) continue;
        if (s.queue.length >= cfg.queueSize) {
          s.queue.shift();
          s.counts.dropped++;
          totals.dropped++;
        }
        s.queue.push(event);
        if (!s.running) void drain(s);
      }
    }

    async function drain(s: SubState): Promise<void> {
      s.running = true;
      try {
        while (s.queue.length > 0 && !s.retired && !ctx.signal.aborted) {
          if (!(await s.bucket.take(Number.MAX_SAFE_INTEGER, ctx.signal))) break;
          const event = s.queue.shift();
          if (!event) break;
          await gate.enter();
          let result;
          try {
            result = await deliverEvent(
              { url: s.row.url, secret: s.row.secret, policy: { allowInternal: cfg.allowPrivate || s.row.allow_private } },
              event,
              { attempts: cfg.attempts, baseDelayMs: cfg.baseDelayMs, timeoutMs: cfg.timeoutMs, signal: ctx.signal },
            );
          } finally {
            gate.leave();
          }
          if (ctx.signal.aborted) break;
          await record(s, result.delivered, result.error ?? '');
        }
      } catch (err) {
        ctx.log.error(`delivery loop of ${s.row.name} failed`, { error: errorMessage(err) });
      } finally {
        s.running = false;
      }
      if (s.queue.length > 0 && !s.retired && !ctx.signal.aborted) void drain(s);
    }

    async function record(s: SubState, delivered: boolean, error: string): Promise<void> {
      if (delivered) {
        s.counts.delivered++;
        totals.delivered++;
        await repo.recordWebhookSuccess(db, s.row.uuid);
        return;
      }
      s.counts.failed++;
      totals.failed++;
      const failures = await repo.recordWebhookFailure(db, s.row.uuid, error);
      ctx.log.warn(`delivery to ${s.row.name} failed (${failures} in a row): ${error}`);
      if (failures >= cfg.circuitThreshold && !s.retired) {
        await repo.tripWebhookCircuit(db, s.row.uuid);
        totals.disabled++;
        ctx.log.error(`webhook ${s.row.name} (${s.row.uuid}) disabled after ${failures} consecutive failed deliveries; last error: ${error}. Re-enable it with \`decnet webhook enable ${s.row.uuid}\``);
        s.retired = true;
        s.queue.length = 0;
        subs.delete(s.row.uuid);
        resubscribe();
        ctx.bus.publish(topics.webhookSubscriptionsChanged, { reason: 'circuit_open', uuid: s.row.uuid, name: s.row.name, consecutive_failures: failures });
      }
    }

    // Reload signals: coalesced into one pending reload at a time.
    let reloadWanted = true;
    let wake: (() => void) | undefined;
    const changes = ctx.bus.subscribe(topics.webhookSubscriptionsChanged, { queueSize: 16, signal: ctx.signal });
    void (async () => {
      for await (const _event of changes) {
        reloadWanted = true;
        wake?.();
      }
    })();

    while (!ctx.signal.aborted) {
      if (reloadWanted) {
        reloadWanted = false;
        try {
          await reload();
        } catch (err) {
          ctx.log.error('cannot read the webhook subscriptions', { error: errorMessage(err) });
        }
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          ctx.signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(() => {
          reloadWanted = true;
          done();
        }, cfg.reloadMs);
        ctx.signal.addEventListener('abort', done, { once: true });
        wake = done;
      });
    }
    for (const sub of busSubs.values()) sub.close();
  },
});
