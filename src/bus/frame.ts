// The bus wire protocol on the UNIX socket: compact, binary, length-prefixed frames.
//
//   frame := length:u32be  verb:u8  fields…        (length counts the verb and the fields, 1..MAX_FRAME_BYTES)
//
//   HELLO  0x01  version:u8  nameLen:u8 name            client → broker, first frame, name is printable ASCII ≤ 64
//   SUB    0x02  sid:u32  member:u16  len:u16 pattern   client → broker, sid chosen by the client, unique per connection
//   UNSUB  0x03  sid:u32                                client → broker, unknown sids are ignored
//   PUB    0x04  member:u16  len:u16 topic  typeLen:u8 type  payload…
//                                                       client → broker; payload (rest of frame) is one JSON object
//   EVT    0x05  flags:u8  member:u16  id:16  ts:f64be  len:u16 topic  typeLen:u8 type  payload…
//                                                       broker → client; id is a UUIDv7, ts epoch milliseconds
//   PING   0x06  token:u32                              either way; answered by PONG with the same token
//   PONG   0x07  token:u32
//   BYE    0x08                                         either way; the sender closes after it
//
// Members: several workers of one process share a connection; each is a u16 member number chosen
// by the client. The broker never sends an event back to the member that published it. EVT flag
// ECHO says "published by `member` on this very connection": the client then skips that member's
// subscriptions and delivers to its siblings. Without ECHO the member field is 0 and means nothing.
//
// The broker takes the topic from the PUB frame, assigns id and ts itself, and checks everything:
// subjects and patterns per subject.ts, type characters, payload size and JSON-object shape. Any
// malformed frame closes that connection only.
import { MAX_BODY_BYTES } from './types.ts';
import { MAX_SUBJECT_BYTES } from './subject.ts';

export const PROTOCOL_VERSION = 1;

export const HELLO = 0x01;
export const SUB = 0x02;
export const UNSUB = 0x03;
export const PUB = 0x04;
export const EVT = 0x05;
export const PING = 0x06;
export const PONG = 0x07;
export const BYE = 0x08;

export const VERB_NAMES: Record<number, string> = { 1: 'HELLO', 2: 'SUB', 3: 'UNSUB', 4: 'PUB', 5: 'EVT', 6: 'PING', 7: 'PONG', 8: 'BYE' };

export const FLAG_ECHO = 0x01;

export const MAX_NAME_BYTES = 64;
export const MAX_TYPE_BYTES = 64;
/** Largest frame: the biggest EVT (fixed header, topic, type) around a 1 MiB payload. */
export const MAX_FRAME_BYTES = MAX_BODY_BYTES + 64 + MAX_SUBJECT_BYTES + MAX_TYPE_BYTES;

/** EVT bytes before the topic: verb, flags, member, id, ts, topic length. */
export const EVT_FIXED = 1 + 1 + 2 + 16 + 8 + 2;
/** PUB bytes before the topic: verb, member, topic length. */
export const PUB_FIXED = 1 + 2 + 2;

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Event types are short discriminators: printable ASCII without spaces. */
export function isValidType(type: string): boolean {
  if (type.length > MAX_TYPE_BYTES) return false;
  for (let i = 0; i < type.length; i++) {
    const c = type.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

export function isValidTypeBytes(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] < 0x21 || b[i] > 0x7e) return false;
  return true;
}

/** Client names (HELLO): printable ASCII, 1..64 bytes. */
export function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_BYTES && /^[\x20-\x7e]+$/.test(name);
}

// Encoders for the small control frames. Each returns one freshly allocated frame.

export function encodeHello(name: string): Buffer {
  const nameBytes = Buffer.from(name, 'latin1');
  const b = Buffer.allocUnsafe(4 + 3 + nameBytes.length);
  b.writeUInt32BE(3 + nameBytes.length, 0);
  b[4] = HELLO;
  b[5] = PROTOCOL_VERSION;
  b[6] = nameBytes.length;
  nameBytes.copy(b, 7);
  return b;
}

export function encodeSub(sid: number, member: number, pattern: string): Buffer {
  const p = Buffer.from(pattern, 'utf8');
  const b = Buffer.allocUnsafe(4 + 1 + 4 + 2 + 2 + p.length);
  b.writeUInt32BE(1 + 4 + 2 + 2 + p.length, 0);
  b[4] = SUB;
  b.writeUInt32BE(sid, 5);
  b.writeUInt16BE(member, 9);
  b.writeUInt16BE(p.length, 11);
  p.copy(b, 13);
  return b;
}

export function encodeUnsub(sid: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b.writeUInt32BE(5, 0);
  b[4] = UNSUB;
  b.writeUInt32BE(sid, 5);
  return b;
}

export function encodePing(verb: typeof PING | typeof PONG, token: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b.writeUInt32BE(5, 0);
  b[4] = verb;
  b.writeUInt32BE(token >>> 0, 5);
  return b;
}

export function encodeBye(): Buffer {
  const b = Buffer.allocUnsafe(5);
  b.writeUInt32BE(1, 0);
  b[4] = BYE;
  return b;
}

/**
 * Cuts a byte stream into frames, whatever the chunking. Whole frames inside a chunk are handed
 * over in place (no copy); only a frame split across chunks is assembled, into a buffer of exactly
 * its size, allocated once its length is known and checked. `onFrame(buf, start, end)` gets the
 * frame from its verb byte (buf[start]) to its end; it may throw ProtocolError, which ends reading.
 */
export class FrameReader {
  private readonly onFrame: (buf: Buffer, start: number, end: number) => void;
  private readonly maxFrame: number;
  private readonly lenBytes = Buffer.alloc(4);
  private lenFill = 0;
  private partial: Buffer | null = null;
  private partialFill = 0;
  private stopped = false;

  constructor(onFrame: (buf: Buffer, start: number, end: number) => void, maxFrame = MAX_FRAME_BYTES) {
    this.onFrame = onFrame;
    this.maxFrame = maxFrame;
  }

  /** Ignore everything after the current frame (after BYE or a protocol error). */
  stop(): void {
    this.stopped = true;
  }

  /** True when bytes of an incomplete frame are waiting. */
  get midFrame(): boolean {
    return this.lenFill > 0 || this.partial !== null;
  }

  private checkLength(len: number): void {
    if (len < 1 || len > this.maxFrame) throw new ProtocolError(`frame length ${len} outside 1..${this.maxFrame}`);
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    const n = chunk.length;
    let i = 0;
    // Finish a length prefix split across chunks.
    if (this.lenFill > 0) {
      while (this.lenFill < 4 && i < n) this.lenBytes[this.lenFill++] = chunk[i++];
      if (this.lenFill < 4) return;
      this.lenFill = 0;
      const len = this.lenBytes.readUInt32BE(0);
      this.checkLength(len);
      this.partial = Buffer.allocUnsafe(len);
      this.partialFill = 0;
    }
    // Finish a frame body split across chunks.
    if (this.partial !== null) {
      const want = this.partial.length - this.partialFill;
      const take = Math.min(want, n - i);
      chunk.copy(this.partial, this.partialFill, i, i + take);
      this.partialFill += take;
      i += take;
      if (this.partialFill < this.partial.length) return;
      const frame = this.partial;
      this.partial = null;
      this.onFrame(frame, 0, frame.length);
      if (this.stopped) return;
    }
    while (i < n) {
      if (n - i < 4) {
        while (i < n) this.lenBytes[this.lenFill++] = chunk[i++];
        return;
      }
      const len = chunk.readUInt32BE(i);
      this.checkLength(len);
      const start = i + 4;
      const end = start + len;
      if (end <= n) {
        this.onFrame(chunk, start, end);
        if (this.stopped) return;
        i = end;
        continue;
      }
      this.partial = Buffer.allocUnsafe(len);
      chunk.copy(this.partial, 0, start, n);
      this.partialFill = n - start;
      return;
    }
  }
}

/**
 * Hands out small frame buffers carved from large chunks, so encoding a frame costs no allocation
 * of its own, and consecutive frames sit next to each other (the outbound queue then writes them
 * with one call). Memory is never reused: a chunk is freed by the GC once no frame refers to it.
 */
export class Slab {
  private readonly chunkSize: number;
  private buf: Buffer;
  private off = 0;

  constructor(chunkSize = 256 * 1024) {
    this.chunkSize = chunkSize;
    this.buf = Buffer.allocUnsafeSlow(chunkSize);
  }

  /** A region of at least `max` bytes; write into it from `offset`, then call commit(). */
  reserve(max: number): Buffer {
    if (this.off + max > this.buf.length) {
      this.buf = Buffer.allocUnsafeSlow(Math.max(this.chunkSize, max));
      this.off = 0;
    }
    return this.buf;
  }

  get offset(): number {
    return this.off;
  }

  /** Takes `used` bytes from the reserved region as one frame. */
  commit(used: number): Buffer {
    const frame = this.buf.subarray(this.off, this.off + used);
    this.off += used;
    return frame;
  }
}
