// Appends lines to a log file: one write per event-loop turn, memory bounded (beyond
// `maxBufferBytes` waiting, new lines are dropped and counted), and the file reopened when a
// rename rotation moved it away. Used by the collector for its normalised log.
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export class LineAppender {
  readonly path: string;
  private readonly maxBufferBytes: number;
  private handle: FileHandle | undefined;
  private queue: string[] = [];
  private queued = 0;
  private writing: Promise<void> | undefined;
  private scheduled = false;
  written = 0;
  dropped = 0;
  writeErrors = 0;
  lastError: string | undefined;

  constructor(path: string, maxBufferBytes = 8 * 1024 * 1024) {
    this.path = path;
    this.maxBufferBytes = maxBufferBytes;
  }

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o750 });
    this.handle = await open(this.path, 'a', 0o640);
  }

  /** Queues one line (without newline); false when it was dropped. */
  append(line: string): boolean {
    const size = Buffer.byteLength(line) + 1;
    if (!this.handle || this.queued + size > this.maxBufferBytes) {
      this.dropped++;
      return false;
    }
    this.queue.push(line);
    this.queued += size;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.drain();
      });
    }
    return true;
  }

  private drain(): Promise<void> {
    if (this.writing || this.queue.length === 0 || !this.handle) return this.writing ?? Promise.resolve();
    const lines = this.queue;
    this.queue = [];
    const handle = this.handle;
    this.writing = (async () => {
      const buf = Buffer.from(lines.join('\n') + '\n', 'utf8');
      try {
        let off = 0;
        while (off < buf.length) off += (await handle.write(buf, off, buf.length - off)).bytesWritten;
        this.written += lines.length;
      } catch (err) {
        this.writeErrors++;
        this.dropped += lines.length;
        this.lastError = (err as Error).message;
      } finally {
        this.queued -= buf.length;
        this.writing = undefined;
      }
      if (this.queue.length > 0) await this.drain();
    })();
    return this.writing;
  }

  /** Resolves once everything appended so far is written (or dropped after an error). */
  async flush(): Promise<void> {
    while (this.writing || (this.queue.length > 0 && this.handle)) await (this.writing ?? this.drain());
  }

  /** Reopens the path if the open file was renamed or deleted (log rotation). */
  async reopenIfRotated(): Promise<boolean> {
    const handle = this.handle;
    if (!handle) return false;
    const [onDisk, current] = await Promise.all([stat(this.path).catch(() => undefined), handle.stat()]);
    if (onDisk && onDisk.ino === current.ino && onDisk.dev === current.dev) return false;
    await this.flush();
    this.handle = await open(this.path, 'a', 0o640);
    await handle.close().catch(() => undefined);
    return true;
  }

  async close(): Promise<void> {
    await this.flush();
    const handle = this.handle;
    this.handle = undefined;
    if (handle) {
      await handle.sync().catch(() => undefined);
      await handle.close();
    }
  }
}
