// NTLMSSP (MS-NLMP): parse a client's NEGOTIATE and AUTHENTICATE messages, build the server's
// CHALLENGE, and turn an AUTHENTICATE into a crackable hash line (hashcat 5600 NetNTLMv2,
// 5500 NetNTLMv1). Shared by the smb, rdp (CredSSP) and ldap (SASL / Sicily) decoys.
// Every offset/length pair in a message is attacker-controlled and checked against the message.
import { randomBytes } from 'node:crypto';

export const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

// Negotiate flags (MS-NLMP 2.2.2.5).
export const F_UNICODE = 0x00000001;
export const F_OEM = 0x00000002;
export const F_REQUEST_TARGET = 0x00000004;
export const F_SIGN = 0x00000010;
export const F_SEAL = 0x00000020;
export const F_LM_KEY = 0x00000080;
export const F_NTLM = 0x00000200;
export const F_ANONYMOUS = 0x00000800;
export const F_ALWAYS_SIGN = 0x00008000;
export const F_TARGET_TYPE_DOMAIN = 0x00010000;
export const F_TARGET_TYPE_SERVER = 0x00020000;
export const F_EXTENDED_SESSIONSECURITY = 0x00080000;
export const F_TARGET_INFO = 0x00800000;
export const F_VERSION = 0x02000000;
export const F_128 = 0x20000000;
export const F_KEY_EXCH = 0x40000000;
export const F_56 = 0x80000000;

export interface WindowsVersion {
  major: number;
  minor: number;
  build: number;
}

export interface NtlmNegotiate {
  flags: number;
  domain: string;
  workstation: string;
  version?: WindowsVersion;
}

export interface NtlmAuthenticate {
  flags: number;
  user: string;
  domain: string;
  workstation: string;
  lmResponse: Buffer;
  ntResponse: Buffer;
  version?: WindowsVersion;
  /** 'v2' (NTLMv2 / LMv2), 'v1' (NTLM or NTLM2 session response), 'anonymous' (null session). */
  kind: 'v2' | 'v1' | 'anonymous';
}

/** 1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE, or 0 when `buf` is not an NTLMSSP message. */
export function ntlmMessageType(buf: Buffer): number {
  if (buf.length < 12 || !buf.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) return 0;
  return buf.readUInt32LE(8);
}

function field(buf: Buffer, at: number, what: string): Buffer {
  if (at + 8 > buf.length) throw new RangeError(`NTLMSSP ${what} field header truncated`);
  const len = buf.readUInt16LE(at);
  const off = buf.readUInt32LE(at + 4);
  if (len === 0) return Buffer.alloc(0);
  if (off + len > buf.length) throw new RangeError(`NTLMSSP ${what} points outside the message`);
  return buf.subarray(off, off + len);
}

function text(b: Buffer, unicode: boolean): string {
  return unicode ? b.subarray(0, b.length & ~1).toString('utf16le') : b.toString('latin1');
}

function readVersion(buf: Buffer, at: number): WindowsVersion | undefined {
  if (at + 8 > buf.length) return undefined;
  const major = buf[at]!;
  if (major === 0) return undefined;
  return { major, minor: buf[at + 1]!, build: buf.readUInt16LE(at + 2) };
}

export function parseNegotiate(buf: Buffer): NtlmNegotiate {
  if (ntlmMessageType(buf) !== 1 || buf.length < 16) throw new RangeError('not an NTLMSSP NEGOTIATE message');
  const flags = buf.readUInt32LE(12);
  let domain = '';
  let workstation = '';
  // The optional fields are OEM strings; clients mostly leave them empty.
  if (buf.length >= 32) {
    try {
      domain = field(buf, 16, 'domain').toString('latin1');
      workstation = field(buf, 24, 'workstation').toString('latin1');
    } catch {
      // Malformed optional fields: keep the flags, which are what the challenge depends on.
    }
  }
  const version = flags & F_VERSION ? readVersion(buf, 32) : undefined;
  return { flags, domain, workstation, version };
}

export function parseAuthenticate(buf: Buffer): NtlmAuthenticate {
  if (ntlmMessageType(buf) !== 3 || buf.length < 64) throw new RangeError('not an NTLMSSP AUTHENTICATE message');
  const flags = buf.readUInt32LE(60);
  const unicode = (flags & F_UNICODE) !== 0;
  const lmResponse = field(buf, 12, 'LM response');
  const ntResponse = field(buf, 20, 'NT response');
  const domain = text(field(buf, 28, 'domain'), unicode);
  const user = text(field(buf, 36, 'user'), unicode);
  const workstation = text(field(buf, 44, 'workstation'), unicode);
  const version = flags & F_VERSION ? readVersion(buf, 64) : undefined;
  let kind: NtlmAuthenticate['kind'];
  if (user === '' && ntResponse.length === 0 && lmResponse.length <= 1) kind = 'anonymous';
  else if (ntResponse.length > 24) kind = 'v2';
  else kind = 'v1';
  return { flags, user, domain, workstation, lmResponse, ntResponse, version, kind };
}

export interface ChallengeTarget {
  /** NetBIOS computer name (upper case, ≤15 chars). */
  computer: string;
  /** NetBIOS domain or workgroup name. */
  domain: string;
  /** DNS computer name (FQDN) and DNS domain; for a workgroup machine the bare host name and ''. */
  dnsComputer: string;
  dnsDomain: string;
  /** True when the machine is joined to a domain (target type domain, DNS tree name present). */
  joined: boolean;
  version: WindowsVersion;
}

const AV_EOL = 0;
const AV_NB_COMPUTER = 1;
const AV_NB_DOMAIN = 2;
const AV_DNS_COMPUTER = 3;
const AV_DNS_DOMAIN = 4;
const AV_DNS_TREE = 5;
const AV_TIMESTAMP = 7;

function avPair(id: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(id, 0);
  head.writeUInt16LE(value.length, 2);
  return Buffer.concat([head, value]);
}

/** Current time as a Windows FILETIME (100 ns ticks since 1601), little endian. */
export function fileTime(date = new Date()): Buffer {
  const ticks = (BigInt(date.getTime()) + 11644473600000n) * 10000n;
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(ticks);
  return b;
}

function versionBytes(v: WindowsVersion): Buffer {
  const b = Buffer.alloc(8);
  b[0] = v.major;
  b[1] = v.minor;
  b.writeUInt16LE(v.build, 2);
  b[7] = 0x0f; // NTLMSSP_REVISION_W2K3
  return b;
}

/** Builds the CHALLENGE answering `negotiate`, the way a Windows server fills it in. */
export function buildChallenge(negotiate: NtlmNegotiate, target: ChallengeTarget, serverChallenge: Buffer = randomBytes(8)): Buffer {
  const req = negotiate.flags;
  const unicode = (req & F_UNICODE) !== 0 || (req & F_OEM) === 0;
  let flags =
    (unicode ? F_UNICODE : F_OEM) |
    F_REQUEST_TARGET |
    F_NTLM |
    F_ALWAYS_SIGN |
    F_TARGET_INFO |
    F_VERSION |
    (target.joined ? F_TARGET_TYPE_DOMAIN : F_TARGET_TYPE_SERVER);
  for (const f of [F_SIGN, F_SEAL, F_EXTENDED_SESSIONSECURITY, F_128, F_KEY_EXCH, F_56]) if (req & f) flags |= f;
  if ((req & F_EXTENDED_SESSIONSECURITY) === 0 && req & F_LM_KEY) flags |= F_LM_KEY;
  const enc = (s: string): Buffer => Buffer.from(s, unicode ? 'utf16le' : 'latin1');
  const u16 = (s: string): Buffer => Buffer.from(s, 'utf16le');
  const targetName = enc(target.joined ? target.domain : target.computer);
  const pairs = [avPair(AV_NB_DOMAIN, u16(target.joined ? target.domain : target.computer)), avPair(AV_NB_COMPUTER, u16(target.computer))];
  pairs.push(avPair(AV_DNS_DOMAIN, u16(target.joined ? target.dnsDomain : target.dnsComputer)));
  pairs.push(avPair(AV_DNS_COMPUTER, u16(target.dnsComputer)));
  if (target.joined) pairs.push(avPair(AV_DNS_TREE, u16(target.dnsDomain)));
  pairs.push(avPair(AV_TIMESTAMP, fileTime()), avPair(AV_EOL, Buffer.alloc(0)));
  const targetInfo = Buffer.concat(pairs);

  const header = Buffer.alloc(56);
  NTLMSSP_SIGNATURE.copy(header, 0);
  header.writeUInt32LE(2, 8);
  const nameOffset = 56;
  header.writeUInt16LE(targetName.length, 12);
  header.writeUInt16LE(targetName.length, 14);
  header.writeUInt32LE(nameOffset, 16);
  header.writeUInt32LE(flags >>> 0, 20);
  serverChallenge.copy(header, 24, 0, 8);
  const infoOffset = nameOffset + targetName.length;
  header.writeUInt16LE(targetInfo.length, 40);
  header.writeUInt16LE(targetInfo.length, 42);
  header.writeUInt32LE(infoOffset, 44);
  versionBytes(target.version).copy(header, 48);
  return Buffer.concat([header, targetName, targetInfo]);
}

/** The server challenge carried by a CHALLENGE message we built. */
export function challengeOf(challengeMessage: Buffer): Buffer {
  return challengeMessage.subarray(24, 32);
}

/**
 * The hash line an offline cracker takes: hashcat mode 5600 for NTLMv2
 * (`user::domain:challenge:NTProofStr:blob`) or 5500 for NTLMv1 (`user::domain:lm:nt:challenge`).
 * Undefined for anonymous attempts, which carry nothing to crack.
 */
export function crackableHash(auth: NtlmAuthenticate, serverChallenge: Buffer): string | undefined {
  const ch = serverChallenge.toString('hex');
  if (auth.kind === 'v2') {
    return `${auth.user}::${auth.domain}:${ch}:${auth.ntResponse.subarray(0, 16).toString('hex')}:${auth.ntResponse.subarray(16).toString('hex')}`;
  }
  if (auth.kind === 'v1') {
    return `${auth.user}::${auth.domain}:${auth.lmResponse.toString('hex')}:${auth.ntResponse.toString('hex')}:${ch}`;
  }
  return undefined;
}

export function versionString(v: WindowsVersion | undefined): string | undefined {
  return v ? `${v.major}.${v.minor}.${v.build}` : undefined;
}
