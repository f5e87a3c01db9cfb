// TLS ClientHello parsing and client fingerprints (JA3, JA4) from the raw bytes a client sent, read before
// the TLS library sees them. Pure functions over Buffers, bounded, never throwing on hostile input.
// JA3: https://github.com/salesforce/ja3 (MD5 of "version,ciphers,extensions,groups,point formats").
// JA4: FoxIO's TLS client fingerprint (BSD-3-Clause), e.g. t13d1516h2_8daaf6152771_d8a2da3f94cd.
import { createHash } from 'node:crypto';

export interface ClientHello {
  /** Version in the record header (0x0301 for most clients). */
  recordVersion: number;
  /** ClientHello.legacy_version (0x0303 for TLS 1.2 and 1.3 clients). */
  legacyVersion: number;
  /** Cipher suites in wire order, GREASE included. */
  ciphers: number[];
  /** Extension types in wire order, GREASE included. */
  extensions: number[];
  serverName?: string;
  /** ALPN protocol names in order (latin1, one char per byte). */
  alpn: string[];
  supportedVersions: number[];
  groups: number[];
  pointFormats: number[];
  signatureAlgorithms: number[];
  compressionMethods: number[];
  sessionIdLength: number;
}

export type HelloScan =
  | { status: 'complete'; hello: ClientHello; /** Bytes of all records that carried the ClientHello. */ length: number }
  | { status: 'incomplete' }
  | { status: 'not_tls' }
  | { status: 'invalid'; reason: string };

/** Largest ClientHello message accepted (real ones are < 2 KiB, ~3 KiB with post-quantum key shares). */
export const MAX_CLIENT_HELLO = 32 * 1024;
const MAX_RECORD = 16384 + 2048;

export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

/**
 * Looks at the first bytes received on a connection: is it a TLS handshake, and is the ClientHello complete?
 * Handles a ClientHello split over several handshake records.
 */
export function scanClientHello(buf: Buffer): HelloScan {
  if (buf.length === 0) return { status: 'incomplete' };
  if (buf[0] !== 0x16) return { status: 'not_tls' };
  if (buf.length >= 2 && buf[1] !== 0x03) return { status: 'not_tls' };
  const fragments: Buffer[] = [];
  let have = 0;
  let off = 0;
  let need = -1;
  while (true) {
    if (buf.length < off + 5) return { status: 'incomplete' };
    if (buf[off] !== 0x16) return { status: 'invalid', reason: 'handshake interrupted by another record type' };
    if (buf[off + 1] !== 0x03 || buf[off + 2]! > 0x04) return { status: 'invalid', reason: 'bad record version' };
    const len = buf.readUInt16BE(off + 3);
    if (len === 0 || len > MAX_RECORD) return { status: 'invalid', reason: 'bad record length' };
    if (buf.length < off + 5 + len) return { status: 'incomplete' };
    fragments.push(buf.subarray(off + 5, off + 5 + len));
    have += len;
    off += 5 + len;
    if (need === -1 && have >= 4) {
      const head = fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments);
      if (head[0] !== 0x01) return { status: 'invalid', reason: 'first handshake message is not a ClientHello' };
      need = 4 + head.readUIntBE(1, 3);
      if (need > MAX_CLIENT_HELLO) return { status: 'invalid', reason: 'ClientHello too large' };
    }
    if (need !== -1 && have >= need) {
      const msg = Buffer.concat(fragments).subarray(4, need);
      const hello = parseClientHelloBody(msg, buf.readUInt16BE(1));
      return typeof hello === 'string' ? { status: 'invalid', reason: hello } : { status: 'complete', hello, length: off };
    }
    if (off > MAX_CLIENT_HELLO + 5 * 8) return { status: 'invalid', reason: 'ClientHello too large' };
  }
}

/** Parses the body of a ClientHello handshake message (after its 4-byte header). Returns an error string on malformed input. */
export function parseClientHelloBody(b: Buffer, recordVersion = 0x0301): ClientHello | string {
  let off = 0;
  const need = (n: number): boolean => off + n <= b.length;
  if (!need(2 + 32 + 1)) return 'truncated ClientHello';
  const legacyVersion = b.readUInt16BE(0);
  off = 34;
  const sidLen = b[off++]!;
  if (sidLen > 32 || !need(sidLen + 2)) return 'bad session id';
  off += sidLen;
  const csLen = b.readUInt16BE(off);
  off += 2;
  if (csLen % 2 !== 0 || !need(csLen + 1)) return 'bad cipher suite list';
  const ciphers: number[] = [];
  for (let i = 0; i < csLen; i += 2) ciphers.push(b.readUInt16BE(off + i));
  off += csLen;
  const compLen = b[off++]!;
  if (!need(compLen)) return 'bad compression methods';
  const compressionMethods = [...b.subarray(off, off + compLen)];
  off += compLen;

  const hello: ClientHello = {
    recordVersion,
    legacyVersion,
    ciphers,
    extensions: [],
    alpn: [],
    supportedVersions: [],
    groups: [],
    pointFormats: [],
    signatureAlgorithms: [],
    compressionMethods,
    sessionIdLength: sidLen,
  };
  if (off === b.length) return hello; // no extensions (SSLv3-era clients)
  if (!need(2)) return 'truncated extensions';
  const extEnd = off + 2 + b.readUInt16BE(off);
  off += 2;
  if (extEnd > b.length) return 'extensions overrun the message';
  while (off < extEnd) {
    if (off + 4 > extEnd) return 'truncated extension header';
    const type = b.readUInt16BE(off);
    const len = b.readUInt16BE(off + 2);
    off += 4;
    if (off + len > extEnd) return 'extension overruns the list';
    const data = b.subarray(off, off + len);
    off += len;
    hello.extensions.push(type);
    if (hello.extensions.length > 512) return 'too many extensions';
    readExtension(hello, type, data);
  }
  return hello;
}

function u16List(data: Buffer, lenBytes: 1 | 2): number[] {
  if (data.length < lenBytes) return [];
  const len = lenBytes === 1 ? data[0]! : data.readUInt16BE(0);
  const out: number[] = [];
  for (let i = lenBytes; i + 1 < Math.min(data.length, lenBytes + len); i += 2) out.push(data.readUInt16BE(i));
  return out;
}

function readExtension(hello: ClientHello, type: number, data: Buffer): void {
  switch (type) {
    case 0x0000: {
      // server_name: list of (type, name); take the first host_name.
      let o = 2;
      while (o + 3 <= data.length) {
        const nameType = data[o]!;
        const nameLen = data.readUInt16BE(o + 1);
        const name = data.subarray(o + 3, o + 3 + nameLen);
        if (nameType === 0 && hello.serverName === undefined) hello.serverName = name.subarray(0, 255).toString('latin1');
        o += 3 + nameLen;
      }
      break;
    }
    case 0x0010: {
      let o = 2;
      while (o < data.length && hello.alpn.length < 32) {
        const n = data[o]!;
        hello.alpn.push(data.subarray(o + 1, o + 1 + n).toString('latin1'));
        o += 1 + n;
      }
      break;
    }
    case 0x000a:
      hello.groups = u16List(data, 2);
      break;
    case 0x000b:
      hello.pointFormats = data.length > 0 ? [...data.subarray(1, 1 + data[0]!)] : [];
      break;
    case 0x000d:
      hello.signatureAlgorithms = u16List(data, 2);
      break;
    case 0x002b:
      hello.supportedVersions = u16List(data, 1);
      break;
  }
}

// ---- fingerprints --------------------------------------------------------------------------------------

export function ja3String(h: ClientHello): string {
  const keep = (xs: number[]): string => xs.filter((x) => !isGrease(x)).join('-');
  return [h.legacyVersion, keep(h.ciphers), keep(h.extensions), keep(h.groups), h.pointFormats.join('-')].join(',');
}

export function ja3(h: ClientHello): { ja3: string; ja3Hash: string } {
  const s = ja3String(h);
  return { ja3: s, ja3Hash: createHash('md5').update(s).digest('hex') };
}

const VERSION_CODES: Record<number, string> = {
  0x0304: '13',
  0x0303: '12',
  0x0302: '11',
  0x0301: '10',
  0x0300: 's3',
  0x0002: 's2',
  0xfeff: 'd1',
  0xfefd: 'd2',
  0xfefc: 'd3',
};

/** Highest offered TLS version: from supported_versions when present, else legacy_version. */
export function offeredVersion(h: ClientHello): number {
  const versions = h.supportedVersions.filter((v) => !isGrease(v));
  return versions.length > 0 ? Math.max(...versions) : h.legacyVersion;
}

const hex4 = (v: number): string => v.toString(16).padStart(4, '0');
const sha12 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);
const two = (n: number): string => String(Math.min(n, 99)).padStart(2, '0');
const isAlnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

function alpnCode(h: ClientHello): string {
  const first = h.alpn[0];
  if (first === undefined || first.length === 0) return '00';
  const a = first.charCodeAt(0);
  const z = first.charCodeAt(first.length - 1);
  if (isAlnum(a) && isAlnum(z)) return first[0]! + first[first.length - 1]!;
  // Non-alphanumeric: first hex digit of the first byte, last hex digit of the last byte.
  return a.toString(16).padStart(2, '0')[0]! + z.toString(16).padStart(2, '0')[1]!;
}

/** JA4 for TLS over TCP, and its raw form (JA4_r: the sorted lists before hashing). */
export function ja4(h: ClientHello): { ja4: string; ja4r: string } {
  const ciphers = h.ciphers.filter((c) => !isGrease(c));
  const exts = h.extensions.filter((e) => !isGrease(e));
  const sigs = h.signatureAlgorithms.filter((s) => !isGrease(s));
  const a = `t${VERSION_CODES[offeredVersion(h)] ?? '00'}${h.extensions.includes(0x0000) ? 'd' : 'i'}${two(ciphers.length)}${two(exts.length)}${alpnCode(h)}`;
  const cipherList = ciphers.map(hex4).sort().join(',');
  const extList = exts.filter((e) => e !== 0x0000 && e !== 0x0010).map(hex4).sort().join(',');
  const sigList = sigs.map(hex4).join(',');
  const extInput = sigList ? `${extList}_${sigList}` : extList;
  const b = cipherList ? sha12(cipherList) : '000000000000';
  const c = extList ? sha12(extInput) : '000000000000';
  return { ja4: `${a}_${b}_${c}`, ja4r: `${a}_${cipherList}_${extInput}` };
}

export function versionName(v: number): string {
  switch (v) {
    case 0x0304:
      return 'TLSv1.3';
    case 0x0303:
      return 'TLSv1.2';
    case 0x0302:
      return 'TLSv1.1';
    case 0x0301:
      return 'TLSv1';
    case 0x0300:
      return 'SSLv3';
    default:
      return `0x${hex4(v)}`;
  }
}
