// The `ingester` worker: tails the event logs (the decoy host's and the collector's) into the
// database. Each batch of lines is one transaction together with the new tail position, so a
// crash at any moment loses nothing and stores nothing twice (DESIGN §5). After each commit it
// announces on the bus: `system.log` (the batch), `credential.captured` (each new credential,
// never the secret) and `attacker.session.ended` (a connection that ran commands has closed).
import { watch, type FSWatcher } from 'node:fs';
import { hash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { WorkerFatalError, defineWorker, type WorkerContext } from '../fleet/worker.ts';
import { topics } from '../bus/topics.ts';
import { ensureDir } from '../core/paths.ts';
import type { Database } from '../db/types.ts';
import { getState } from '../db/state/repo.ts';
import { parseEventLine, type EventRecord } from './rfc5424.ts';
import { LogTail, type TailState } from './log-tail.ts';
import { defaultIngestSources, type DedupeMode, type IngestSource } from './event-paths.ts';
import { positionIdentity } from './extract.ts';
import { commitBatch, type BatchEvent } from './ingest-batch.ts';
import { SessionTracker } from './sessions.ts';
import { monotonicMs } from '../core/clock.ts';

const DEFAULT_BATCH = 2000;
const DEFAULT_POLL_MS = 250;
const COMPLAIN_EVERY_MS = 60_000;
/** Findings remembered as stored (by digest), so a repeated user agent or HASSH is not written again each batch. */
const KNOWN_BOUNTIES = 10_000;

/** A bounded set of (short, digest) keys that forgets the oldest first. */
class RecentKeys {
  private readonly keys = new Set<string>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  has(key: string): boolean {
    return this.keys.has(key);
  }
  add(key: string): void {
    if (this.keys.has(key)) return;
    this.keys.add(key);
    if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value!);
  }
}

interface Source {
  path: string;
  dedupe: DedupeMode;
  tail: LogTail;
  stateKey: string;
}

/** The state-table key of a log's tail position (the path hashed: keys are short and plain). */
export function tailStateKey(path: string): string {
  return `ingester:tail:${hash('sha256', path, 'hex').slice(0, 24)}`;
}

function configuredSources(config: Readonly<Record<string, unknown>>): IngestSource[] {
  const logs = config.logs;
  if (Array.isArray(logs) && logs.length > 0) return logs.map((p) => ({ path: String(p), dedupe: 'position' as const }));
  return defaultIngestSources();
}

function numberOption(config: Readonly<Record<string, unknown>>, key: string, fallback: number, min: number, max: number): number {
  const v = config[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new WorkerFatalError(`--${key} must be a number from ${min} to ${max}; got ${JSON.stringify(v)}`);
  return n;
}

export default defineWorker({
  name: 'ingester',
  summary: 'tails the event logs into the database (exactly once) and announces what it stored',
  async run(ctx: WorkerContext) {
    const batchLines = numberOption(ctx.config, 'batch', DEFAULT_BATCH, 1, 20_000);
    const pollMs = numberOption(ctx.config, 'poll', DEFAULT_POLL_MS, 10, 60_000);
    const db = (await ctx.db()) as Database;
    const counters = { lines: 0, inserted: 0, duplicates: 0, malformed: 0, rejected: 0, credentials: 0, credential_errors: 0, bounties: 0, sessions: 0, batches: 0 };
    let lastBatchMs = 0;
    let lagBytes = 0;

    const sources: Source[] = [];
    for (const s of configuredSources(ctx.config)) {
      ensureDir(dirname(s.path));
      const tail = new LogTail(s.path, { log: ctx.log });
      const stateKey = tailStateKey(s.path);
      const saved = await getState<TailState>(db, stateKey);
      await tail.restore(saved && saved.v === 1 && saved.path === s.path ? saved : undefined);
      sources.push({ ...s, tail, stateKey });
    }
    ctx.log.info('ingesting', { logs: sources.map((s) => s.path).join(',') });

    const tracker = new SessionTracker();
    const knownBounties = new RecentKeys(KNOWN_BOUNTIES);
    let lastComplaint = 0;
    let unreported = 0;
    const complain = (what: string, detail: Record<string, unknown>): void => {
      unreported++;
      const now = Date.now();
      if (now - lastComplaint < COMPLAIN_EVERY_MS) return;
      lastComplaint = now;
      ctx.log.warn(`${what} (${unreported} skipped since the last report)`, detail);
      unreported = 0;
    };

    ctx.health(() => ({
      ...counters,
      lag_bytes: lagBytes,
      last_batch_ms: lastBatchMs,
      open_sessions: tracker.size,
      session_chars: tracker.heldChars,
      oversize: sources.reduce((n, s) => n + s.tail.stats.oversize, 0),
      truncations: sources.reduce((n, s) => n + s.tail.stats.truncations, 0),
      rotations: sources.reduce((n, s) => n + s.tail.stats.rotations, 0),
    }));

    // Wake on file changes (inotify); the poll is the fallback. `poked` keeps a change signalled
    // while a batch was being read, so the loop never sleeps on a line that is already there.
    let wake: (() => void) | undefined;
    let poked = false;
    const watchers: FSWatcher[] = [];
    for (const dir of new Set(sources.map((s) => dirname(s.path)))) {
      const names = new Set(sources.filter((s) => dirname(s.path) === dir).map((s) => basename(s.path)));
      try {
        const w = watch(dir, { persistent: false }, (_e, name) => {
          if (name === null || [...names].some((n) => String(name).startsWith(n))) {
            poked = true;
            wake?.();
          }
        });
        w.on('error', () => undefined);
        watchers.push(w);
      } catch (err) {
        ctx.log.debug('cannot watch the log directory; polling', { dir, err });
      }
    }
    const idle = (ms: number) =>
      new Promise<void>((resolve) => {
        if (poked) return resolve();
        const done = () => {
          clearTimeout(timer);
          ctx.signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        wake = done;
        ctx.signal.addEventListener('abort', done, { once: true });
      });

    const ingest = async (source: Source): Promise<number> => {
      const started = monotonicMs();
      const batch = await source.tail.read(batchLines);
      if (batch.lines.length === 0) return 0;
      const events: BatchEvent[] = [];
      for (const line of batch.lines) {
        let record: EventRecord;
        try {
          record = parseEventLine(line.text);
        } catch (err) {
          counters.malformed++;
          complain('malformed event line skipped', { log: source.path, offset: line.offset, err: (err as Error).message });
          continue;
        }
        events.push(source.dedupe === 'position' ? { record, identity: positionIdentity(line.text, line.offset) } : { record });
      }
      const result = await commitBatch(db, events, source.stateKey, batch.state, knownBounties);
      for (const k of result.bountyKeys) knownBounties.add(k);
      counters.batches++;
      counters.lines += batch.lines.length;
      counters.inserted += result.inserted;
      counters.duplicates += result.duplicates;
      counters.rejected += result.rejected.length;
      counters.credentials += result.newCredentials.length;
      counters.credential_errors += result.credentialErrors;
      counters.bounties += result.bounties;
      lastBatchMs = Math.round(monotonicMs() - started);
      for (const r of result.rejected) complain('event refused by the database', { log: source.path, event: r.record.event, err: r.error });
      announce(source, result.inserted, result.duplicates, batch.state, result.newCredentials, result.stored);
      return batch.lines.length;
    };

    const publish = (topic: string, payload: Record<string, unknown>, type?: string): void => {
      try {
        ctx.bus.publish(topic, payload, type);
      } catch (err) {
        ctx.log.debug('bus publish failed', { topic, err });
      }
    };

    const announce = (source: Source, inserted: number, duplicates: number, state: TailState, creds: Awaited<ReturnType<typeof commitBatch>>['newCredentials'], stored: EventRecord[]): void => {
      publish(topics.systemLog, { component: 'ingester', log: source.path, flushed: inserted, duplicates, position: state.active?.offset ?? 0 }, 'batch_committed');
      for (const c of creds) {
        publish(topics.credentialCaptured, { secret_sha256: c.secret_sha256, secret_kind: c.secret_kind, attacker_ip: c.attacker_ip, decky: c.decky, service: c.service }, c.secret_kind);
      }
      for (const rec of stored) {
        const ended = tracker.feed(rec);
        if (ended) {
          counters.sessions++;
          publish(topics.attackerSessionEnded, ended as unknown as Record<string, unknown>, 'session_ended');
        }
      }
    };

    let lastHousekeeping = 0;
    try {
      while (!ctx.signal.aborted) {
        poked = false;
        let read = 0;
        for (const s of sources) read += await ingest(s);
        const now = Date.now();
        if (now - lastHousekeeping > 5_000) {
          lastHousekeeping = now;
          tracker.expire(now);
          lagBytes = 0;
          for (const s of sources) lagBytes += await s.tail.lagBytes();
        }
        if (read === 0) await idle(pollMs);
        else await new Promise((r) => setImmediate(r)); // let the host breathe between batches
      }
    } finally {
      for (const w of watchers) w.close();
      for (const s of sources) await s.tail.close();
    }
  },
});
