// DNS message codec (RFC 1035 framing, shared by the dns, llmnr and mdns decoys). Decoding is
// defensive: compression pointers must point backwards, names are capped at 255 octets, section
// counts are capped, and every read is checked against the datagram. Encoding compresses owner
// names; rdata names are written in full, which every resolver accepts.
import { isIPv4, isIPv6 } from 'node:net';

export class DnsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnsFormatError';
  }
}

export const TYPES: Readonly<Record<string, number>> = Object.freeze({
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33, NAPTR: 35,
  OPT: 41, DS: 43, RRSIG: 46, NSEC: 47, DNSKEY: 48, NSEC3: 50, TLSA: 52, SVCB: 64, HTTPS: 65, SPF: 99,
  IXFR: 251, AXFR: 252, ANY: 255, CAA: 257,
});
const TYPE_NAMES = new Map(Object.entries(TYPES).map(([k, v]) => [v, k]));
export const CLASSES: Readonly<Record<string, number>> = Object.freeze({ IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 });
const CLASS_NAMES = new Map(Object.entries(CLASSES).map(([k, v]) => [v, k]));

export const typeName = (t: number): string => TYPE_NAMES.get(t) ?? `TYPE${t}`;
export const className = (c: number): string => CLASS_NAMES.get(c) ?? `CLASS${c}`;

export const RCODE = Object.freeze({ NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, NOTAUTH: 9 });

// Header flag bits (second 16-bit word).
export const QR = 0x8000;
export const AA = 0x0400;
export const TC = 0x0200;
export const RD = 0x0100;
export const RA = 0x0080;
export const AD = 0x0020;
export const CD = 0x0010;

export interface Question {
  name: string;
  type: number;
  /** Class without the mDNS unicast-response bit. */
  class: number;
  /** mDNS "QU" bit (top bit of the class field). */
  unicastResponse: boolean;
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: Buffer;
}

export interface Message {
  id: number;
  flags: number;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
}

export const opcodeOf = (flags: number): number => (flags >> 11) & 0xf;
export const rcodeOf = (flags: number): number => flags & 0xf;

const MAX_SECTION = 32;

/** Escapes label bytes outside printable ASCII (and the dot and backslash) as \DDD, like dig does. */
function labelText(b: Buffer): string {
  let s = '';
  for (const c of b) {
    if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) s += String.fromCharCode(c);
    else s += '\\' + c.toString().padStart(3, '0');
  }
  return s;
}

export function readName(buf: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  let jumps = 0;
  let wire = 0;
  for (;;) {
    if (pos >= buf.length) throw new DnsFormatError('name runs past the end of the message');
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsFormatError('truncated compression pointer');
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= pos) throw new DnsFormatError('compression pointer does not point backwards');
      if (++jumps > 64) throw new DnsFormatError('too many compression pointers');
      if (end < 0) end = pos + 2;
      pos = target;
      continue;
    }
    if (len & 0xc0) throw new DnsFormatError('unsupported label type');
    if (pos + 1 + len > buf.length) throw new DnsFormatError('label runs past the end of the message');
    wire += len + 1;
    if (wire > 254) throw new DnsFormatError('name longer than 255 octets');
    labels.push(labelText(buf.subarray(pos + 1, pos + 1 + len)));
    pos += 1 + len;
  }
  return { name: labels.join('.'), end };
}

function readRecord(buf: Buffer, offset: number): { rr: ResourceRecord; end: number } {
  const { name, end } = readName(buf, offset);
  if (end + 10 > buf.length) throw new DnsFormatError('truncated resource record');
  const type = buf.readUInt16BE(end);
  const cls = buf.readUInt16BE(end + 2);
  const ttl = buf.readUInt32BE(end + 4);
  const rdlen = buf.readUInt16BE(end + 8);
  const start = end + 10;
  if (start + rdlen > buf.length) throw new DnsFormatError('truncated rdata');
  return { rr: { name, type, class: cls, ttl, data: buf.subarray(start, start + rdlen) }, end: start + rdlen };
}

/** Decodes a whole message. Throws DnsFormatError on anything malformed (see peekHeader to still answer FORMERR). */
export function decodeMessage(buf: Buffer): Message {
  if (buf.length < 12) throw new DnsFormatError('shorter than a DNS header');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const counts = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  if (counts.some((c) => c > MAX_SECTION)) throw new DnsFormatError('too many records in a section');
  let pos = 12;
  const questions: Question[] = [];
  for (let i = 0; i < counts[0]!; i++) {
    const { name, end } = readName(buf, pos);
    if (end + 4 > buf.length) throw new DnsFormatError('truncated question');
    const rawClass = buf.readUInt16BE(end + 2);
    questions.push({ name, type: buf.readUInt16BE(end), class: rawClass & 0x7fff, unicastResponse: (rawClass & 0x8000) !== 0 });
    pos = end + 4;
  }
  const sections: ResourceRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const { rr, end } = readRecord(buf, pos);
      sections[s]!.push(rr);
      pos = end;
    }
  }
  return { id, flags, questions, answers: sections[0]!, authorities: sections[1]!, additionals: sections[2]! };
}

/** Just the 16-bit id and flags, when the rest does not decode (to answer FORMERR). */
export function peekHeader(buf: Buffer): { id: number; flags: number } | undefined {
  return buf.length >= 4 ? { id: buf.readUInt16BE(0), flags: buf.readUInt16BE(2) } : undefined;
}

// ---- encoding ----------------------------------------------------------------------------------------

/** Splits a presentation name into label buffers (\DDD and \X escapes honoured). */
export function nameLabels(name: string): Buffer[] {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return [];
  const labels: Buffer[] = [];
  let cur: number[] = [];
  for (let i = 0; i < trimmed.length; i++) {
    const ch = trimmed[i]!;
    if (ch === '\\' && i + 1 < trimmed.length) {
      const digits = trimmed.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(digits)) {
        cur.push(Number(digits) & 0xff);
        i += 3;
      } else {
        cur.push(trimmed.charCodeAt(++i) & 0xff);
      }
    } else if (ch === '.') {
      labels.push(Buffer.from(cur));
      cur = [];
    } else {
      cur.push(trimmed.charCodeAt(i) & 0xff);
    }
  }
  labels.push(Buffer.from(cur));
  for (const l of labels) if (l.length === 0 || l.length > 63) throw new DnsFormatError(`bad label in ${name}`);
  return labels;
}

/** A name in wire form without compression (for rdata). */
export function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const l of nameLabels(name)) parts.push(Buffer.from([l.length]), l);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

class Writer {
  private parts: Buffer[] = [];
  private size = 0;
  private names = new Map<string, number>();

  put(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
  }

  get length(): number {
    return this.size;
  }

  name(name: string): void {
    const labels = nameLabels(name);
    for (let i = 0; i < labels.length; i++) {
      const key = labels.slice(i).map((l) => l.toString('latin1').toLowerCase()).join('.');
      const at = this.names.get(key);
      if (at !== undefined) {
        this.put(Buffer.from([0xc0 | (at >> 8), at & 0xff]));
        return;
      }
      if (this.size < 0x3fff) this.names.set(key, this.size);
      this.put(Buffer.from([labels[i]!.length]));
      this.put(labels[i]!);
    }
    this.put(Buffer.from([0]));
  }

  u16(n: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n & 0xffff);
    this.put(b);
  }

  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    this.put(b);
  }

  done(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

export function encodeMessage(m: Message): Buffer {
  const w = new Writer();
  w.u16(m.id);
  w.u16(m.flags);
  w.u16(m.questions.length);
  w.u16(m.answers.length);
  w.u16(m.authorities.length);
  w.u16(m.additionals.length);
  for (const q of m.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class | (q.unicastResponse ? 0x8000 : 0));
  }
  for (const rr of [...m.answers, ...m.authorities, ...m.additionals]) {
    w.name(rr.name);
    w.u16(rr.type);
    w.u16(rr.class);
    w.u32(rr.ttl);
    w.u16(rr.data.length);
    w.put(rr.data);
  }
  return w.done();
}

// ---- rdata builders ----------------------------------------------------------------------------------

export function rdataA(ip: string): Buffer {
  if (!isIPv4(ip)) throw new DnsFormatError(`not an IPv4 address: ${ip}`);
  return Buffer.from(ip.split('.').map(Number));
}

export function rdataAAAA(ip: string): Buffer {
  if (!isIPv6(ip)) throw new DnsFormatError(`not an IPv6 address: ${ip}`);
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return b;
}

export function rdataTxt(strings: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of strings) {
    const b = Buffer.from(s, 'utf8');
    for (let i = 0; i < b.length || i === 0; i += 255) {
      const chunk = b.subarray(i, i + 255);
      parts.push(Buffer.from([chunk.length]), chunk);
      if (b.length === 0) break;
    }
  }
  return Buffer.concat(parts);
}

export function rdataMx(preference: number, exchange: string): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(preference);
  return Buffer.concat([b, encodeName(exchange)]);
}

export function rdataSrv(priority: number, weight: number, port: number, target: string): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(priority, 0);
  b.writeUInt16BE(weight, 2);
  b.writeUInt16BE(port, 4);
  return Buffer.concat([b, encodeName(target)]);
}

export interface Soa {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export function rdataSoa(s: Soa): Buffer {
  const nums = Buffer.alloc(20);
  [s.serial, s.refresh, s.retry, s.expire, s.minimum].forEach((n, i) => nums.writeUInt32BE(n >>> 0, i * 4));
  return Buffer.concat([encodeName(s.mname), encodeName(s.rname), nums]);
}

/** An EDNS(0) OPT pseudo-record (RFC 6891) with the given UDP payload size and options. */
export function optRecord(udpSize: number, options: { code: number; data: Buffer }[] = [], doBit = false): ResourceRecord {
  const parts = options.map((o) => {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(o.code, 0);
    h.writeUInt16BE(o.data.length, 2);
    return Buffer.concat([h, o.data]);
  });
  return { name: '', type: TYPES.OPT!, class: udpSize, ttl: doBit ? 0x8000 : 0, data: Buffer.concat(parts) };
}

export interface Edns {
  udpSize: number;
  version: number;
  doBit: boolean;
  options: { code: number; data: Buffer }[];
}

/** The EDNS(0) parameters of a query, if it carries an OPT record. */
export function ednsOf(m: Message): Edns | undefined {
  const opt = m.additionals.find((r) => r.type === TYPES.OPT);
  if (!opt) return undefined;
  const options: { code: number; data: Buffer }[] = [];
  let pos = 0;
  while (pos + 4 <= opt.data.length && options.length < 16) {
    const code = opt.data.readUInt16BE(pos);
    const len = opt.data.readUInt16BE(pos + 2);
    if (pos + 4 + len > opt.data.length) break;
    options.push({ code, data: opt.data.subarray(pos + 4, pos + 4 + len) });
    pos += 4 + len;
  }
  return { udpSize: Math.max(512, opt.class), version: (opt.ttl >>> 16) & 0xff, doBit: (opt.ttl & 0x8000) !== 0, options };
}

/** Presentation form of a name for comparisons: lower case, no trailing dot. */
export function canonicalName(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}
