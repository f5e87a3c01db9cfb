// Geolocation tables on disk. A parsed table (geo-csv.ts) is written once into a compact binary
// file in the data directory; look-ups then read the few bytes they need with pread(2), guided by
// a small in-memory sample of every 64th range start. The table's pages live in the kernel's page
// cache, shared and evictable, not in the worker's memory: holding four tables costs the process
// about 1 MB instead of the 25 MB of typed arrays.
//
// Layout (native byte order, checked by a marker; sections 8-byte aligned):
//   header (64 bytes): magic "DCNTGEO1", marker 0x01020304, family, kind, count, asnCount,
//     nameCount, nameBytes
//   IPv4: starts u32[count], ends u32[count], values u32[count]
//   IPv6: bounds u64[4 × count] (start hi, start lo, end hi, end lo), values u32[count]
//   AS tables: asns u32[asnCount], nameIds u32[asnCount], nameOffsets u32[nameCount + 1], names
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { CsvTable } from './geo-csv.ts';
import type { V4Ranges, V6Ranges } from './range-table.ts';

const MAGIC = 'DCNTGEO1';
const MARKER = 0x01020304;
const HEADER = 64;
/** One in-memory sample per this many ranges; a look-up reads one block of this many. */
const STRIDE = 64;

const align8 = (n: number) => (n + 7) & ~7;

interface Header {
  family: 4 | 6;
  kind: 'country' | 'asn';
  count: number;
  asnCount: number;
  nameCount: number;
  nameBytes: number;
}

interface Layout {
  starts: number;
  ends: number;
  bounds: number;
  values: number;
  asns: number;
  nameIds: number;
  nameOffsets: number;
  names: number;
  total: number;
}

function layout(h: Header): Layout {
  let at = HEADER;
  const take = (bytes: number) => {
    const start = at;
    at = align8(at + bytes);
    return start;
  };
  const l = { starts: -1, ends: -1, bounds: -1, values: -1, asns: -1, nameIds: -1, nameOffsets: -1, names: -1, total: 0 };
  if (h.family === 4) {
    l.starts = take(4 * h.count);
    l.ends = take(4 * h.count);
  } else {
    l.bounds = take(32 * h.count);
  }
  l.values = take(4 * h.count);
  if (h.kind === 'asn') {
    l.asns = take(4 * h.asnCount);
    l.nameIds = take(4 * h.asnCount);
    l.nameOffsets = take(4 * (h.nameCount + 1));
    l.names = take(h.nameBytes);
  }
  l.total = at;
  return l;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes a table to `path` (whole or not at all: a temporary file, then a rename). */
export function writeTableFile(table: CsvTable, path: string): void {
  const v4 = 'starts' in table.ranges ? (table.ranges as V4Ranges) : undefined;
  const v6 = v4 ? undefined : (table.ranges as V6Ranges);
  const h: Header = {
    family: v4 ? 4 : 6,
    kind: table.kind,
    count: table.ranges.size,
    asnCount: table.kind === 'asn' ? table.asns.length : 0,
    nameCount: table.kind === 'asn' ? table.names.offsets.length - 1 : 0,
    nameBytes: table.kind === 'asn' ? table.names.bytes.length : 0,
  };
  const l = layout(h);
  const header = Buffer.alloc(HEADER);
  header.write(MAGIC, 0, 'latin1');
  new Uint32Array(header.buffer, header.byteOffset + 8, 7).set([MARKER, h.family, h.kind === 'asn' ? 2 : 1, h.count, h.asnCount, h.nameCount, h.nameBytes]);
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o640);
  try {
    const put = (at: number, data: Uint8Array) => {
      let done = 0;
      while (done < data.length) done += writeSync(fd, data, done, data.length - done, at + done);
    };
    put(0, header);
    if (v4) {
      put(l.starts, bytesOf(v4.starts));
      put(l.ends, bytesOf(v4.ends));
      put(l.values, bytesOf(v4.values));
    } else {
      put(l.bounds, bytesOf(v6!.bounds));
      put(l.values, bytesOf(v6!.values));
    }
    if (table.kind === 'asn') {
      put(l.asns, bytesOf(table.asns));
      put(l.nameIds, bytesOf(table.nameIds));
      put(l.nameOffsets, bytesOf(table.names.offsets));
      put(l.names, table.names.bytes);
    }
    if (l.total > 0) put(l.total - 1, new Uint8Array(1)); // the file ends where the layout says
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

export interface Hit {
  index: number;
  start: number | bigint;
  end: number | bigint;
}

/** An open table file: pread-based look-ups over a sparse in-memory index. */
export class TableFile {
  readonly header: Header;
  private readonly fd: number;
  private readonly l: Layout;
  private readonly samples4: Uint32Array | undefined;
  private readonly samples6: BigUint64Array | undefined;
  private readonly asns: Uint32Array | undefined;
  private readonly nameIds: Uint32Array | undefined;
  private readonly nameOffsets: Uint32Array | undefined;
  private readonly scratch = new ArrayBuffer(STRIDE * 32);
  private readonly word = new Uint32Array(this.scratch, 0, 1);
  private readonly wordBytes = new Uint8Array(this.scratch, 0, 4);
  private closed = false;

  private constructor(fd: number, header: Header) {
    this.fd = fd;
    this.header = header;
    this.l = layout(header);
    const samples = Math.ceil(header.count / STRIDE);
    if (header.family === 4) {
      this.samples4 = new Uint32Array(samples);
      for (let i = 0; i < samples; i++) this.samples4[i] = this.u32(this.l.starts + i * STRIDE * 4);
    } else {
      this.samples6 = new BigUint64Array(samples * 2);
      const pair = new BigUint64Array(2);
      for (let i = 0; i < samples; i++) {
        this.read(bytesOf(pair), this.l.bounds + i * STRIDE * 32);
        this.samples6[i * 2] = pair[0]!;
        this.samples6[i * 2 + 1] = pair[1]!;
      }
    }
    if (header.kind === 'asn') {
      this.asns = this.array(this.l.asns, header.asnCount);
      this.nameIds = this.array(this.l.nameIds, header.asnCount);
      this.nameOffsets = this.array(this.l.nameOffsets, header.nameCount + 1);
    }
  }

  /** Opens and checks a table file; undefined when it is missing, truncated or of another format. */
  static open(path: string): TableFile | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const head = Buffer.alloc(HEADER);
      if (readSync(fd, head, 0, HEADER, 0) !== HEADER || head.toString('latin1', 0, 8) !== MAGIC) throw new Error('not a table file');
      const f = new Uint32Array(head.buffer, head.byteOffset + 8, 7);
      if (f[0] !== MARKER || (f[1] !== 4 && f[1] !== 6) || (f[2] !== 1 && f[2] !== 2)) throw new Error('another format');
      const header: Header = { family: f[1] as 4 | 6, kind: f[2] === 2 ? 'asn' : 'country', count: f[3]!, asnCount: f[4]!, nameCount: f[5]!, nameBytes: f[6]! };
      if (fstatSync(fd).size !== layout(header).total) throw new Error('truncated');
      return new TableFile(fd, header);
    } catch {
      closeSync(fd);
      return undefined;
    }
  }

  /** Bytes this table keeps in memory (the samples and the AS name index). */
  get memoryBytes(): number {
    return (this.samples4?.byteLength ?? 0) + (this.samples6?.byteLength ?? 0) + (this.asns?.byteLength ?? 0) * 2 + (this.nameOffsets?.byteLength ?? 0) + this.scratch.byteLength;
  }

  get size(): number {
    return this.header.count;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private read(into: Uint8Array, position: number): void {
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd, into, done, into.length - done, position + done);
      if (n === 0) throw new Error('the geolocation table file ended early');
      done += n;
    }
  }

  private u32(position: number): number {
    this.read(this.wordBytes, position);
    return this.word[0]!;
  }

  private array(position: number, count: number): Uint32Array {
    const out = new Uint32Array(count);
    this.read(bytesOf(out), position);
    return out;
  }

  find4(ip: number): Hit | undefined {
    const samples = this.samples4!;
    let lo = 0;
    let hi = samples.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (samples[mid]! <= ip) lo = mid + 1;
      else hi = mid - 1;
    }
    if (hi < 0) return undefined;
    const first = hi * STRIDE;
    const n = Math.min(STRIDE, this.header.count - first);
    const block = new Uint32Array(this.scratch, 0, n);
    this.read(new Uint8Array(this.scratch, 0, n * 4), this.l.starts + first * 4);
    let j = n - 1;
    while (j > 0 && block[j]! > ip) j--;
    const index = first + j;
    const start = block[j]!;
    const end = this.u32(this.l.ends + index * 4);
    return ip <= end ? { index, start, end } : undefined;
  }

  find6(ip: bigint): Hit | undefined {
    const samples = this.samples6!;
    const ipHi = ip >> 64n;
    const ipLo = ip & 0xffffffffffffffffn;
    const le = (hiA: bigint, loA: bigint) => hiA < ipHi || (hiA === ipHi && loA <= ipLo);
    let lo = 0;
    let hi = samples.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (le(samples[mid * 2]!, samples[mid * 2 + 1]!)) lo = mid + 1;
      else hi = mid - 1;
    }
    if (hi < 0) return undefined;
    const first = hi * STRIDE;
    const n = Math.min(STRIDE, this.header.count - first);
    const block = new BigUint64Array(this.scratch, 0, n * 4);
    this.read(new Uint8Array(this.scratch, 0, n * 32), this.l.bounds + first * 32);
    let j = n - 1;
    while (j > 0 && !le(block[j * 4]!, block[j * 4 + 1]!)) j--;
    const start = (block[j * 4]! << 64n) | block[j * 4 + 1]!;
    const end = (block[j * 4 + 2]! << 64n) | block[j * 4 + 3]!;
    return ip <= end ? { index: first + j, start, end } : undefined;
  }

  value(index: number): number {
    return this.u32(this.l.values + index * 4);
  }

  /** The organisation name of an AS number, from an AS table. */
  asName(asn: number): string | null {
    const asns = this.asns;
    if (!asns) return null;
    let lo = 0;
    let hi = asns.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = asns[mid]!;
      if (v < asn) lo = mid + 1;
      else if (v > asn) hi = mid - 1;
      else {
        const id = this.nameIds![mid]!;
        const from = this.nameOffsets![id]!;
        const to = this.nameOffsets![id + 1]!;
        if (to <= from) return null;
        const bytes = Buffer.allocUnsafe(to - from);
        this.read(bytes, this.l.names + from);
        return bytes.toString('utf8');
      }
    }
    return null;
  }
}
