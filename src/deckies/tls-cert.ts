// Self-signed X.509 v3 certificates for the decoys' TLS ports, built in-process: a minimal DER encoder plus
// node:crypto for keys and signatures (no openssl subprocess, no ASN.1 library). The shape follows what
// `openssl req -x509` produces on a freshly installed server (the snake-oil certificate a real admin never
// replaced): subject = issuer = CN=<hostname>, SAN with the hostname and address, 10-year validity.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

export interface SelfSignedOptions {
  /** Subject and issuer CN, usually the decky's hostname (1..64 characters). */
  commonName: string;
  /** DNS names and IP addresses for subjectAltName (IPs are detected and encoded as iPAddress). */
  altNames?: readonly string[];
  /** Optional O= attribute (appliances often carry a vendor name). */
  organization?: string;
  /** 'ec' (P-256, default: instant) or 'rsa' (2048-bit, what Debian's snake-oil uses; slower to generate). */
  keyType?: 'ec' | 'rsa';
  /** Start of validity; default: a few weeks to a year ago, so the certificate does not look minted today. */
  notBefore?: Date;
  /** Validity in days (default 3650, like make-ssl-cert). */
  validDays?: number;
}

export interface PemCredentials {
  key: string;
  cert: string;
}

// ---- minimal DER encoder -------------------------------------------------------------------------------

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const seq = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);
const set = (...parts: Buffer[]): Buffer => tlv(0x31, ...parts);
const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);
const octetString = (b: Buffer): Buffer => tlv(0x04, b);
const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.from([0]), b);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));

/** Unsigned big-endian integer as DER INTEGER (leading zero when the high bit is set). */
function uint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const trimmed = b.subarray(i);
  return tlv(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii')) : tlv(0x18, Buffer.from(digits, 'ascii'));
}

// ---- certificate ---------------------------------------------------------------------------------------

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

const DNS_NAME = /^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;

function validate(opts: SelfSignedOptions): void {
  const cn = opts.commonName;
  if (typeof cn !== 'string' || cn.length < 1 || cn.length > 64 || /[\x00-\x1f\x7f]/.test(cn)) {
    throw new Error(`certificate commonName must be 1..64 printable characters, got ${JSON.stringify(cn)}`);
  }
  if (opts.organization !== undefined && (opts.organization.length < 1 || opts.organization.length > 64)) {
    throw new Error('certificate organization must be 1..64 characters');
  }
  for (const name of opts.altNames ?? []) {
    if (isIP(name) === 0 && (name.length > 253 || !DNS_NAME.test(name))) {
      throw new Error(`certificate altName ${JSON.stringify(name)} is neither an IP address nor a DNS name`);
    }
  }
  const days = opts.validDays ?? 3650;
  if (!Number.isInteger(days) || days < 1 || days > 36500) throw new Error('certificate validDays must be an integer 1..36500');
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // IPv6: expand '::' then pack eight 16-bit groups.
  const [head = '', tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function name(cn: string, org?: string): Buffer {
  const rdns = [];
  if (org) rdns.push(set(seq(oid(OID.organization), utf8(org))));
  rdns.push(set(seq(oid(OID.commonName), utf8(cn))));
  return seq(...rdns);
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octetString(value)) : seq(oid(id), octetString(value));
}

function defaultNotBefore(): Date {
  // 20..400 days ago, at a whole second: a server installed a while back.
  const days = 20 + randomBytes(2).readUInt16BE(0) % 381;
  return new Date(Math.floor((Date.now() - days * 86_400_000) / 1000) * 1000);
}

/** Builds a self-signed certificate and its private key, both PEM. Throws a descriptive Error on bad options. */
export function createSelfSignedCertificate(opts: SelfSignedOptions): PemCredentials {
  validate(opts);
  const keyType = opts.keyType ?? 'ec';
  const { privateKey, publicKey } =
    keyType === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const sigAlg = keyType === 'rsa' ? seq(oid(OID.sha256WithRsa), tlv(0x05)) : seq(oid(OID.ecdsaWithSha256));

  const notBefore = opts.notBefore ?? defaultNotBefore();
  const notAfter = new Date(notBefore.getTime() + (opts.validDays ?? 3650) * 86_400_000);
  const serial = randomBytes(20);
  serial[0] = serial[0]! & 0x7f || 0x01; // positive and without a leading zero byte, as openssl mints them

  // Key identifier = SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 §4.2.1.2 method 1).
  const keyId = createHash('sha1').update(subjectPublicKeyBits(spki)).digest();
  const sans = [...new Set([opts.commonName, ...(opts.altNames ?? [])])].filter((n) => isIP(n) !== 0 || DNS_NAME.test(n));
  const sanValue = seq(...sans.map((n) => (isIP(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, 'ascii')))));

  const extensions = seq(
    extension(OID.subjectKeyIdentifier, false, octetString(keyId)),
    extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, keyId))),
    extension(OID.basicConstraints, true, seq(bool(true))),
    extension(OID.subjectAltName, false, sanValue),
  );

  const subject = name(opts.commonName, opts.organization);
  const tbs = seq(
    explicit(0, uint(Buffer.from([2]))),
    uint(serial),
    sigAlg,
    subject,
    seq(time(notBefore), time(notAfter)),
    subject,
    spki,
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey as KeyObject);
  const der = seq(tbs, sigAlg, bitString(signature));

  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { key, cert };
}

/** The raw key bits inside an SPKI DER (SEQUENCE { algorithm, BIT STRING }). */
function subjectPublicKeyBits(spki: Buffer): Buffer {
  let off = 0;
  const readHeader = (): { len: number; start: number } => {
    off++; // tag
    let len = spki[off++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + spki[off++]!;
    }
    return { len, start: off };
  };
  readHeader(); // outer SEQUENCE
  const alg = readHeader();
  off = alg.start + alg.len;
  const bits = readHeader();
  return spki.subarray(bits.start + 1, bits.start + bits.len); // skip the unused-bits byte
}
