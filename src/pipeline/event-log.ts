// Appends event lines to a log file: the decoy host's event log (the durable source of truth,
// DESIGN §5) and the collector's normalised log.
// Lines are batched into one write per event-loop tick. Memory is bounded: if the disk stalls and
// more than `maxBufferBytes` wait, new lines are dropped and counted rather than held.
// The file is opened O_APPEND, so `copytruncate` rotation works; `reopen()` follows a rename.
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../core/log.ts';

export interface EventLogStats {
  path: string;
  written: number;
  dropped: number;
  pendingBytes: number;
  writeErrors: number;
}

export class EventLog {
  readonly path: string;
  private readonly maxBufferBytes: number;
  private readonly log?: Logger;
  private handle: FileHandle | undefined;
  private queue: string[] = [];
  private queueBytes = 0;
  private inFlightBytes = 0;
  private writing: Promise<void> | undefined;
  private scheduled = false;
  private closed = false;
  private written = 0;
  private dropped = 0;
  private writeErrors = 0;
  private lastErrorLog = 0;

  constructor(path: string, opts: { maxBufferBytes: number; log?: Logger }) {
    this.path = path;
    this.maxBufferBytes = opts.maxBufferBytes;
    this.log = opts.log;
  }

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o750 });
    this.handle = await open(this.path, 'a', 0o640);
  }

  /** Queues one line (no newline). Returns false when it was dropped (buffer full or closed). */
  append(line: string): boolean {
    const size = Buffer.byteLength(line) + 1;
    if (this.closed || this.queueBytes + this.inFlightBytes + size > this.maxBufferBytes) {
      this.dropped++;
      return false;
    }
    this.queue.push(line);
    this.queueBytes += size;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.drain();
      });
    }
    return true;
  }

  /** Resolves once every line appended before the call is on disk (or dropped after a write error). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.writing) {
      if (!this.handle && !this.writing) return;
      if (this.writing) await this.writing;
      else await this.drain();
    }
  }

  private drain(): Promise<void> {
    if (this.writing) return this.writing;
    if (this.queue.length === 0 || !this.handle) return Promise.resolve();
    const lines = this.queue;
    this.queue = [];
    this.inFlightBytes = this.queueBytes;
    this.queueBytes = 0;
    const buf = Buffer.from(lines.join('\n') + '\n', 'utf8');
    const handle = this.handle;
    this.writing = (async () => {
      try {
        let off = 0;
        while (off < buf.length) {
          const { bytesWritten } = await handle.write(buf, off, buf.length - off);
          off += bytesWritten;
        }
        this.written += lines.length;
      } catch (err) {
        this.writeErrors++;
        this.dropped += lines.length;
        const now = Date.now();
        if (now - this.lastErrorLog > 10_000) {
          this.lastErrorLog = now;
          this.log?.error('event log write failed; events dropped', { path: this.path, lines: lines.length, err });
        }
      } finally {
        this.inFlightBytes = 0;
        this.writing = undefined;
      }
      if (this.queue.length > 0) await this.drain();
    })();
    return this.writing;
  }

  /** Reopens the path (after an external rename-style rotation). */
  async reopen(): Promise<void> {
    await this.flush();
    const old = this.handle;
    await this.open();
    await old?.close();
  }

  /** Reopens when the path no longer names the open file (moved away or deleted by rotation). */
  async reopenIfRotated(): Promise<boolean> {
    const handle = this.handle;
    if (!handle || this.closed) return false;
    const [onDisk, open] = await Promise.all([stat(this.path).catch(() => undefined), handle.stat()]);
    if (onDisk && onDisk.ino === open.ino && onDisk.dev === open.dev) return false;
    await this.reopen();
    this.log?.info('event log reopened after rotation', { path: this.path });
    return true;
  }

  stats(): EventLogStats {
    return { path: this.path, written: this.written, dropped: this.dropped, pendingBytes: this.queueBytes + this.inFlightBytes, writeErrors: this.writeErrors };
  }

  /** Flushes, fsyncs and closes. Lines appended afterwards are dropped and counted. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) return;
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
