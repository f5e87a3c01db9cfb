// HASSH client fingerprinting (md5 of the client's KEXINIT kex;enc;mac;cmp name-lists).
// The SSH library does not expose the client's KEXINIT, so the ssh service tees the first
// cleartext bytes of each connection into a ClientHelloSniffer. Node built-ins only.
import { createHash } from 'node:crypto';

export interface KexInit {
  kex: string[];
  hostKey: string[];
  encC2S: string[];
  encS2C: string[];
  macC2S: string[];
  macS2C: string[];
  cmpC2S: string[];
  cmpS2C: string[];
  langC2S: string[];
  langS2C: string[];
  firstKexFollows: boolean;
}

export interface Hassh {
  /** md5 hex of `algorithms`. */
  hassh: string;
  /** `kex;enc_c2s;mac_c2s;cmp_c2s` as sent by the client. */
  algorithms: string;
}

export interface ClientHello {
  /** The identification line without CR LF, e.g. `SSH-2.0-OpenSSH_9.2p1 Debian-2`. */
  clientVersion: string;
  kexInit?: KexInit;
  hassh?: Hassh;
}

const SSH_MSG_KEXINIT = 20;
/** RFC 4253 §4.2: the identification line is at most 255 bytes including CR LF. */
const MAX_IDENT = 255;
/** RFC 4253 §6.1: implementations must handle packets of 35000 bytes total. */
const MAX_PACKET = 35000;
/** A single name-list longer than this is not a real client. */
const MAX_NAMELIST = 8192;

export class KexInitError extends Error {}

/** Parses an SSH_MSG_KEXINIT payload (starting at the message number). Throws KexInitError when malformed. */
export function parseKexInit(payload: Buffer): KexInit {
  if (payload.length < 1 + 16 || payload[0] !== SSH_MSG_KEXINIT) throw new KexInitError('not a KEXINIT message');
  let off = 17;
  const lists: string[][] = [];
  for (let i = 0; i < 10; i++) {
    if (off + 4 > payload.length) throw new KexInitError(`truncated name-list ${i}`);
    const len = payload.readUInt32BE(off);
    off += 4;
    if (len > MAX_NAMELIST || off + len > payload.length) throw new KexInitError(`name-list ${i} length ${len} out of bounds`);
    const text = payload.toString('latin1', off, off + len);
    off += len;
    if (!/^[\x21-\x7e]*$/.test(text)) throw new KexInitError(`name-list ${i} holds non-printable bytes`);
    lists.push(text === '' ? [] : text.split(','));
  }
  if (off + 5 > payload.length) throw new KexInitError('truncated KEXINIT trailer');
  const firstKexFollows = payload[off] !== 0;
  const [kex, hostKey, encC2S, encS2C, macC2S, macS2C, cmpC2S, cmpS2C, langC2S, langS2C] = lists as [
    string[], string[], string[], string[], string[], string[], string[], string[], string[], string[],
  ];
  return { kex, hostKey, encC2S, encS2C, macC2S, macS2C, cmpC2S, cmpS2C, langC2S, langS2C, firstKexFollows };
}

export function hasshOf(k: KexInit): Hassh {
  const algorithms = [k.kex, k.encC2S, k.macC2S, k.cmpC2S].map((l) => l.join(',')).join(';');
  return { hassh: createHash('md5').update(algorithms).digest('hex'), algorithms };
}

/**
 * Watches the first client bytes of an SSH connection: the identification line, then the first
 * binary packet (the cleartext KEXINIT). Holds at most ident + one packet; gives up on anything else.
 */
export class ClientHelloSniffer {
  /** Grows by doubling up to the cap, so byte-at-a-time input stays linear. */
  private buf: Buffer = Buffer.alloc(512);
  private len = 0;
  /** Where the binary packet starts (after the identification line). */
  private start = 0;
  private ident: string | undefined;
  private state: 'ident' | 'packet' | 'done' = 'ident';
  /** Set when the stream is not SSH or the packet is malformed. */
  error: string | undefined;

  get done(): boolean {
    return this.state === 'done';
  }

  /** The identification line, once seen. */
  get clientVersion(): string | undefined {
    return this.ident;
  }

  /** The first bytes seen, for a preview of non-SSH input. */
  get head(): Buffer {
    return this.buf.subarray(0, Math.min(this.len, 256));
  }

  private append(chunk: Buffer): void {
    const room = MAX_IDENT + 4 + MAX_PACKET - this.len;
    const take = chunk.subarray(0, Math.max(0, room));
    if (this.len + take.length > this.buf.length) {
      let size = this.buf.length;
      while (size < this.len + take.length) size *= 2;
      const bigger = Buffer.alloc(Math.min(size, MAX_IDENT + 4 + MAX_PACKET));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    take.copy(this.buf, this.len);
    this.len += take.length;
  }

  /** Feeds bytes; returns the hello once the KEXINIT is parsed (once), else undefined. */
  push(chunk: Buffer): ClientHello | undefined {
    if (this.state === 'done') return undefined;
    this.append(chunk);
    if (this.state === 'ident') {
      const nl = this.buf.subarray(0, this.len).indexOf(0x0a);
      if (nl === -1) {
        if (this.len > MAX_IDENT) return this.fail('identification line too long');
        if (this.len >= 4 && this.buf.toString('latin1', 0, 4) !== 'SSH-') return this.fail('not an SSH identification');
        return undefined;
      }
      const line = this.buf.toString('latin1', 0, nl).replace(/\r$/, '');
      if (!line.startsWith('SSH-') || nl + 1 > MAX_IDENT) return this.fail('not an SSH identification');
      this.ident = line;
      this.start = nl + 1;
      this.state = 'packet';
    }
    const avail = this.len - this.start;
    if (avail < 5) return undefined;
    const packetLen = this.buf.readUInt32BE(this.start);
    const padLen = this.buf[this.start + 4]!;
    if (packetLen < 1 + 17 || packetLen + 4 > MAX_PACKET || padLen >= packetLen) return this.fail(`bad packet length ${packetLen}`);
    if (avail < packetLen + 4) return undefined;
    const payload = Buffer.from(this.buf.subarray(this.start + 5, this.start + 4 + packetLen - padLen));
    this.state = 'done';
    this.release();
    try {
      const kexInit = parseKexInit(payload);
      return { clientVersion: this.ident!, kexInit, hassh: hasshOf(kexInit) };
    } catch (err) {
      this.error = (err as Error).message;
      return undefined;
    }
  }

  /** Keeps only the preview once done. */
  private release(): void {
    const keep = Buffer.from(this.buf.subarray(0, Math.min(this.len, 256)));
    this.buf = keep;
    this.len = keep.length;
  }

  private fail(reason: string): undefined {
    this.error = reason;
    this.state = 'done';
    this.release();
    return undefined;
  }
}

/** Serialises a KEXINIT payload (used by tests and by nothing on the attacker path). */
export function encodeKexInit(k: Omit<KexInit, 'firstKexFollows'> & { firstKexFollows?: boolean }, cookie = Buffer.alloc(16)): Buffer {
  const parts: Buffer[] = [Buffer.from([SSH_MSG_KEXINIT]), cookie];
  for (const list of [k.kex, k.hostKey, k.encC2S, k.encS2C, k.macC2S, k.macS2C, k.cmpC2S, k.cmpS2C, k.langC2S, k.langS2C]) {
    const text = Buffer.from(list.join(','), 'latin1');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(text.length);
    parts.push(len, text);
  }
  parts.push(Buffer.from([k.firstKexFollows ? 1 : 0, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}
