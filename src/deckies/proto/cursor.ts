// A bounds-checked big-endian reader over one already-framed message. Every read past the end
// throws TruncatedError, so a parser can be written straight-line and catch once.

export class TruncatedError extends Error {
  constructor(what: string) {
    super(`truncated ${what}`);
    this.name = 'TruncatedError';
  }
}

export class Cursor {
  pos: number;
  readonly buf: Buffer;

  constructor(buf: Buffer, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new TruncatedError(what);
  }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }

  /** Bytes up to (not including) the next NUL, consuming the NUL. */
  cstring(what = 'string', max = 512): Buffer {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new TruncatedError(what);
    if (end - this.pos > max) throw new TruncatedError(`${what} (longer than ${max})`);
    const v = this.buf.subarray(this.pos, end);
    this.pos = end + 1;
    return v;
  }
}
