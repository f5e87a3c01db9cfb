// One open event stream. The fan-out hands it frames synchronously and never waits for it. Frames
// handed over in one turn of the event loop go out in one socket write (a burst costs one system
// call per client, not one per event). Once the socket pushes back, frames wait in a bounded queue
// that drops the oldest (and later tells the client how many it lost); a client that stays blocked
// too long is disconnected. A slow reader therefore costs a bounded queue and never delays any
// other client.
import type { ServerResponse } from 'node:http';

export interface StreamClientOptions {
  id: number;
  userUuid: string;
  res: ServerResponse;
  /** Event types this client asked for. */
  types: ReadonlySet<string>;
  /** Keeps a log row or not (the client's search filter). */
  logFilter?: (row: Record<string, unknown>) => boolean;
  queueLimit: number;
  /** A client unable to take data for this long is disconnected. */
  stallLimitMs: number;
  /** Asks for flush() to be called at the end of this turn of the event loop. */
  schedule(client: StreamClient): void;
  onClose(client: StreamClient): void;
}

/** Largest single socket write; a longer backlog goes out in several. */
const MAX_WRITE_CHARS = 256 * 1024;

export class StreamClient {
  readonly id: number;
  readonly userUuid: string;
  readonly types: ReadonlySet<string>;
  readonly logFilter: ((row: Record<string, unknown>) => boolean) | undefined;
  readonly openedAt = Date.now();
  private readonly res: ServerResponse;
  private readonly queueLimit: number;
  private readonly stallLimitMs: number;
  private readonly schedule: (client: StreamClient) => void;
  private readonly onClose: (client: StreamClient) => void;
  private queue: string[] = [];
  private head = 0;
  /** Frames lost since the last `dropped` notice. */
  private droppedSinceNotice = 0;
  droppedTotal = 0;
  writes = 0;
  private blockedSince = 0;
  /** While set, frames are only queued (a resuming client's backlog is being read). */
  private paused = false;
  private scheduled = false;
  private closed = false;

  constructor(o: StreamClientOptions) {
    this.id = o.id;
    this.userUuid = o.userUuid;
    this.types = o.types;
    this.logFilter = o.logFilter;
    this.res = o.res;
    this.queueLimit = o.queueLimit;
    this.stallLimitMs = o.stallLimitMs;
    this.schedule = o.schedule;
    this.onClose = o.onClose;
    this.res.on('drain', () => {
      this.blockedSince = 0;
      this.flush();
    });
    this.res.on('close', () => this.close());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  wants(type: string): boolean {
    return this.types.has(type);
  }

  /** Hands the client a frame; never blocks. */
  push(frame: string): void {
    if (this.closed) return;
    if (this.queued >= this.queueLimit) {
      // A client that can still take data gets its burst now rather than losing part of it.
      if (this.blockedSince === 0 && !this.paused) this.flush();
      if (this.queued >= this.queueLimit) {
        this.head++;
        this.droppedSinceNotice++;
        this.droppedTotal++;
      }
    }
    this.queue.push(frame);
    this.compact();
    if (!this.scheduled && this.blockedSince === 0 && !this.paused) {
      this.scheduled = true;
      this.schedule(this);
    }
  }

  pause(): void {
    this.paused = true;
  }

  /** Sends `first` ahead of everything queued, then resumes normal delivery. */
  resume(first: string[] = []): void {
    this.paused = false;
    if (first.length > 0) {
      this.queue = [...first, ...this.queue.slice(this.head)];
      this.head = 0;
    }
    this.flush();
  }

  /** Keeps proxies from closing an idle stream; disconnects a reader that has been stuck too long. */
  heartbeat(now = Date.now()): void {
    if (this.closed) return;
    if (this.blockedSince !== 0 && now - this.blockedSince > this.stallLimitMs) {
      this.close(true);
      return;
    }
    if (this.queued === 0 && this.blockedSince === 0 && !this.paused) this.push(': keepalive\n\n');
  }

  close(destroy = false): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.head = 0;
    if (destroy) this.res.destroy();
    else if (!this.res.writableEnded) this.res.end();
    this.onClose(this);
  }

  /** Writes what is queued, while the socket accepts it. */
  flush(): void {
    this.scheduled = false;
    if (this.closed || this.paused || this.blockedSince !== 0) return;
    if (this.droppedSinceNotice > 0) {
      const notice = `event: dropped\ndata: ${JSON.stringify({ count: this.droppedSinceNotice, reason: 'the client read too slowly; the oldest events were dropped' })}\n\n`;
      this.droppedSinceNotice = 0;
      this.queue.splice(this.head, 0, notice);
    }
    while (this.queued > 0 && this.blockedSince === 0) {
      let chunk = '';
      while (this.queued > 0 && (chunk === '' || chunk.length + this.queue[this.head].length <= MAX_WRITE_CHARS)) chunk += this.queue[this.head++];
      this.writes++;
      if (!this.res.write(chunk)) this.blockedSince = Date.now();
    }
    this.compact();
  }

  private compact(): void {
    if (this.head > 0 && (this.head >= this.queue.length || this.head > 1024)) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
