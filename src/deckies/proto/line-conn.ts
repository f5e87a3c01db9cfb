// A bounded, line-oriented reader/writer for text protocols (FTP, SMTP, POP3, IMAP). Protocol code reads
// with `await conn.readLine()` as a straight-line state machine. Lines longer than `maxLine` are cut and
// flagged (the rest, up to the next LF, is discarded), buffered input is capped (the stream is paused
// beyond it), and the stream can be handed over for STARTTLS and re-attached to the TLS socket.
import type { Duplex } from 'node:stream';

export interface Line {
  /** The line without CRLF/LF, decoded as UTF-8. */
  text: string;
  /** Raw bytes of the line (without terminator), for lossless secrets. */
  raw: Buffer;
  /** The line exceeded maxLine; `text` holds its first maxLine bytes. */
  overlong: boolean;
  /** Only with `split`: this is a maxLine-sized piece and the line continues in the next read. */
  partial?: boolean;
}

export interface LineConnOptions {
  /** Longest accepted line in bytes (without the terminator). */
  maxLine: number;
  /** Unread bytes held before the stream is paused; default 4 × maxLine, at least 16 KiB. */
  maxBuffered?: number;
}

type Waiter = { kind: 'line'; split: boolean; resolve: (l: Line | null) => void } | { kind: 'bytes'; n: number; resolve: (b: Buffer | null) => void };

export class LineConn {
  private stream: Duplex;
  private buf: Buffer = Buffer.alloc(0);
  private discarding = false;
  private ended = false;
  private waiter: Waiter | null = null;
  private readonly maxLine: number;
  private readonly maxBuffered: number;
  private readonly onData = (chunk: Buffer): void => this.push(chunk);
  private readonly onEnd = (): void => {
    this.ended = true;
    this.fulfil();
  };

  constructor(stream: Duplex, opts: LineConnOptions) {
    this.stream = stream;
    this.maxLine = opts.maxLine;
    this.maxBuffered = opts.maxBuffered ?? Math.max(16384, opts.maxLine * 4);
    this.attach(stream);
  }

  /** The stream currently read from and written to. */
  get current(): Duplex {
    return this.stream;
  }

  get closed(): boolean {
    return this.ended || this.stream.destroyed;
  }

  /** Bytes received and not yet consumed (pipelined commands). */
  get pending(): number {
    return this.buf.length;
  }

  /**
   * Next line, or null once the peer closed and no complete line remains. With `split`, an overlong line
   * is returned in maxLine-sized pieces (`partial`) instead of being cut (for message bodies).
   */
  readLine(opts: { split?: boolean } = {}): Promise<Line | null> {
    return new Promise((resolve) => {
      this.waiter = { kind: 'line', split: opts.split === true, resolve };
      this.fulfil();
    });
  }

  /** Exactly `n` raw bytes (IMAP literals), or null if the peer closed first. `n` must be ≤ maxBuffered. */
  readBytes(n: number): Promise<Buffer | null> {
    if (n > this.maxBuffered) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiter = { kind: 'bytes', n, resolve };
      this.fulfil();
    });
  }

  write(data: string | Buffer): void {
    if (!this.stream.destroyed && this.stream.writable) this.stream.write(data);
  }

  /** Writes then half-closes (the peer sees the reply, then EOF). */
  end(data?: string | Buffer): void {
    if (this.stream.destroyed || !this.stream.writable) return;
    if (data !== undefined) this.stream.end(data);
    else this.stream.end();
  }

  /**
   * Stops reading from the current stream (for STARTTLS) and returns the bytes that arrived after the
   * last consumed line. Per RFC 3207 §6 / RFC 2595 those must be discarded, not executed after the upgrade.
   */
  detach(): Buffer {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.pause();
    const leftover = this.buf;
    this.buf = Buffer.alloc(0);
    this.discarding = false;
    return leftover;
  }

  /** Continues on `stream` (the TLS socket after STARTTLS). */
  attach(stream: Duplex): void {
    this.stream = stream;
    this.ended = false;
    stream.on('data', this.onData);
    stream.once('end', this.onEnd);
    stream.once('close', this.onEnd);
    stream.on('error', () => undefined); // resets end the session through 'close'
    if (this.buf.length < this.maxBuffered) stream.resume();
  }

  private push(chunk: Buffer): void {
    if (this.discarding) {
      const lf = chunk.indexOf(0x0a);
      if (lf === -1) return;
      this.discarding = false;
      chunk = chunk.subarray(lf + 1);
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.buf.length >= this.maxBuffered) this.stream.pause();
    this.fulfil();
  }

  private fulfil(): void {
    const w = this.waiter;
    if (!w) return;
    if (w.kind === 'bytes') {
      if (this.buf.length >= w.n) {
        this.waiter = null;
        const out = Buffer.from(this.buf.subarray(0, w.n));
        this.consume(w.n);
        w.resolve(out);
      } else if (this.closed) {
        this.waiter = null;
        w.resolve(null);
      }
      return;
    }
    const lf = this.buf.indexOf(0x0a);
    if (lf !== -1 && lf <= this.maxLine + 1) {
      this.waiter = null;
      let raw = this.buf.subarray(0, lf);
      if (raw.length > 0 && raw[raw.length - 1] === 0x0d) raw = raw.subarray(0, raw.length - 1);
      const overlong = raw.length > this.maxLine;
      if (overlong) raw = raw.subarray(0, this.maxLine);
      raw = Buffer.from(raw);
      this.consume(lf + 1);
      w.resolve({ text: raw.toString('utf8'), raw, overlong });
      return;
    }
    if (w.split && (lf > this.maxLine + 1 || (lf === -1 && this.buf.length > this.maxLine + 1))) {
      this.waiter = null;
      const raw = Buffer.from(this.buf.subarray(0, this.maxLine));
      this.consume(this.maxLine);
      w.resolve({ text: raw.toString('utf8'), raw, overlong: false, partial: true });
      return;
    }
    if (lf > this.maxLine + 1 || (lf === -1 && this.buf.length > this.maxLine + 1)) {
      // Overlong: hand out the head, drop the rest of this line as it arrives.
      this.waiter = null;
      const raw = Buffer.from(this.buf.subarray(0, this.maxLine));
      if (lf === -1) {
        this.buf = Buffer.alloc(0);
        this.discarding = true;
        this.resumeIfRoom();
      } else this.consume(lf + 1);
      w.resolve({ text: raw.toString('utf8'), raw, overlong: true });
      return;
    }
    if (this.closed) {
      this.waiter = null;
      w.resolve(null);
    }
  }

  private consume(n: number): void {
    this.buf = this.buf.subarray(n);
    if (this.buf.length === 0) this.buf = Buffer.alloc(0);
    this.resumeIfRoom();
  }

  private resumeIfRoom(): void {
    if (this.buf.length < this.maxBuffered && !this.stream.destroyed && this.stream.isPaused()) this.stream.resume();
  }
}
