// A bounded BSON decoder and a small encoder for the MongoDB decoy. Attacker documents are parsed
// with limits on size, nesting depth and element count; every length is checked against the
// enclosing document. Values decode to plain JS (int64 → bigint, binary → Buffer, ObjectId and
// other exotic types → tagged objects), enough to read commands and render them as JSON.

export class BsonError extends Error {}

export interface BsonLimits {
  maxDepth: number;
  maxElements: number;
}

const DEFAULT_LIMITS: BsonLimits = { maxDepth: 32, maxElements: 10_000 };

/** Wrapper types so the encoder writes the BSON type a real server would. */
export class Double {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}
export class Int64 {
  readonly value: bigint;
  constructor(value: bigint | number) {
    this.value = BigInt(value);
  }
}
export class ObjectId {
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    if (bytes.length !== 12) throw new BsonError('ObjectId needs 12 bytes');
    this.bytes = bytes;
  }
  toJSON(): { $oid: string } {
    return { $oid: this.bytes.toString('hex') };
  }
}
export class Timestamp {
  readonly t: number;
  readonly i: number;
  constructor(t: number, i: number) {
    this.t = t;
    this.i = i;
  }
  toJSON(): { $timestamp: { t: number; i: number } } {
    return { $timestamp: { t: this.t, i: this.i } };
  }
}
export class Binary {
  readonly subtype: number;
  readonly data: Buffer;
  constructor(data: Buffer, subtype = 0) {
    this.data = data;
    this.subtype = subtype;
  }
  toJSON(): { $binary: { base64: string; subType: string } } {
    return { $binary: { base64: this.data.subarray(0, 256).toString('base64'), subType: this.subtype.toString(16).padStart(2, '0') } };
  }
}

export type BsonValue = unknown;
export type BsonDocument = Record<string, BsonValue>;

/** Decodes one document starting at `offset`; returns it and the offset after it. */
export function decodeDocument(buf: Buffer, offset = 0, limits: BsonLimits = DEFAULT_LIMITS): { doc: BsonDocument; end: number } {
  const counter = { n: 0 };
  const doc = readDocument(buf, offset, 0, limits, counter, false) as BsonDocument;
  return { doc, end: offset + buf.readInt32LE(offset) };
}

function readCString(buf: Buffer, at: number, end: number): [string, number] {
  const z = buf.indexOf(0, at);
  if (z < 0 || z >= end) throw new BsonError('unterminated cstring');
  return [buf.toString('utf8', at, z), z + 1];
}

function readDocument(buf: Buffer, offset: number, depth: number, limits: BsonLimits, counter: { n: number }, isArray: boolean): BsonDocument | BsonValue[] {
  if (depth > limits.maxDepth) throw new BsonError('document nested too deeply');
  if (offset + 5 > buf.length) throw new BsonError('document truncated');
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > buf.length) throw new BsonError('bad document length');
  const end = offset + size;
  if (buf[end - 1] !== 0) throw new BsonError('document not terminated');
  const out: BsonDocument = Object.create(null);
  const arr: BsonValue[] = [];
  let at = offset + 4;
  while (at < end - 1) {
    if (++counter.n > limits.maxElements) throw new BsonError('too many elements');
    const type = buf[at]!;
    let name: string;
    [name, at] = readCString(buf, at + 1, end);
    let value: BsonValue;
    const need = (n: number): void => {
      if (at + n > end - 1) throw new BsonError('element truncated');
    };
    switch (type) {
      case 0x01:
        need(8);
        value = buf.readDoubleLE(at);
        at += 8;
        break;
      case 0x02:
      case 0x0d:
      case 0x0e: {
        need(4);
        const len = buf.readInt32LE(at);
        if (len < 1 || at + 4 + len > end - 1) throw new BsonError('bad string length');
        value = buf.toString('utf8', at + 4, at + 4 + len - 1);
        at += 4 + len;
        break;
      }
      case 0x03:
      case 0x04: {
        need(4);
        value = readDocument(buf, at, depth + 1, limits, counter, type === 0x04);
        at += buf.readInt32LE(at);
        break;
      }
      case 0x05: {
        need(5);
        const len = buf.readInt32LE(at);
        if (len < 0 || at + 5 + len > end - 1) throw new BsonError('bad binary length');
        value = new Binary(Buffer.from(buf.subarray(at + 5, at + 5 + len)), buf[at + 4]);
        at += 5 + len;
        break;
      }
      case 0x06:
      case 0x0a:
      case 0x7f:
      case 0xff:
        value = type === 0x0a ? null : type === 0x06 ? undefined : { $key: type === 0xff ? 'min' : 'max' };
        break;
      case 0x07:
        need(12);
        value = new ObjectId(Buffer.from(buf.subarray(at, at + 12)));
        at += 12;
        break;
      case 0x08:
        need(1);
        value = buf[at] !== 0;
        at += 1;
        break;
      case 0x09:
        need(8);
        value = new Date(Number(buf.readBigInt64LE(at)));
        at += 8;
        break;
      case 0x0b: {
        let pattern: string;
        let flags: string;
        [pattern, at] = readCString(buf, at, end);
        [flags, at] = readCString(buf, at, end);
        value = { $regex: pattern, $options: flags };
        break;
      }
      case 0x0c: {
        need(4);
        const len = buf.readInt32LE(at);
        if (len < 1 || at + 4 + len + 12 > end - 1) throw new BsonError('bad dbpointer');
        value = { $dbPointer: buf.toString('utf8', at + 4, at + 3 + len) };
        at += 4 + len + 12;
        break;
      }
      case 0x0f: {
        need(4);
        const len = buf.readInt32LE(at);
        if (len < 14 || at + len > end - 1) throw new BsonError('bad code with scope');
        const slen = buf.readInt32LE(at + 4);
        if (slen < 1 || 8 + slen > len) throw new BsonError('bad code with scope');
        value = { $code: buf.toString('utf8', at + 8, at + 8 + slen - 1) };
        at += len;
        break;
      }
      case 0x10:
        need(4);
        value = buf.readInt32LE(at);
        at += 4;
        break;
      case 0x11:
        need(8);
        value = new Timestamp(buf.readUInt32LE(at + 4), buf.readUInt32LE(at));
        at += 8;
        break;
      case 0x12:
        need(8);
        value = buf.readBigInt64LE(at);
        at += 8;
        break;
      case 0x13:
        need(16);
        value = { $numberDecimal: buf.subarray(at, at + 16).toString('hex') };
        at += 16;
        break;
      default:
        throw new BsonError(`unknown element type 0x${type.toString(16)}`);
    }
    if (isArray) arr.push(value);
    else if (name !== '__proto__') out[name] = value;
  }
  if (at !== end - 1) throw new BsonError('element overruns document');
  return isArray ? arr : out;
}

// ---- encoder ------------------------------------------------------------------------------------

function cstring(s: string): Buffer {
  if (s.includes('\0')) throw new BsonError('key contains NUL');
  return Buffer.from(s + '\0', 'utf8');
}

function element(name: string, value: BsonValue): Buffer {
  const key = cstring(name);
  const typed = (type: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([type]), key, body]);
  if (value instanceof Double) {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value.value);
    return typed(0x01, b);
  }
  if (value instanceof Int64) {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(value.value);
    return typed(0x12, b);
  }
  if (typeof value === 'bigint') return element(name, new Int64(value));
  if (value instanceof ObjectId) return typed(0x07, value.bytes);
  if (value instanceof Timestamp) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(value.i, 0);
    b.writeUInt32LE(value.t, 4);
    return typed(0x11, b);
  }
  if (value instanceof Binary) {
    const h = Buffer.alloc(5);
    h.writeInt32LE(value.data.length, 0);
    h[4] = value.subtype;
    return typed(0x05, Buffer.concat([h, value.data]));
  }
  if (value instanceof Date) {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(value.getTime()));
    return typed(0x09, b);
  }
  if (value === null || value === undefined) return typed(0x0a, Buffer.alloc(0));
  if (typeof value === 'boolean') return typed(0x08, Buffer.from([value ? 1 : 0]));
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(value);
      return typed(0x10, b);
    }
    if (Number.isInteger(value)) return element(name, new Int64(value));
    return element(name, new Double(value));
  }
  if (typeof value === 'string') {
    const s = Buffer.from(value, 'utf8');
    const len = Buffer.alloc(4);
    len.writeInt32LE(s.length + 1);
    return typed(0x02, Buffer.concat([len, s, Buffer.from([0])]));
  }
  if (Array.isArray(value)) {
    const doc: BsonDocument = {};
    value.forEach((v, i) => (doc[String(i)] = v));
    return typed(0x04, encodeDocument(doc));
  }
  if (typeof value === 'object') return typed(0x03, encodeDocument(value as BsonDocument));
  throw new BsonError(`cannot encode ${typeof value}`);
}

export function encodeDocument(doc: BsonDocument): Buffer {
  const body = Buffer.concat(Object.entries(doc).map(([k, v]) => element(k, v)));
  const len = Buffer.alloc(4);
  len.writeInt32LE(body.length + 5);
  return Buffer.concat([len, body, Buffer.from([0])]);
}

/** Compact JSON of a decoded document for the event log (bigint as string, long strings cut). */
export function toJson(value: BsonValue, max = 1024): string {
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'string' && v.length > 256) return v.slice(0, 256) + '…';
    return v;
  });
  return text.length > max ? text.slice(0, max) + '…' : text;
}
