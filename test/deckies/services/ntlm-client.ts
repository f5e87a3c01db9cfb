// The client half of NTLM for the smb, ldap and rdp decoy tests: MD4 (OpenSSL 3 no longer offers
// it), NEGOTIATE and AUTHENTICATE messages, a real NTLMv2 response for a known password, and the
// check an offline cracker does on a recorded NetNTLMv2 line.
import { createHmac, randomBytes } from 'node:crypto';

/** MD4 (RFC 1320). */
export function md4(input: Buffer): Buffer {
  const msgLen = input.length;
  const padLen = ((msgLen + 8) >> 6) * 64 + 64;
  const m = Buffer.alloc(padLen);
  input.copy(m);
  m[msgLen] = 0x80;
  m.writeUInt32LE((msgLen * 8) >>> 0, padLen - 8);
  m.writeUInt32LE(Math.floor((msgLen * 8) / 2 ** 32), padLen - 4);
  let [a, b, c, d] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));
  const F = (x: number, y: number, z: number): number => (x & y) | (~x & z);
  const G = (x: number, y: number, z: number): number => (x & y) | (x & z) | (y & z);
  const H = (x: number, y: number, z: number): number => x ^ y ^ z;
  for (let off = 0; off < padLen; off += 64) {
    const X = Array.from({ length: 16 }, (_, i) => m.readUInt32LE(off + i * 4));
    const [aa, bb, cc, dd] = [a, b, c, d];
    const r1 = [3, 7, 11, 19];
    for (let i = 0; i < 16; i++) {
      const t = rotl((a + F(b, c, d) + X[i]!) | 0, r1[i % 4]!);
      [a, b, c, d] = [d, t, b, c];
    }
    const r2 = [3, 5, 9, 13];
    for (let i = 0; i < 16; i++) {
      const k = (i % 4) * 4 + Math.floor(i / 4);
      const t = rotl((a + G(b, c, d) + X[k]! + 0x5a827999) | 0, r2[i % 4]!);
      [a, b, c, d] = [d, t, b, c];
    }
    const r3 = [3, 9, 11, 15];
    const order = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
    for (let i = 0; i < 16; i++) {
      const t = rotl((a + H(b, c, d) + X[order[i]!]! + 0x6ed9eba1) | 0, r3[i % 4]!);
      [a, b, c, d] = [d, t, b, c];
    }
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }
  const out = Buffer.alloc(16);
  [a, b, c, d].forEach((v, i) => out.writeUInt32LE(v >>> 0, i * 4));
  return out;
}

export const ntHash = (password: string): Buffer => md4(Buffer.from(password, 'utf16le'));
const hmac = (key: Buffer, ...data: Buffer[]): Buffer => createHmac('md5', key).update(Buffer.concat(data)).digest();

export function ntlmNegotiate(): Buffer {
  const b = Buffer.alloc(40);
  b.write('NTLMSSP\0', 0, 'latin1');
  b.writeUInt32LE(1, 8);
  b.writeUInt32LE(0xe2088297, 12); // unicode, OEM, request target, sign, seal, NTLM, always sign, ESS, 128, key exch, 56, version
  b[32] = 10;
  b.writeUInt16LE(19045, 34);
  b[39] = 15;
  return b;
}

export interface Challenge {
  serverChallenge: Buffer;
  targetInfo: Buffer;
  flags: number;
  targetName: string;
  /** AV pairs by id, decoded as UTF-16LE where they are names. */
  av: Map<number, Buffer>;
  version: { major: number; minor: number; build: number };
}

export function parseChallenge(msg: Buffer): Challenge {
  if (msg.subarray(0, 8).toString('latin1') !== 'NTLMSSP\0' || msg.readUInt32LE(8) !== 2) throw new Error('not an NTLM CHALLENGE');
  const nameLen = msg.readUInt16LE(12);
  const nameOff = msg.readUInt32LE(16);
  const flags = msg.readUInt32LE(20);
  const infoLen = msg.readUInt16LE(40);
  const infoOff = msg.readUInt32LE(44);
  const targetInfo = msg.subarray(infoOff, infoOff + infoLen);
  const av = new Map<number, Buffer>();
  for (let p = 0; p + 4 <= targetInfo.length; ) {
    const id = targetInfo.readUInt16LE(p);
    const len = targetInfo.readUInt16LE(p + 2);
    if (id === 0) break;
    av.set(id, targetInfo.subarray(p + 4, p + 4 + len));
    p += 4 + len;
  }
  return {
    serverChallenge: msg.subarray(24, 32),
    targetInfo,
    flags,
    targetName: msg.subarray(nameOff, nameOff + nameLen).toString('utf16le'),
    av,
    version: { major: msg[48]!, minor: msg[49]!, build: msg.readUInt16LE(50) },
  };
}

/** NTProofStr for a blob (what a cracker recomputes for each candidate password). */
export function ntProofStr(password: string, user: string, domain: string, serverChallenge: Buffer, blob: Buffer): Buffer {
  const key = hmac(ntHash(password), Buffer.from(user.toUpperCase() + domain, 'utf16le'));
  return hmac(key, serverChallenge, blob);
}

export function ntlmAuthenticate(ch: Challenge, user: string, domain: string, workstation: string, password: string): Buffer {
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64LE((BigInt(Date.now()) + 11644473600000n) * 10000n);
  const blob = Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), ts, randomBytes(8), Buffer.alloc(4), ch.targetInfo, Buffer.alloc(4)]);
  const proof = ntProofStr(password, user, domain, ch.serverChallenge, blob);
  const nt = Buffer.concat([proof, blob]);
  const lm = Buffer.alloc(24);
  const payload: Buffer[] = [];
  const header = Buffer.alloc(88);
  header.write('NTLMSSP\0', 0, 'latin1');
  header.writeUInt32LE(3, 8);
  let off = 88;
  const put = (at: number, data: Buffer): void => {
    header.writeUInt16LE(data.length, at);
    header.writeUInt16LE(data.length, at + 2);
    header.writeUInt32LE(off, at + 4);
    payload.push(data);
    off += data.length;
  };
  put(12, lm);
  put(20, nt);
  put(28, Buffer.from(domain, 'utf16le'));
  put(36, Buffer.from(user, 'utf16le'));
  put(44, Buffer.from(workstation, 'utf16le'));
  put(52, randomBytes(16));
  header.writeUInt32LE((0xe2088215 | 0x02000000) >>> 0, 60);
  header[64] = 10;
  header.writeUInt16LE(22631, 66);
  header[71] = 15;
  return Buffer.concat([header, ...payload]);
}

/** Checks a recorded hashcat 5600 line against the password; returns the parsed parts. */
export function verifyNetNtlmV2(line: string, password: string): { user: string; domain: string; ok: boolean } {
  const [user, , domain, challenge, proof, blob] = line.split(':');
  const again = ntProofStr(password, user!, domain!, Buffer.from(challenge!, 'hex'), Buffer.from(blob!, 'hex'));
  return { user: user!, domain: domain!, ok: again.toString('hex') === proof };
}
