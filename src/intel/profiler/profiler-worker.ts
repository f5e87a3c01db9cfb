// The `profiler` worker: per-source-IP attacker profiles and behaviour, built incrementally from
// the stored events (the `logs` table, by id cursor). Woken by the ingester's `system.log` notice,
// with a slow tick as fallback. Publishes `attacker.observed` on an address's first profile and
// `attacker.scored` for every profile it updates.
import { defineWorker, WorkerFatalError, type WorkerContext } from '../../fleet/worker.ts';
import { topics } from '../../bus/topics.ts';
import type { Database } from '../../db/types.ts';
import { maxLogId } from '../../db/logs/repo.ts';
import { Waker } from '../wake.ts';
import { profilePage, readCursor, type PageResult } from './profile-page.ts';
import { monotonicMs } from '../../core/clock.ts';

const DEFAULT_INTERVAL_S = 30;
const DEFAULT_BATCH = 1000;

function option(config: Readonly<Record<string, unknown>>, key: string, fallback: number, min: number, max: number): number {
  const v = config[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new WorkerFatalError(`profiler: --${key} must be a number from ${min} to ${max}; got ${JSON.stringify(v)}`);
  return n;
}

export default defineWorker({
  name: 'profiler',
  summary: 'builds per-IP attacker profiles and behaviour from the stored events',
  async run(ctx: WorkerContext) {
    const intervalMs = option(ctx.config, 'interval', DEFAULT_INTERVAL_S, 1, 3600) * 1000;
    const batch = option(ctx.config, 'batch', DEFAULT_BATCH, 1, 10_000);
    const db = (await ctx.db()) as Database;
    const waker = new Waker(ctx.bus, [topics.systemLog], ctx.signal);
    const stats = { events: 0, pages: 0, profiles_updated: 0, observed: 0, cursor: await readCursor(db), lag: 0, last_page_ms: 0 };
    ctx.health(() => ({ ...stats, wakeups: waker.wakeups }));

    const publish = (topic: string, payload: Record<string, unknown>, type?: string): void => {
      try {
        ctx.bus.publish(topic, payload, type);
      } catch (err) {
        ctx.log.debug('bus publish failed', { topic, err });
      }
    };

    const announce = (page: PageResult): void => {
      for (const a of page.attackers) {
        if (a.firstSighting) {
          stats.observed++;
          publish(topics.attackerObserved, { attacker_ip: a.ip, attacker_uuid: a.uuid, decky: a.first.decky, service: a.first.service, event_type: a.first.event_type, first_seen: a.first.ts }, a.first.event_type ?? 'observed');
        }
        publish(
          topics.attackerScored,
          {
            attacker_ip: a.ip,
            attacker_uuid: a.uuid,
            event_count: a.event_count,
            service_count: a.service_count,
            decky_count: a.decky_count,
            bounty_count: a.bounty_count,
            credential_count: a.credential_count,
            is_traversal: a.is_traversal,
            behavior_class: a.behavior_class,
            tool_guesses: a.tool_guesses,
          },
          a.behavior_class,
        );
      }
    };

    let lastLagCheck = 0;
    while (!ctx.signal.aborted) {
      for (;;) {
        if (ctx.signal.aborted) break;
        const started = monotonicMs();
        const page = await profilePage(db, batch);
        if (!page) break;
        stats.pages++;
        stats.events += page.rows;
        stats.profiles_updated += page.attackers.length;
        stats.cursor = page.lastId;
        stats.last_page_ms = Math.round(monotonicMs() - started);
        announce(page);
        if (page.rows < batch) break;
        await new Promise((r) => setImmediate(r)); // a long backlog must not starve the host
      }
      if (Date.now() - lastLagCheck > 5_000) {
        lastLagCheck = Date.now();
        stats.lag = Math.max(0, (await maxLogId(db)) - stats.cursor);
      }
      await waker.wait(intervalMs, ctx.signal);
    }
  },
});
