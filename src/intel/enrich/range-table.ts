// Compact IP range tables for offline geolocation: sorted, non-overlapping [start, end] ranges in
// typed arrays (off the JS heap, freed as a block), searched by bisection. Built by streaming a
// "-num" CSV of the ip-location-db format (`start,end,value…`, numeric addresses) in small chunks,
// so loading never holds the whole file as a string.
import { closeSync, openSync, readSync } from 'node:fs';

/** Bytes parsed between two turns of the event loop (about 10 ms of work). */
const CHUNK = 256 * 1024;
/** A line longer than this is malformed (real lines are under 200 bytes). */
const MAX_LINE = 4096;

/**
 * Calls `onLine` with each line's bytes (without the newline). Reads 256 KiB at a time and yields to
 * the event loop between chunks, so parsing a 20 MB table never stalls a host's other workers.
 */
export async function forEachLine(path: string, onLine: (buf: Buffer, start: number, end: number, lineNo: number) => void, signal?: AbortSignal): Promise<number> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK + MAX_LINE);
    let carry = 0; // bytes of an unfinished line kept at the start of buf
    let lineNo = 0;
    for (;;) {
      if (signal?.aborted) throw new Error(`loading ${path} was aborted`);
      const n = readSync(fd, buf, carry, CHUNK, null);
      const filled = carry + n;
      let lineStart = 0;
      for (let i = carry; i < filled; i++) {
        if (buf[i] !== 0x0a) continue;
        lineNo++;
        let end = i;
        if (end > lineStart && buf[end - 1] === 0x0d) end--;
        if (end > lineStart) onLine(buf, lineStart, end, lineNo);
        lineStart = i + 1;
      }
      const rest = filled - lineStart;
      if (n === 0) {
        if (rest > 0) onLine(buf, lineStart, filled, ++lineNo);
        return lineNo;
      }
      if (rest > MAX_LINE) throw new Error(`${path}: line ${lineNo + 1} is longer than ${MAX_LINE} bytes; not an ip-location-db CSV`);
      buf.copy(buf, 0, lineStart, filled);
      carry = rest;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    closeSync(fd);
  }
}

/** Lines in a file (a fast newline count), to size the tables exactly before parsing. */
export function countLines(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let lines = 0;
    let last = 0x0a;
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) return last === 0x0a ? lines : lines + 1;
      let at = buf.indexOf(0x0a, 0);
      while (at >= 0 && at < n) {
        lines++;
        at = buf.indexOf(0x0a, at + 1);
      }
      last = buf[n - 1]!;
    }
  } finally {
    closeSync(fd);
  }
}

/** The value of a decimal number in buf[start, end), or -1 when it is not one. */
export function parseDecimal(buf: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Splits the CSV fields of one line (RFC 4180 quoting: "a ""b"", c" is one field). */
export function csvFields(buf: Buffer, start: number, end: number): string[] {
  const out: string[] = [];
  let i = start;
  while (i <= end) {
    if (i < end && buf[i] === 0x22) {
      let text = '';
      let j = i + 1;
      let segment = j;
      for (; j < end; j++) {
        if (buf[j] !== 0x22) continue;
        text += buf.toString('utf8', segment, j);
        if (buf[j + 1] === 0x22) {
          text += '"';
          j++;
          segment = j + 1;
          continue;
        }
        break;
      }
      out.push(text);
      i = j + 2; // past the closing quote and the comma
    } else {
      let j = i;
      while (j < end && buf[j] !== 0x2c) j++;
      out.push(buf.toString('utf8', i, j));
      i = j + 1;
    }
  }
  return out;
}

/** A growable Uint32Array. */
class U32 {
  data: Uint32Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Uint32Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  /** The filled part; copied into an exact-size array only when much capacity would be wasted. */
  done(): Uint32Array {
    return this.data.length - this.length > this.data.length / 16 ? this.data.slice(0, this.length) : this.data.subarray(0, this.length);
  }
}

/** A growable BigUint64Array. */
class U64 {
  data: BigUint64Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new BigUint64Array(Math.max(16, capacity));
  }
  push(v: bigint): void {
    if (this.length === this.data.length) {
      const next = new BigUint64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  done(): BigUint64Array {
    return this.data.length - this.length > this.data.length / 16 ? this.data.slice(0, this.length) : this.data.subarray(0, this.length);
  }
}

interface Ops<K> {
  lt(a: K, b: K): boolean;
  prev(a: K): K;
  next(a: K): K;
}

const numberOps: Ops<number> = { lt: (a, b) => a < b, prev: (a) => a - 1, next: (a) => a + 1 };
const bigOps: Ops<bigint> = { lt: (a, b) => a < b, prev: (a) => a - 1n, next: (a) => a + 1n };

/**
 * Turns ranges that may overlap (published rows sometimes nest a more specific range inside a
 * wider one) into disjoint segments, as the rows stream in by start: the innermost open range
 * wins, so a nested range overrides its container, which resumes after it. On equal starts the
 * narrower range wins; of two crossing ranges, the one that started later. Holds only the few
 * ranges open at a time, never the whole input.
 */
class Sweep<K> {
  private readonly ops: Ops<K>;
  private readonly emit: (from: K, to: K, value: number) => void;
  private readonly starts: K[] = [];
  private readonly ends: K[] = [];
  private readonly values: number[] = [];
  private pos: K | undefined;
  private last: K | undefined;

  constructor(ops: Ops<K>, emit: (from: K, to: K, value: number) => void) {
    this.ops = ops;
    this.emit = emit;
  }

  /** False when `start` is below the previous row's (the input is not in start order). */
  add(start: K, end: K, value: number): boolean {
    const { lt } = this.ops;
    if (this.last !== undefined && lt(start, this.last)) return false;
    this.last = start;
    this.closeBefore(start);
    const n = this.ends.length;
    if (n > 0 && this.pos !== undefined && lt(this.pos, start)) {
      this.emit(this.pos, this.ops.prev(start), this.values[n - 1]!);
    }
    if (this.pos === undefined || lt(this.pos, start)) this.pos = start;
    // A wider range with the same start goes beneath the narrower ones, which win first.
    let k = n;
    while (k > 0 && this.starts[k - 1] === start && lt(this.ends[k - 1]!, end)) k--;
    this.starts.splice(k, 0, start);
    this.ends.splice(k, 0, end);
    this.values.splice(k, 0, value);
    return true;
  }

  /** Emits the open ranges that end before `limit` (all of them without a limit). */
  closeBefore(limit?: K): void {
    const { lt, next } = this.ops;
    while (this.ends.length > 0) {
      const top = this.ends.length - 1;
      const end = this.ends[top]!;
      if (limit !== undefined && !lt(end, limit)) return;
      if (this.pos !== undefined && !lt(end, this.pos)) {
        this.emit(this.pos, end, this.values[top]!);
        this.pos = next(end);
      }
      this.starts.pop();
      this.ends.pop();
      this.values.pop();
      // Ranges that ended inside the one just closed are covered already.
      while (this.ends.length > 0 && this.pos !== undefined && lt(this.ends[this.ends.length - 1]!, this.pos)) {
        this.starts.pop();
        this.ends.pop();
        this.values.pop();
      }
    }
  }
}

/** IPv4 ranges with one 32-bit value each. */
export class V4Ranges {
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
  readonly values: Uint32Array;

  constructor(starts: Uint32Array, ends: Uint32Array, values: Uint32Array) {
    this.starts = starts;
    this.ends = ends;
    this.values = values;
  }

  get size(): number {
    return this.starts.length;
  }

  get bytes(): number {
    return this.starts.byteLength + this.ends.byteLength + this.values.byteLength;
  }

}

/** IPv6 ranges: bounds as (hi, lo) 64-bit halves, four per range. */
export class V6Ranges {
  readonly bounds: BigUint64Array;
  readonly values: Uint32Array;

  constructor(bounds: BigUint64Array, values: Uint32Array) {
    this.bounds = bounds;
    this.values = values;
  }

  get size(): number {
    return this.values.length;
  }

  get bytes(): number {
    return this.bounds.byteLength + this.values.byteLength;
  }

  startOf(i: number): bigint {
    return (this.bounds[i * 4]! << 64n) | this.bounds[i * 4 + 1]!;
  }

  endOf(i: number): bigint {
    return (this.bounds[i * 4 + 2]! << 64n) | this.bounds[i * 4 + 3]!;
  }

}

const MASK64 = (1n << 64n) - 1n;

export class UnorderedError extends Error {}

/** Builds the disjoint IPv4 table of rows given in start order. */
export class V4Builder {
  private readonly s: U32;
  private readonly e: U32;
  private readonly v: U32;
  private readonly sweep: Sweep<number>;

  /** `rows`: the expected number of rows (the output is about as long). */
  constructor(rows: number) {
    const capacity = rows + (rows >> 6) + 16;
    this.s = new U32(capacity);
    this.e = new U32(capacity);
    this.v = new U32(capacity);
    this.sweep = new Sweep(numberOps, (from, to, value) => {
      this.s.push(from);
      this.e.push(to);
      this.v.push(value);
    });
  }

  add(start: number, end: number, value: number): void {
    if (!this.sweep.add(start, end, value)) throw new UnorderedError('rows are not in order of their start address');
  }

  build(): V4Ranges {
    this.sweep.closeBefore();
    return new V4Ranges(this.s.done(), this.e.done(), this.v.done());
  }
}

/** Builds the disjoint IPv6 table of rows given in start order. */
export class V6Builder {
  private readonly bounds: U64;
  private readonly v: U32;
  private readonly sweep: Sweep<bigint>;

  constructor(rows: number) {
    const capacity = rows + (rows >> 6) + 16;
    this.bounds = new U64(capacity * 4);
    this.v = new U32(capacity);
    this.sweep = new Sweep(bigOps, (from, to, value) => {
      this.bounds.push(from >> 64n);
      this.bounds.push(from & MASK64);
      this.bounds.push(to >> 64n);
      this.bounds.push(to & MASK64);
      this.v.push(value);
    });
  }

  add(start: bigint, end: bigint, value: number): void {
    if (!this.sweep.add(start, end, value)) throw new UnorderedError('rows are not in order of their start address');
  }

  build(): V6Ranges {
    this.sweep.closeBefore();
    return new V6Ranges(this.bounds.done(), this.v.done());
  }
}

/** Strings (AS names) packed into one UTF-8 buffer with offsets; ids in order of addition. */
export class StringPool {
  private bytes = Buffer.allocUnsafe(256 * 1024);
  private readonly offsets = new U32(16 * 1024);
  private size = 0;

  add(s: string): number {
    const need = Buffer.byteLength(s, 'utf8');
    if (this.size + need > this.bytes.length) {
      const next = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.size + need));
      this.bytes.copy(next, 0, 0, this.size);
      this.bytes = next;
    }
    this.offsets.push(this.size);
    this.size += this.bytes.write(s, this.size, 'utf8');
    return this.offsets.length - 1;
  }

  /** The pool as an exact-size buffer and its offsets. */
  freeze(): PackedStrings {
    this.offsets.push(this.size);
    const packed = new PackedStrings(Buffer.from(this.bytes.subarray(0, this.size)), this.offsets.done());
    this.bytes = Buffer.alloc(0);
    return packed;
  }
}

export class PackedStrings {
  readonly bytes: Buffer;
  readonly offsets: Uint32Array;
  constructor(bytes: Buffer, offsets: Uint32Array) {
    this.bytes = bytes;
    this.offsets = offsets;
  }
  get byteLength(): number {
    return this.bytes.byteLength + this.offsets.byteLength;
  }
}
