// `unix:` transport: one socket to the broker shared by the members (workers) of this process.
// It connects lazily, says HELLO, and when the broker goes away it reconnects with backoff
// (100 ms doubling to 5 s, with jitter) and subscribes again by itself; subscriptions stay open
// across the outage. Publications made while disconnected wait in a small bounded buffer (oldest
// dropped, counted). Publications made in one tick leave in one write.
import net from 'node:net';
import type { BusConnection, Envelope, Payload } from './types.ts';
import { MAX_SUBJECT_BYTES } from './subject.ts';
import {
  BYE,
  EVT,
  EVT_FIXED,
  FLAG_ECHO,
  FrameReader,
  PING,
  PONG,
  PUB,
  PUB_FIXED,
  ProtocolError,
  Slab,
  VERB_NAMES,
  encodeBye,
  encodeHello,
  encodePing,
  encodeSub,
  encodeUnsub,
  isValidName,
} from './frame.ts';
import { OutQueue } from './out-queue.ts';
import { MemberSubs, type EnvelopeSource } from './member-subs.ts';
import { MemberView, type MemberHost } from './member-view.ts';
import type { QueueSubscription } from './subscription.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { errorMessage } from '../core/errors.ts';

export interface UnixBusOptions {
  path: string;
  /** Name sent in HELLO (default decnet[<pid>]). */
  name?: string;
  /** Outbound frames queued while connected (default 1024) and while disconnected (default 256). */
  queueFrames?: number;
  offlineFrames?: number;
  queueBytes?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  log?: Logger;
}

type State = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed';

const EAGER_WRITE_BYTES = 64 * 1024;
/** A payload this long (UTF-16 units) gets its own exactly-sized buffer instead of slab space. */
const BIG_PAYLOAD = 16 * 1024;

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/** Turns the EVT frame being delivered into an envelope. One instance per connection, reused for
 * every frame: repeated topics and types reuse their strings, and the id is formatted in a scratch
 * buffer, so a delivery allocates little beyond the envelope and its payload. */
class EvtDecoder implements EnvelopeSource {
  private buf: Buffer = Buffer.alloc(0);
  private s = 0;
  private e = 0;
  private typeStart = 0;
  private typeEnd = 0;
  topic = '';
  private readonly lastTopicBytes = Buffer.alloc(MAX_SUBJECT_BYTES);
  private lastTopicLen = -1;
  private readonly lastTypeBytes = Buffer.alloc(256);
  private lastTypeLen = -1;
  private lastType = '';
  private readonly id = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

  /** Points the decoder at one EVT frame (buf[s] is its verb) and decodes its topic. */
  load(buf: Buffer, s: number, e: number): void {
    if (e - s < EVT_FIXED + 2) throw new ProtocolError('EVT frame too short');
    const topicLen = buf.readUInt16BE(s + 28);
    const topicStart = s + EVT_FIXED;
    const topicEnd = topicStart + topicLen;
    if (topicLen === 0 || topicLen > MAX_SUBJECT_BYTES || topicEnd >= e) throw new ProtocolError('EVT topic length is invalid');
    const typeEnd = topicEnd + 1 + buf[topicEnd];
    if (typeEnd > e) throw new ProtocolError('EVT type overruns the frame');
    this.buf = buf;
    this.s = s;
    this.e = e;
    this.typeStart = topicEnd + 1;
    this.typeEnd = typeEnd;
    if (!sameBytes(this.lastTopicBytes, this.lastTopicLen, buf, topicStart, topicEnd)) {
      this.topic = buf.toString('utf8', topicStart, topicEnd);
      buf.copy(this.lastTopicBytes, 0, topicStart, topicEnd);
      this.lastTopicLen = topicLen;
    }
  }

  envelope(): Envelope {
    const { buf, s, e, typeStart, typeEnd } = this;
    let payload: Payload;
    try {
      payload = JSON.parse(buf.toString('utf8', typeEnd, e)) as Payload;
    } catch {
      throw new ProtocolError(`EVT payload on ${this.topic} is not JSON`);
    }
    if (!sameBytes(this.lastTypeBytes, this.lastTypeLen, buf, typeStart, typeEnd)) {
      this.lastType = buf.toString('latin1', typeStart, typeEnd);
      buf.copy(this.lastTypeBytes, 0, typeStart, typeEnd);
      this.lastTypeLen = typeEnd - typeStart;
    }
    const id = this.id;
    let p = 0;
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) p++; // keep the dash
      const byte = buf[s + 4 + i];
      id[p++] = HEX_DIGITS[byte >>> 4];
      id[p++] = HEX_DIGITS[byte & 15];
    }
    return { v: 1, id: id.toString('latin1'), topic: this.topic, type: this.lastType, ts: buf.readDoubleBE(s + 20), payload };
  }
}

function sameBytes(last: Buffer, lastLen: number, buf: Buffer, start: number, end: number): boolean {
  if (end - start !== lastLen) return false;
  for (let i = 0; i < lastLen; i++) if (last[i] !== buf[start + i]) return false;
  return true;
}

interface FlushWaiter {
  token: number;
  resolve: (ok: boolean) => void;
  timer: NodeJS.Timeout;
  sent: boolean;
}

export class UnixBusConnection implements BusConnection, MemberHost {
  readonly url: string;
  readonly path: string;
  private readonly name: string;
  private readonly log: Logger;
  private readonly queueFrames: number;
  private readonly offlineFrames: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private state: State = 'idle';
  private socket: net.Socket | null = null;
  private reader: FrameReader | null = null;
  private readonly out: OutQueue;
  private readonly slab = new Slab();
  private readonly subs = new MemberSubs();
  private readonly decoder = new EvtDecoder();
  private readonly sidOf = new Map<QueueSubscription, number>();
  private readonly members = new Set<MemberView>();
  private readonly membersById = new Map<number, MemberView>();
  private readonly memberIds = new Map<string, number>();
  private congested = false;
  private flushScheduled = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private failuresLogged = false;
  private reconnects = 0;
  private everConnected = false;
  private readonly flushWaiters: FlushWaiter[] = [];
  private nextToken = 1;
  private closing: Promise<void> | undefined;

  constructor(opts: UnixBusOptions) {
    this.path = opts.path;
    this.url = `unix:${opts.path}`;
    this.name = opts.name ?? `decnet[${process.pid}]`;
    if (!isValidName(this.name)) throw new TypeError(`bus client name ${JSON.stringify(this.name)} must be 1 to 64 printable ASCII characters`);
    this.log = opts.log ?? createLogger('bus:client');
    this.queueFrames = opts.queueFrames ?? 1024;
    this.offlineFrames = opts.offlineFrames ?? 256;
    this.backoffInitialMs = opts.backoffInitialMs ?? 100;
    this.backoffMaxMs = opts.backoffMaxMs ?? 5000;
    this.out = new OutQueue(this.offlineFrames, opts.queueBytes ?? 8 * 1024 * 1024, this.onDropped);
  }

  member(name: string): MemberView {
    if (this.state === 'closed') throw new Error('the bus connection is closed');
    let id = this.memberIds.get(name);
    if (id === undefined) {
      id = this.memberIds.size + 1;
      if (id > 0xffff) throw new Error('too many bus members on one connection (limit 65535)');
      this.memberIds.set(name, id);
    }
    const view = new MemberView(this, name, id, (msg) => this.log.warn(msg));
    this.members.add(view);
    this.membersById.set(id, view);
    return view;
  }

  connected(): boolean {
    return this.state === 'open';
  }

  // ---- MemberHost ----

  send(member: MemberView, _topic: string, topicBytes: Buffer, type: string, json: string): void {
    if (this.state === 'closed') {
      member.sendDrops++;
      return;
    }
    this.ensureStarted();
    const fixed = 4 + PUB_FIXED + topicBytes.length + 1 + type.length;
    let frame: Buffer;
    if (json.length <= BIG_PAYLOAD) {
      const buf = this.slab.reserve(fixed + json.length * 3);
      const o = this.slab.offset;
      const p = this.writePubHeader(buf, o, member.id, topicBytes, type);
      const end = p + buf.write(json, p, 'utf8');
      buf.writeUInt32BE(end - o - 4, o);
      frame = this.slab.commit(end - o);
    } else {
      const payloadBytes = Buffer.byteLength(json);
      frame = Buffer.allocUnsafe(fixed + payloadBytes);
      const p = this.writePubHeader(frame, 0, member.id, topicBytes, type);
      frame.write(json, p, 'utf8');
      frame.writeUInt32BE(frame.length - 4, 0);
    }
    const dropped = this.out.push(frame);
    if (dropped > 0) this.onOutDrops(dropped);
    if (this.state !== 'open' || this.congested) return;
    // Write early when the batch grows large, so the queue bound only bites when the socket is congested.
    if (this.out.bytes >= EAGER_WRITE_BYTES || this.out.frames * 2 >= this.out.maxFrames) this.writeQueued(false);
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushTick);
    }
  }

  private writePubHeader(buf: Buffer, o: number, member: number, topicBytes: Buffer, type: string): number {
    buf[o + 4] = PUB;
    buf.writeUInt16BE(member, o + 5);
    buf.writeUInt16BE(topicBytes.length, o + 7);
    let p = o + 9;
    p += topicBytes.copy(buf, p);
    buf[p++] = type.length;
    if (type.length > 0) p += buf.write(type, p, 'latin1');
    return p;
  }

  /** Frames dropped from the outbound queue: attribute each to its publishing member. */
  private readonly onDropped = (mem: Buffer, start: number): void => {
    if (mem[start + 4] !== PUB) return;
    const m = this.membersById.get(mem.readUInt16BE(start + 5));
    if (m !== undefined) m.sendDrops++;
  };

  private onOutDrops(n: number): void {
    if (!this.failuresLogged || this.state === 'open') {
      this.log.debug(`bus outbound queue full; dropped ${n} oldest publication(s)`, { total: this.out.drops });
    }
  }

  attach(member: MemberView, sub: QueueSubscription): void {
    const sid = this.subs.newSid();
    this.sidOf.set(sub, sid);
    this.subs.add({ sid, member: member.id, pattern: sub.pattern, sub, owner: member });
    this.ensureStarted();
    if (this.state === 'open') this.sendControl(encodeSub(sid, member.id, sub.pattern));
  }

  detach(_member: MemberView, sub: QueueSubscription): void {
    const sid = this.sidOf.get(sub);
    if (sid === undefined) return;
    this.sidOf.delete(sub);
    this.subs.remove(sid);
    if (this.state === 'open') this.sendControl(encodeUnsub(sid));
  }

  isConnected(): boolean {
    return this.state === 'open';
  }

  reconnectCount(): number {
    return this.reconnects;
  }

  // ---- connection lifecycle ----

  private ensureStarted(): void {
    if (this.state === 'idle') this.connect();
  }

  private connect(): void {
    this.state = 'connecting';
    this.retryTimer = undefined;
    const socket = net.createConnection(this.path);
    this.socket = socket;
    this.congested = false;
    this.reader = new FrameReader((buf, s, e) => this.handleFrame(buf, s, e));
    socket.on('connect', () => this.onOpen(socket));
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('drain', () => {
      if (socket !== this.socket) return;
      this.congested = false;
      this.writeQueued(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.onError(socket, err));
    socket.on('close', () => this.onSocketClose(socket));
  }

  private onOpen(socket: net.Socket): void {
    if (socket !== this.socket || this.state !== 'connecting') return;
    this.state = 'open';
    if (this.everConnected) this.reconnects++;
    if (this.failuresLogged || this.everConnected) this.log.info('bus connected', { path: this.path, attempts: this.attempt + 1 });
    this.everConnected = true;
    this.failuresLogged = false;
    this.attempt = 0;
    this.out.maxFrames = this.queueFrames;
    socket.write(encodeHello(this.name));
    for (const entry of this.subs.all()) socket.write(encodeSub(entry.sid, entry.member, entry.pattern));
    this.writeQueued(false);
    for (const w of this.flushWaiters) if (!w.sent) this.sendPing(w);
  }

  private onError(socket: net.Socket, err: NodeJS.ErrnoException): void {
    if (socket !== this.socket) return;
    if (this.state === 'connecting') {
      if (!this.failuresLogged) {
        this.log.warn(`bus broker unreachable at ${this.path} (${err.code ?? err.message}); retrying with backoff`);
        this.failuresLogged = true;
      } else {
        this.log.debug('bus connect failed', { err: err.code ?? err.message });
      }
    } else {
      this.log.debug('bus socket error', { err: errorMessage(err) });
    }
  }

  private onSocketClose(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.reader = null;
    const wasOpen = this.state === 'open';
    if (this.state === 'closed') return;
    if (wasOpen) this.log.warn('bus connection lost; reconnecting', { path: this.path });
    // Flushes in flight cannot be confirmed any more; those not yet sent wait for the next connection.
    for (const w of [...this.flushWaiters]) if (w.sent) this.finishFlush(w, false);
    this.out.maxFrames = this.offlineFrames;
    const dropped = this.out.trimTo(this.offlineFrames);
    if (dropped > 0) this.onOutDrops(dropped);
    this.state = 'waiting';
    const base = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private onData(socket: net.Socket, chunk: Buffer): void {
    if (socket !== this.socket || this.reader === null) return;
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.log.error(`bad frame from the bus broker; reconnecting: ${errorMessage(err)}`);
      this.reader.stop();
      socket.destroy();
    }
  }

  private handleFrame(buf: Buffer, s: number, e: number): void {
    const verb = buf[s];
    if (verb === EVT) return this.onEvt(buf, s, e);
    switch (verb) {
      case PONG: {
        if (e - s !== 5) throw new ProtocolError('PONG frame must be 5 bytes');
        const token = buf.readUInt32BE(s + 1);
        const w = this.flushWaiters.find((x) => x.token === token);
        if (w !== undefined) this.finishFlush(w, true);
        return;
      }
      case PING:
        if (e - s !== 5) throw new ProtocolError('PING frame must be 5 bytes');
        this.sendControl(encodePing(PONG, buf.readUInt32BE(s + 1)));
        return;
      case BYE:
        // The broker is going away; reconnect once it is back.
        this.reader?.stop();
        this.socket?.end();
        return;
      default:
        throw new ProtocolError(`unexpected ${VERB_NAMES[verb] ?? `verb ${verb}`} from the broker`);
    }
  }

  private onEvt(buf: Buffer, s: number, e: number): void {
    const origin = buf[s + 1] & FLAG_ECHO ? buf.readUInt16BE(s + 2) : -1;
    this.decoder.load(buf, s, e);
    this.subs.deliver(this.decoder.topic, origin, this.decoder);
  }

  private readonly flushTick = (): void => {
    this.flushScheduled = false;
    this.writeQueued(false);
  };

  private writeQueued(force: boolean): void {
    const socket = this.socket;
    if (this.state !== 'open' || socket === null || (this.congested && !force) || this.out.empty) return;
    for (const b of this.out.takeAll()) if (!socket.write(b)) this.congested = true;
  }

  /** Control frames are never dropped: queued publications go first to keep order, then the frame. */
  private sendControl(frame: Buffer): void {
    if (this.state !== 'open' || this.socket === null) return;
    this.writeQueued(true);
    if (!this.socket.write(frame)) this.congested = true;
  }

  private sendPing(w: FlushWaiter): void {
    w.sent = true;
    this.sendControl(encodePing(PING, w.token));
  }

  private finishFlush(w: FlushWaiter, ok: boolean): void {
    const i = this.flushWaiters.indexOf(w);
    if (i < 0) return;
    this.flushWaiters.splice(i, 1);
    clearTimeout(w.timer);
    w.resolve(ok);
  }

  flush(timeoutMs = 5000): Promise<boolean> {
    if (this.state === 'closed') return Promise.resolve(false);
    this.ensureStarted();
    return new Promise<boolean>((resolve) => {
      const token = this.nextToken;
      this.nextToken = (this.nextToken + 1) >>> 0 || 1;
      const w: FlushWaiter = { token, resolve, sent: false, timer: setTimeout(() => this.finishFlush(w, false), timeoutMs) };
      this.flushWaiters.push(w);
      if (this.state === 'open') this.sendPing(w);
    });
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const socket = this.socket;
    const wasOpen = this.state === 'open';
    if (wasOpen) {
      this.writeQueued(true);
      socket!.write(encodeBye());
    }
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    for (const w of [...this.flushWaiters]) this.finishFlush(w, false);
    for (const m of this.members) m.endAll();
    this.members.clear();
    this.out.clear();
    if (socket !== null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          socket.destroy();
          resolve();
        }, 1000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        if (wasOpen) socket.end();
        else socket.destroy();
      });
    }
    this.socket = null;
  }
}

export function openUnixBus(opts: UnixBusOptions): UnixBusConnection {
  return new UnixBusConnection(opts);
}
