// ASN.1 BER: a bounded reader and a DER-style writer, enough for SNMP, LDAP, SPNEGO and CredSSP.
// Attacker bytes go straight into the reader, so every length is checked against what is really
// there, indefinite lengths are refused (none of these protocols need them on the wire we accept)
// and tag numbers and integers are capped. Errors are BerError, which callers treat as "malformed".

export class BerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BerError';
  }
}

/** Tag classes, as the top two bits of the identifier octet. */
export const UNIVERSAL = 0x00;
export const APPLICATION = 0x40;
export const CONTEXT = 0x80;
export const PRIVATE = 0xc0;
export const CONSTRUCTED = 0x20;

// Universal tags used by the protocols here.
export const T_BOOLEAN = 0x01;
export const T_INTEGER = 0x02;
export const T_BIT_STRING = 0x03;
export const T_OCTET_STRING = 0x04;
export const T_NULL = 0x05;
export const T_OID = 0x06;
export const T_ENUMERATED = 0x0a;
export const T_SEQUENCE = 0x30;
export const T_SET = 0x31;

export interface Tlv {
  /** Identifier octet for low tag numbers (class | constructed | number); for high tag numbers the
   * class and constructed bits with number 0x1f, so compare `cls`/`number` instead. */
  tag: number;
  cls: number;
  constructed: boolean;
  number: number;
  /** The contents octets (a view into the input). */
  value: Buffer;
  /** Offset just past this element in the input. */
  end: number;
}

/** Reads one TLV at `offset` of `buf`. */
export function readTlv(buf: Buffer, offset = 0): Tlv {
  let pos = offset;
  if (pos >= buf.length) throw new BerError('truncated: no identifier octet');
  const id = buf[pos++]!;
  const cls = id & 0xc0;
  const constructed = (id & CONSTRUCTED) !== 0;
  let number = id & 0x1f;
  if (number === 0x1f) {
    number = 0;
    for (let i = 0; ; i++) {
      if (i >= 4) throw new BerError('tag number too large');
      if (pos >= buf.length) throw new BerError('truncated tag number');
      const b = buf[pos++]!;
      number = number * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (pos >= buf.length) throw new BerError('truncated: no length octet');
  const first = buf[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    throw new BerError('indefinite length not supported');
  } else {
    const n = first & 0x7f;
    if (n > 4) throw new BerError('length field too long');
    if (pos + n > buf.length) throw new BerError('truncated length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
  }
  if (pos + length > buf.length) throw new BerError(`truncated: element needs ${length} bytes, ${buf.length - pos} present`);
  return { tag: id, cls, constructed, number, value: buf.subarray(pos, pos + length), end: pos + length };
}

/**
 * How many bytes the first complete TLV at the head of `buf` occupies, 0 when more bytes are needed,
 * -1 when the head cannot be the start of a valid element. Used to frame BER over TCP (LDAP).
 */
export function tlvFrameLength(buf: Buffer): number {
  if (buf.length < 2) return 0;
  let pos = 1;
  if ((buf[0]! & 0x1f) === 0x1f) {
    while (pos < buf.length && buf[pos]! & 0x80) pos++;
    pos++;
    if (pos > 6) return -1;
    if (pos >= buf.length) return 0;
  }
  const first = buf[pos++]!;
  if (first < 0x80) return pos + first;
  if (first === 0x80) return -1;
  const n = first & 0x7f;
  if (n > 4) return -1;
  if (pos + n > buf.length) return 0;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
  return pos + length;
}

function decodeSigned(value: Buffer): bigint {
  if (value.length === 0) throw new BerError('empty integer');
  if (value.length > 9) throw new BerError('integer too large');
  let n = 0n;
  for (const b of value) n = (n << 8n) | BigInt(b);
  if (value[0]! & 0x80) n -= 1n << BigInt(value.length * 8);
  return n;
}

/** Sequential reader over the contents of a constructed element. */
export class BerReader {
  private pos = 0;
  readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  hasMore(): boolean {
    return this.pos < this.buf.length;
  }

  /** Identifier octet of the next element, or -1 at the end. */
  peekTag(): number {
    return this.pos < this.buf.length ? this.buf[this.pos]! : -1;
  }

  next(): Tlv {
    const t = readTlv(this.buf, this.pos);
    this.pos = t.end;
    return t;
  }

  /** Next element, which must carry identifier octet `tag`. */
  expect(tag: number, what: string): Tlv {
    const t = this.next();
    if (t.tag !== tag) throw new BerError(`expected ${what} (tag 0x${tag.toString(16)}), got 0x${t.tag.toString(16)}`);
    return t;
  }

  /** An INTEGER (or ENUMERATED etc. with `tag`) that must fit a JS number safely. */
  integer(tag = T_INTEGER): number {
    const v = decodeSigned(this.expect(tag, 'integer').value);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new BerError('integer out of range');
    return Number(v);
  }

  bigInteger(tag = T_INTEGER): bigint {
    return decodeSigned(this.expect(tag, 'integer').value);
  }

  enumerated(): number {
    return this.integer(T_ENUMERATED);
  }

  boolean(): boolean {
    const t = this.expect(T_BOOLEAN, 'boolean');
    if (t.value.length !== 1) throw new BerError('bad boolean');
    return t.value[0] !== 0;
  }

  octetString(tag = T_OCTET_STRING): Buffer {
    const t = this.expect(tag, 'octet string');
    if (t.constructed) throw new BerError('constructed octet strings are not supported');
    return t.value;
  }

  oid(): string {
    return decodeOid(this.expect(T_OID, 'object identifier').value);
  }

  /** Reader over the contents of the next element, which must carry `tag`. */
  sequence(tag = T_SEQUENCE, what = 'sequence'): BerReader {
    return new BerReader(this.expect(tag, what).value);
  }
}

export function decodeSignedNumber(value: Buffer): number {
  const v = decodeSigned(value);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new BerError('integer out of range');
  return Number(v);
}

/** Unsigned value of an application integer (Counter32, Gauge32, TimeTicks, Counter64). */
export function decodeUnsigned(value: Buffer): bigint {
  if (value.length === 0 || value.length > 9) throw new BerError('bad unsigned integer');
  let n = 0n;
  for (const b of value) n = (n << 8n) | BigInt(b);
  return n;
}

export function decodeOid(value: Buffer): string {
  if (value.length === 0) throw new BerError('empty object identifier');
  if (value.length > 256) throw new BerError('object identifier too long');
  const arcs: number[] = [];
  let n = 0;
  let inArc = false;
  for (const b of value) {
    if (n > 0x1fffffffffff) throw new BerError('object identifier arc too large');
    n = n * 128 + (b & 0x7f);
    inArc = (b & 0x80) !== 0;
    if (!inArc) {
      if (arcs.length === 0) {
        const first = n < 80 ? Math.floor(n / 40) : 2;
        arcs.push(first, n - first * 40);
      } else {
        arcs.push(n);
      }
      n = 0;
    }
  }
  if (inArc) throw new BerError('truncated object identifier');
  return arcs.join('.');
}

// ---- writer ------------------------------------------------------------------------------------------

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One element with identifier octet `tag` (low tag numbers only) and the concatenated parts as contents. */
export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

function signedBytes(value: number | bigint): Buffer {
  let v = BigInt(value);
  const bytes: number[] = [];
  for (;;) {
    const b = Number(v & 0xffn);
    bytes.unshift(b);
    v >>= 8n;
    if ((v === 0n && (b & 0x80) === 0) || (v === -1n && (b & 0x80) !== 0)) break;
  }
  return Buffer.from(bytes);
}

function unsignedBytes(value: number | bigint): Buffer {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError('unsigned value is negative');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return Buffer.from(bytes);
}

export const integer = (v: number | bigint, tag = T_INTEGER): Buffer => tlv(tag, signedBytes(v));
export const enumerated = (v: number): Buffer => tlv(T_ENUMERATED, signedBytes(v));
/** An unsigned application integer (Counter32 0x41, Gauge32 0x42, TimeTicks 0x43, Counter64 0x46). */
export const unsigned = (tag: number, v: number | bigint): Buffer => tlv(tag, unsignedBytes(v));
export const boolean = (v: boolean): Buffer => tlv(T_BOOLEAN, Buffer.from([v ? 0xff : 0]));
export const nullValue = (tag = T_NULL): Buffer => tlv(tag, Buffer.alloc(0));
export const octetString = (v: Buffer | string, tag = T_OCTET_STRING): Buffer =>
  tlv(tag, typeof v === 'string' ? Buffer.from(v, 'utf8') : v);
export const sequence = (...parts: Buffer[]): Buffer => tlv(T_SEQUENCE, ...parts);
export const set = (...parts: Buffer[]): Buffer => tlv(T_SET, ...parts);
/** [n] EXPLICIT/constructed context element. */
export const context = (n: number, ...parts: Buffer[]): Buffer => tlv(CONTEXT | CONSTRUCTED | n, ...parts);

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new RangeError(`bad OID arc in ${dotted}`);
    return Number(a);
  });
  if (arcs.length < 2) throw new RangeError(`OID needs two arcs: ${dotted}`);
  const out: number[] = [];
  const push = (n: number): void => {
    const tmp: number[] = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) tmp.unshift((v & 0x7f) | 0x80);
    out.push(...tmp);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(T_OID, Buffer.from(out));
}

/** Compares dotted OIDs arc by arc (for MIB walks). */
export function compareOid(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}
