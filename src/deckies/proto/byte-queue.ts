// A bounded byte accumulator for TCP protocol parsers. Attacker input arrives in arbitrary chunks;
// parsers peek at the head, wait until a whole frame is there, then take it. Holding more than
// `max` bytes means the peer sent a frame larger than the protocol allows: push() reports it so
// the caller can drop the connection instead of buffering without bound.

export class ByteQueue {
  private chunks: Buffer[] = [];
  private size = 0;
  readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  get length(): number {
    return this.size;
  }

  /** Appends a chunk; returns false (and keeps nothing new) when the queue would exceed its bound. */
  push(chunk: Buffer): boolean {
    if (this.size + chunk.length > this.max) return false;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    return true;
  }

  /**
   * Pushes `chunk` in slices that fit the bound, calling `drain` after each slice so complete frames
   * are consumed as they form (a large chunk of many small pipelined frames is fine; one frame
   * larger than the bound is not). `drain` returns false to stop (the connection is finished).
   * Returns false when the held bytes reached the bound without `drain` consuming any.
   */
  feed(chunk: Buffer, drain: () => boolean | void): boolean {
    let off = 0;
    while (off < chunk.length) {
      const room = this.max - this.size;
      if (room <= 0) return false;
      this.push(chunk.subarray(off, off + room));
      off += room;
      if (drain() === false) return true;
    }
    return true;
  }

  /** The first `n` bytes without consuming them (n is clamped to what is held). */
  peek(n: number): Buffer {
    const want = Math.min(n, this.size);
    if (this.chunks.length === 0) return Buffer.alloc(0);
    if (this.chunks[0]!.length >= want) return this.chunks[0]!.subarray(0, want);
    this.compact();
    return this.chunks[0]!.subarray(0, want);
  }

  /** Removes and returns the first `n` bytes (n is clamped to what is held). */
  take(n: number): Buffer {
    const out = Buffer.from(this.peek(n));
    this.skip(out.length);
    return out;
  }

  /** Everything held, consumed. */
  drain(): Buffer {
    return this.take(this.size);
  }

  /** Index of `needle` within the held bytes, or -1. */
  indexOf(needle: Buffer | string, from = 0): number {
    if (this.size === 0) return -1;
    this.compact();
    return this.chunks[0]!.indexOf(needle, from);
  }

  private skip(n: number): void {
    let left = n;
    while (left > 0 && this.chunks.length > 0) {
      const head = this.chunks[0]!;
      if (head.length <= left) {
        this.chunks.shift();
        left -= head.length;
      } else {
        this.chunks[0] = head.subarray(left);
        left = 0;
      }
    }
    this.size -= n;
  }

  private compact(): void {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
  }
}
