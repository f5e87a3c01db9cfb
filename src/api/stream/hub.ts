// The live stream hub: one set of bus subscriptions and one log reader for the whole process,
// fanned out to every open stream. Each event is serialised once; handing it to a client is a
// synchronous call that never waits for that client (client.ts), so one slow reader cannot hold up
// the others or the bus.
//
// Log rows come from the database, not from the bus: `system.log` only says "new rows were
// written", and the hub reads them by id. Every log frame carries the row id as its SSE id, so a
// reconnecting EventSource (Last-Event-ID) resumes without a gap for up to BACKLOG_LIMIT rows.
import type { ServerResponse } from 'node:http';
import type { Bus, Envelope } from '../../bus/types.ts';
import type { Db } from '../../db/types.ts';
import type { Logger } from '../../core/log.ts';
import { errorMessage } from '../../core/errors.ts';
import { StreamClient } from './client.ts';
import { HttpError } from '../http/errors.ts';

export const STREAM_TYPES = ['log', 'attacker', 'credential', 'ttp', 'health', 'decky'] as const;
export type StreamType = (typeof STREAM_TYPES)[number];

/** Bus patterns and the stream type their events become. */
const SUBSCRIPTIONS: readonly { pattern: string; type: StreamType }[] = [
  { pattern: 'attacker.>', type: 'attacker' },
  { pattern: 'credential.>', type: 'credential' },
  { pattern: 'ttp.tagged', type: 'ttp' },
  { pattern: 'system.*.health', type: 'health' },
  { pattern: 'decky.*.state', type: 'decky' },
];

const MAX_FRAME_CHARS = 64 * 1024;
const LOG_BATCH = 200;
/** Rows read per wake-up before yielding the event loop (a burst is read in several turns). */
const LOG_ROWS_PER_TURN = 1000;
export const BACKLOG_LIMIT = 500;

export interface HubOptions {
  bus: Bus;
  /** Reads of new rows (the reader threads on SQLite). */
  db: () => Promise<Db>;
  /** The highest log id (an O(1) query, run on the main connection so no reader thread stays busy). */
  maxLogId: () => Promise<number>;
  log: Logger;
  signal: AbortSignal;
  maxPerUser: number;
  maxStreams: number;
  queueLimit: number;
  heartbeatMs?: number;
  stallLimitMs?: number;
  /** Fallback poll of the logs table while log streams are open (ms). */
  logPollMs?: number;
}

export interface OpenOptions {
  userUuid: string;
  types: ReadonlySet<string>;
  logFilter?: (row: Record<string, unknown>) => boolean;
  /** Resume log delivery after this row id. */
  lastEventId?: number;
}

export class StreamHub {
  private readonly o: HubOptions;
  private readonly clients = new Set<StreamClient>();
  private readonly perUser = new Map<string, number>();
  private nextId = 1;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  /** Highest log id already fanned out (undefined until first needed). */
  private lastLogId: number | undefined;
  private logWake: NodeJS.Timeout | undefined;
  private logReading = false;
  private logAgain = false;
  private readonly pendingBackfill: { client: StreamClient; after: number }[] = [];
  private logAttaches = 0;
  /** Clients with frames handed over in this turn of the event loop; written together at its end. */
  private readonly dirty = new Set<StreamClient>();
  private flushQueued = false;
  private readonly scheduleFlush = (c: StreamClient): void => {
    this.dirty.add(c);
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      const list = [...this.dirty];
      this.dirty.clear();
      for (const client of list) client.flush();
    });
  };
  readonly stats = { events: 0, frames: 0, oversized: 0, logRows: 0, logReads: 0, logErrors: 0 };

  constructor(o: HubOptions) {
    this.o = o;
  }

  get open(): number {
    return this.clients.size;
  }

  /** Subscribes, starts the timers, and reads where the log table ends now. */
  async start(): Promise<void> {
    this.lastLogId = await this.o.maxLogId();
    for (const { pattern, type } of SUBSCRIPTIONS) void this.consume(pattern, type);
    void this.consumeLogNotices();
    this.heartbeatTimer = setInterval(() => {
      const now = Date.now();
      for (const c of this.clients) c.heartbeat(now);
    }, this.o.heartbeatMs ?? 15_000);
    this.heartbeatTimer.unref();
    this.pollTimer = setInterval(() => {
      if (this.wantsLogs()) this.wakeLogs(0);
      else void this.followCursor();
    }, this.o.logPollMs ?? 1_000);
    this.pollTimer.unref();
    this.o.signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  stop(): void {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.pollTimer);
    clearTimeout(this.logWake);
    for (const c of [...this.clients]) c.close();
  }

  /** Checks the caps, then turns `res` into an event stream. Throws 429/503 before writing anything. */
  attach(res: ServerResponse, opts: OpenOptions): StreamClient {
    const mine = this.perUser.get(opts.userUuid) ?? 0;
    if (mine >= this.o.maxPerUser) throw new HttpError(429, `too many open streams for this user (limit ${this.o.maxPerUser}); close one first`, { headers: { 'retry-after': '5' } });
    if (this.clients.size >= this.o.maxStreams) throw new HttpError(503, `the server has reached its limit of ${this.o.maxStreams} open streams; try again later`, { headers: { 'retry-after': '10' } });
    const client = new StreamClient({
      id: this.nextId++,
      userUuid: opts.userUuid,
      res,
      types: opts.types,
      logFilter: opts.logFilter,
      queueLimit: this.o.queueLimit,
      stallLimitMs: this.o.stallLimitMs ?? 60_000,
      schedule: this.scheduleFlush,
      onClose: (c) => this.detach(c),
    });
    this.clients.add(client);
    this.perUser.set(opts.userUuid, mine + 1);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    client.push(`retry: 3000\nevent: hello\ndata: ${JSON.stringify({ stream_id: client.id, types: [...opts.types], server_time: new Date().toISOString() })}\n\n`);
    if (opts.types.has('log')) {
      this.logAttaches++;
      if (opts.lastEventId !== undefined) {
        // live rows wait in the client's queue until the rows it missed have been sent
        client.pause();
        this.pendingBackfill.push({ client, after: opts.lastEventId });
      }
      this.wakeLogs(0);
    }
    return client;
  }

  private detach(c: StreamClient): void {
    this.dirty.delete(c);
    if (!this.clients.delete(c)) return;
    const n = (this.perUser.get(c.userUuid) ?? 1) - 1;
    if (n <= 0) this.perUser.delete(c.userUuid);
    else this.perUser.set(c.userUuid, n);
  }

  /** Hands one frame to every client that wants `type`. */
  private fanOut(type: StreamType, frame: string, row?: Record<string, unknown>): void {
    this.stats.frames++;
    for (const c of this.clients) {
      if (!c.wants(type)) continue;
      if (row && c.logFilter && !c.logFilter(row)) continue;
      c.push(frame);
    }
  }

  private frameOf(type: StreamType, e: Envelope): string {
    let data = JSON.stringify({ topic: e.topic, type: e.type, ts: e.ts, payload: e.payload });
    if (data.length > MAX_FRAME_CHARS) {
      this.stats.oversized++;
      data = JSON.stringify({ topic: e.topic, type: e.type, ts: e.ts, payload: null, truncated: true });
    }
    return `event: ${type}\ndata: ${data}\n\n`;
  }

  private async consume(pattern: string, type: StreamType): Promise<void> {
    const sub = this.o.bus.subscribe(pattern, { queueSize: 4096, signal: this.o.signal });
    for await (const e of sub) {
      this.stats.events++;
      if (this.clients.size === 0) continue;
      this.fanOut(type, this.frameOf(type, e));
      // drain a burst without going back to the event loop for each event
      for (let next = sub.tryNext(); next; next = sub.tryNext()) {
        this.stats.events++;
        this.fanOut(type, this.frameOf(type, next));
      }
    }
  }

  // ---- logs ---------------------------------------------------------------------------------------

  private wantsLogs(): boolean {
    for (const c of this.clients) if (c.wants('log')) return true;
    return false;
  }

  private async consumeLogNotices(): Promise<void> {
    const sub = this.o.bus.subscribe('system.log', { queueSize: 64, signal: this.o.signal });
    for await (const _ of sub) {
      while (sub.tryNext()) {
        // one read serves every notice that arrived together
      }
      if (this.wantsLogs()) this.wakeLogs(0);
    }
  }

  /**
   * While nobody streams logs, the cursor follows the end of the table, so a new stream starts
   * from about now (a client that wants every row resumes with Last-Event-ID instead).
   */
  private async followCursor(): Promise<void> {
    if (this.logReading) return;
    const epoch = this.logAttaches;
    try {
      const max = await this.o.maxLogId();
      // a log stream opened meanwhile must get the rows committed since it opened
      if (epoch === this.logAttaches && !this.logReading && !this.wantsLogs()) this.lastLogId = Math.max(this.lastLogId ?? 0, max);
    } catch (err) {
      this.o.log.warn('log cursor read failed', { error: errorMessage(err) });
    }
  }

  /** Schedules a read of new log rows (coalesced: at most one pending). */
  private wakeLogs(delayMs: number): void {
    if (this.logReading) {
      this.logAgain = true;
      return;
    }
    if (this.logWake) return;
    this.logWake = setTimeout(() => {
      this.logWake = undefined;
      void this.readLogs();
    }, delayMs);
  }

  private async readLogs(): Promise<void> {
    if (this.logReading || this.o.signal.aborted) return;
    this.logReading = true;
    this.logAgain = false;
    try {
      this.lastLogId ??= await this.o.maxLogId();
      const { logsAfterId } = await import('../../db/logs/repo.ts');
      const db = await this.o.db();
      // The cursor moves only here, so a backlog read now ends exactly where live delivery starts.
      while (this.pendingBackfill.length > 0) {
        const { client, after } = this.pendingBackfill.shift()!;
        if (!client.isClosed) await this.backfill(client, after);
      }
      let read = 0;
      for (;;) {
        const rows = await logsAfterId(db, this.lastLogId!, LOG_BATCH);
        this.stats.logReads++;
        for (const row of rows) {
          this.lastLogId = row.id;
          this.stats.logRows++;
          this.fanOut('log', logFrame(row), row as unknown as Record<string, unknown>);
        }
        read += rows.length;
        if (rows.length < LOG_BATCH) break;
        if (read >= LOG_ROWS_PER_TURN) {
          this.logAgain = true;
          break;
        }
      }
    } catch (err) {
      this.stats.logErrors++;
      this.o.log.warn('live log read failed', { error: errorMessage(err) });
    } finally {
      this.logReading = false;
      if (this.logAgain) this.wakeLogs(0);
    }
  }

  /** Sends a resuming client the rows it missed (at most BACKLOG_LIMIT), then what queued meanwhile. */
  private async backfill(client: StreamClient, after: number): Promise<void> {
    const upTo = this.lastLogId ?? 0;
    const frames: string[] = [];
    try {
      if (after < upTo) {
        const { logsAfterId } = await import('../../db/logs/repo.ts');
        const rows = await logsAfterId(await this.o.db(), after, BACKLOG_LIMIT);
        for (const row of rows) {
          if (row.id > upTo) break; // live delivery sends those
          if (!client.logFilter || client.logFilter(row as unknown as Record<string, unknown>)) frames.push(logFrame(row));
        }
        if (rows.length === BACKLOG_LIMIT && rows[rows.length - 1].id < upTo) {
          frames.unshift(`event: dropped\ndata: ${JSON.stringify({ count: null, reason: `more than ${BACKLOG_LIMIT} rows were missed; reload the list for the rest` })}\n\n`);
        }
      }
    } catch (err) {
      this.o.log.warn('stream backlog read failed', { error: errorMessage(err) });
    }
    client.resume(frames);
  }
}

export function logFrame(row: { id: number }): string {
  const data = JSON.stringify(row);
  return `id: ${row.id}\nevent: log\ndata: ${data.length > MAX_FRAME_CHARS ? JSON.stringify({ ...row, raw_line: null, fields: {}, truncated: true }) : data}\n\n`;
}
