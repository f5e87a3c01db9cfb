// The bus broker: a UNIX socket server on top of the process router (router.ts). Each connection is
// one router endpoint. Frames are parsed in place from each read, events are encoded once and
// shared by every receiving connection, and each connection's outbound frames leave in one write
// per tick. A connection whose peer does not keep up queues at most `queueFrames` frames and then
// drops its oldest (counted); nothing a peer does can block a publisher or disturb another peer.
import net from 'node:net';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createLogger, type Logger } from '../core/log.ts';
import { DecnetError, errorMessage } from '../core/errors.ts';
import { MAX_BODY_BYTES } from './types.ts';
import { MAX_SUBJECT_BYTES, SubjectError } from './subject.ts';
import {
  BYE,
  EVT,
  FrameReader,
  HELLO,
  MAX_TYPE_BYTES,
  PING,
  PONG,
  PROTOCOL_VERSION,
  PUB,
  PUB_FIXED,
  ProtocolError,
  SUB,
  UNSUB,
  VERB_NAMES,
  encodeBye,
  encodePing,
  isValidTypeBytes,
} from './frame.ts';
import { isJsonObject } from './json-check.ts';
import { OutQueue } from './out-queue.ts';
import { processRouter, type RoutedEvent, type Router, type RouterEndpoint } from './router.ts';

export interface BrokerOptions {
  /** Socket path; its parent directory is created if missing. */
  path: string;
  /** Give the socket to this group (best effort; kept as is if the group is unknown or not ours). */
  group?: string;
  /** The router to serve (default: this process's router, shared with `local:` connections). */
  router?: Router;
  /** Per-connection outbound queue: frames (default 1024) and bytes (default 8 MiB). */
  queueFrames?: number;
  queueBytes?: number;
  maxConnections?: number;
  maxSubscriptionsPerConnection?: number;
  /** A connection must say HELLO within this time (default 10 s). */
  helloTimeoutMs?: number;
  log?: Logger;
}

export interface BrokerStats {
  connections: number;
  accepted: number;
  subscriptions: number;
  published: number;
  delivered: number;
  drops: number;
  protocol_errors: number;
}

/** Longest path a UNIX socket address holds on Linux (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;
/** Above this many queued bytes a connection writes at once instead of waiting for the tick's end. */
const EAGER_WRITE_BYTES = 64 * 1024;
const DROP_LOG_INTERVAL_MS = 10_000;

function readUtf8(buf: Buffer, start: number, end: number, what: string): string {
  const text = buf.toString('utf8', start, end);
  if (Buffer.byteLength(text) !== end - start || !Buffer.from(text, 'utf8').equals(buf.subarray(start, end))) {
    throw new ProtocolError(`${what} is not valid UTF-8`);
  }
  return text;
}

class BrokerConnection implements RouterEndpoint {
  readonly id: number;
  name = '';
  private readonly broker: Broker;
  private readonly socket: net.Socket;
  private readonly reader: FrameReader;
  readonly out: OutQueue;
  private helloed = false;
  private helloTimer: NodeJS.Timeout | undefined;
  private congested = false;
  flushQueued = false;
  closed = false;
  private lastDropLog = 0;
  private dropsSinceLog = 0;

  constructor(broker: Broker, socket: net.Socket, id: number) {
    this.broker = broker;
    this.socket = socket;
    this.id = id;
    this.out = new OutQueue(broker.queueFrames, broker.queueBytes);
    this.reader = new FrameReader((buf, start, end) => this.handleFrame(buf, start, end));
    this.helloTimer = setTimeout(() => this.fail(`no HELLO within ${broker.helloTimeoutMs} ms`), broker.helloTimeoutMs);
    this.helloTimer.unref();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.congested = false;
      this.flushNow(false);
    });
    socket.on('error', (err) => this.broker.log.debug('connection error', { conn: this.label, err: errorMessage(err) }));
    socket.on('close', () => this.onClose());
  }

  get label(): string {
    return this.name ? `${this.name}#${this.id}` : `#${this.id}`;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.reader.push(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) this.fail(err.message);
      else {
        this.broker.log.error('unexpected error handling a frame; closing the connection', { conn: this.label, err });
        this.fail('internal error');
      }
    }
  }

  /** Closes this connection for a protocol violation (other connections are untouched). */
  fail(reason: string): void {
    if (this.closed) return;
    this.broker.protocolErrors++;
    this.broker.log.warn(`closing bus connection ${this.label}: ${reason}`);
    this.reader.stop();
    this.closed = true;
    this.socket.destroy();
  }

  private handleFrame(buf: Buffer, s: number, e: number): void {
    const verb = buf[s];
    if (verb === PUB && this.helloed) return this.onPub(buf, s, e);
    if (!this.helloed && verb !== HELLO) throw new ProtocolError(`expected HELLO first, got ${VERB_NAMES[verb] ?? `verb ${verb}`}`);
    switch (verb) {
      case HELLO:
        return this.onHello(buf, s, e);
      case SUB:
        return this.onSub(buf, s, e);
      case UNSUB:
        if (e - s !== 5) throw new ProtocolError('UNSUB frame must be 5 bytes');
        this.broker.router.unsubscribe(this, buf.readUInt32BE(s + 1));
        return;
      case PING:
        if (e - s !== 5) throw new ProtocolError('PING frame must be 5 bytes');
        this.sendControl(encodePing(PONG, buf.readUInt32BE(s + 1)));
        return;
      case PONG:
        return;
      case BYE:
        this.reader.stop();
        this.end();
        return;
      case EVT:
        throw new ProtocolError('clients may not send EVT');
      default:
        throw new ProtocolError(`unknown verb ${verb}`);
    }
  }

  private onHello(buf: Buffer, s: number, e: number): void {
    if (this.helloed) throw new ProtocolError('second HELLO');
    if (e - s < 3) throw new ProtocolError('HELLO frame too short');
    const version = buf[s + 1];
    if (version !== PROTOCOL_VERSION) throw new ProtocolError(`protocol version ${version} is not supported (this broker speaks ${PROTOCOL_VERSION})`);
    const len = buf[s + 2];
    if (len === 0 || s + 3 + len !== e) throw new ProtocolError('HELLO name length does not match the frame');
    for (let i = s + 3; i < e; i++) if (buf[i] < 0x20 || buf[i] > 0x7e) throw new ProtocolError('HELLO name must be printable ASCII');
    this.name = buf.toString('latin1', s + 3, e);
    this.helloed = true;
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.broker.log.debug('client connected', { conn: this.label });
  }

  private onSub(buf: Buffer, s: number, e: number): void {
    if (e - s < 10) throw new ProtocolError('SUB frame too short');
    const sid = buf.readUInt32BE(s + 1);
    const member = buf.readUInt16BE(s + 5);
    const len = buf.readUInt16BE(s + 7);
    if (len === 0 || len > MAX_SUBJECT_BYTES || s + 9 + len !== e) throw new ProtocolError('SUB pattern length is invalid');
    const pattern = readUtf8(buf, s + 9, e, 'SUB pattern');
    if (this.broker.router.subscriptionsOf(this) >= this.broker.maxSubscriptions) {
      throw new ProtocolError(`more than ${this.broker.maxSubscriptions} subscriptions on one connection`);
    }
    try {
      this.broker.router.subscribe(this, sid, member, pattern);
    } catch (err) {
      throw new ProtocolError(`SUB: ${errorMessage(err)}`);
    }
  }

  private onPub(buf: Buffer, s: number, e: number): void {
    if (e - s < PUB_FIXED + 1) throw new ProtocolError('PUB frame too short');
    const member = buf.readUInt16BE(s + 1);
    const topicLen = buf.readUInt16BE(s + 3);
    const topicStart = s + PUB_FIXED;
    const topicEnd = topicStart + topicLen;
    if (topicLen === 0 || topicLen > MAX_SUBJECT_BYTES || topicEnd >= e) throw new ProtocolError('PUB topic length is invalid');
    const typeLen = buf[topicEnd];
    const typeStart = topicEnd + 1;
    const typeEnd = typeStart + typeLen;
    if (typeLen > MAX_TYPE_BYTES || typeEnd > e || !isValidTypeBytes(buf, typeStart, typeEnd)) throw new ProtocolError('PUB type is invalid');
    if (e - typeEnd > MAX_BODY_BYTES) throw new ProtocolError(`PUB payload is larger than ${MAX_BODY_BYTES} bytes`);
    if (!isJsonObject(buf, typeEnd, e)) throw new ProtocolError('PUB payload is not a JSON object');
    const router = this.broker.router;
    const topic = buf.toString('utf8', topicStart, topicEnd);
    let route = router.cached(topic);
    if (route === undefined) {
      readUtf8(buf, topicStart, topicEnd, 'PUB topic');
      try {
        route = router.route(topic);
      } catch (err) {
        if (err instanceof SubjectError) throw new ProtocolError(`PUB: ${err.message}`);
        throw err;
      }
    }
    router.publishBytes(route, buf, typeStart, typeEnd, typeEnd, e, this, member);
  }

  // RouterEndpoint

  deliver(ev: RoutedEvent, originMember: number): void {
    if (this.closed) return;
    const dropped = this.out.push(originMember >= 0 ? ev.echoFrame(originMember) : ev.frame());
    if (dropped > 0) this.noteDrops(dropped);
    if (this.congested) return; // 'drain' writes the queue
    // Write early when a tick's batch grows large, so the queue bound only ever bites a peer that
    // is really behind (its socket is congested), never a burst read in a single tick.
    if (this.out.bytes >= EAGER_WRITE_BYTES || this.out.frames * 2 >= this.out.maxFrames) this.flushNow(false);
    else if (!this.flushQueued) this.broker.queueFlush(this);
  }

  private noteDrops(n: number): void {
    this.dropsSinceLog += n;
    const now = Date.now();
    if (now - this.lastDropLog >= DROP_LOG_INTERVAL_MS) {
      this.broker.log.warn(`bus connection ${this.label} is not keeping up; dropped its oldest events`, { dropped: this.dropsSinceLog, total: this.out.drops });
      this.lastDropLog = now;
      this.dropsSinceLog = 0;
    }
  }

  /** Writes everything queued. `force` writes even while the peer is congested (control frames). */
  flushNow(force: boolean): void {
    this.flushQueued = false;
    if (this.closed || (this.congested && !force) || this.out.empty) return;
    for (const b of this.out.takeAll()) {
      if (!this.socket.write(b)) this.congested = true;
    }
  }

  private sendControl(frame: Buffer): void {
    if (this.closed) return;
    this.flushNow(true);
    if (!this.socket.write(frame)) this.congested = true;
  }

  /** Polite close: queued events, then BYE, then end. */
  end(): void {
    if (this.closed) return;
    this.sendControl(encodeBye());
    this.closed = true;
    this.socket.end();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onClose(): void {
    this.closed = true;
    clearTimeout(this.helloTimer);
    this.broker.detach(this);
    this.broker.log.debug('client disconnected', { conn: this.label });
  }
}

/** gid of a group named in /etc/group, or undefined. */
function lookupGroupId(name: string): number | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields.length >= 3) {
      const gid = Number(fields[2]);
      return Number.isInteger(gid) ? gid : undefined;
    }
  }
  return undefined;
}

/** Is something accepting connections on this socket path? */
function probe(path: string): Promise<'live' | 'stale'> {
  return new Promise((resolvePromise, reject) => {
    const s = net.createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolvePromise('live');
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolvePromise('stale');
      else reject(new DecnetError(`cannot check the existing bus socket ${path}: ${err.message}`));
    });
  });
}

export class Broker {
  readonly path: string;
  readonly router: Router;
  readonly log: Logger;
  readonly queueFrames: number;
  readonly queueBytes: number;
  readonly maxConnections: number;
  readonly maxSubscriptions: number;
  readonly helloTimeoutMs: number;
  readonly startedAt = Date.now();
  protocolErrors = 0;
  private accepted = 0;
  private closedDrops = 0;
  private readonly connections = new Set<BrokerConnection>();
  private readonly server: net.Server;
  private dirty: BrokerConnection[] = [];
  private tickQueued = false;
  private socketIdentity: { dev: number; ino: number } | undefined;
  private closing: Promise<void> | undefined;
  private lastRefusalLog = 0;

  private constructor(opts: BrokerOptions, path: string) {
    this.path = path;
    this.router = opts.router ?? processRouter();
    this.log = opts.log ?? createLogger('bus');
    this.queueFrames = opts.queueFrames ?? 1024;
    this.queueBytes = opts.queueBytes ?? 8 * 1024 * 1024;
    this.maxConnections = opts.maxConnections ?? 1024;
    this.maxSubscriptions = opts.maxSubscriptionsPerConnection ?? 10_000;
    this.helloTimeoutMs = opts.helloTimeoutMs ?? 10_000;
    this.server = net.createServer({ allowHalfOpen: false }, (socket) => this.onConnection(socket));
  }

  /** Starts a broker on `opts.path`. Refuses clearly if a live broker owns the path. */
  static async start(opts: BrokerOptions): Promise<Broker> {
    const path = resolve(opts.path);
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      throw new DecnetError(`bus socket path ${path} is ${Buffer.byteLength(path)} bytes; UNIX sockets allow at most ${MAX_SOCKET_PATH}. Choose a shorter --socket or DECNET_RUN_DIR`, 2);
    }
    const broker = new Broker(opts, path);
    await broker.listen(opts.group);
    return broker;
  }

  private async listen(group: string | undefined): Promise<void> {
    const path = this.path;
    const dir = dirname(path);
    let createdDir: string | undefined;
    try {
      createdDir = mkdirSync(dir, { recursive: true, mode: 0o750 });
    } catch (err) {
      throw new DecnetError(`cannot create the bus socket directory ${dir}: ${errorMessage(err)}`);
    }
    let existing;
    try {
      existing = lstatSync(path);
    } catch {
      existing = undefined;
    }
    if (existing !== undefined) {
      if (!existing.isSocket()) throw new DecnetError(`${path} exists and is not a socket; remove it or choose another --socket`, 2);
      if ((await probe(path)) === 'live') throw new DecnetError(`a bus broker is already listening on ${path}`, 2);
      this.log.info('removing a stale bus socket', { path });
      try {
        unlinkSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new DecnetError(`cannot remove the stale bus socket ${path}: ${errorMessage(err)}`);
      }
    }
    // Bind under a private name, set mode and group, then rename into place: the socket is never
    // reachable with the looser permissions it is created with.
    const tmp = join(dir, `.${basename(path)}.${process.pid.toString(36)}`);
    const bindPath = Buffer.byteLength(tmp) <= MAX_SOCKET_PATH ? tmp : path;
    if (bindPath === tmp) {
      try {
        unlinkSync(tmp);
      } catch {
        // normally absent
      }
    }
    await new Promise<void>((ok, fail) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        fail(new DecnetError(`cannot listen on ${bindPath}: ${err.message}`));
      };
      this.server.once('error', onError);
      this.server.listen(bindPath, () => {
        this.server.off('error', onError);
        ok();
      });
    });
    this.server.on('error', (err) => this.log.error('bus server error', { err }));
    chmodSync(bindPath, 0o660);
    const gid = group ? lookupGroupId(group) : undefined;
    if (group && gid === undefined) this.log.debug(`group ${group} does not exist; the socket keeps this process's group`);
    if (gid !== undefined) {
      try {
        chownSync(bindPath, -1, gid);
        if (createdDir !== undefined) chownSync(dir, -1, gid);
      } catch (err) {
        this.log.debug(`cannot give the socket to group ${group}; keeping this process's group`, { err: errorMessage(err) });
      }
    }
    if (bindPath !== path) renameSync(bindPath, path);
    const st = statSync(path);
    this.socketIdentity = { dev: st.dev, ino: st.ino };
    this.log.info('bus broker listening', { path, pid: process.pid });
  }

  private onConnection(socket: net.Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.maxConnections) {
      const now = Date.now();
      if (now - this.lastRefusalLog > DROP_LOG_INTERVAL_MS) {
        this.lastRefusalLog = now;
        this.log.warn(`refusing a bus connection: already ${this.connections.size} (the limit)`);
      }
      socket.destroy();
      return;
    }
    this.accepted++;
    this.connections.add(new BrokerConnection(this, socket, this.accepted));
  }

  queueFlush(conn: BrokerConnection): void {
    conn.flushQueued = true;
    this.dirty.push(conn);
    if (!this.tickQueued) {
      this.tickQueued = true;
      setImmediate(this.flushDirty);
    }
  }

  private readonly flushDirty = (): void => {
    this.tickQueued = false;
    const dirty = this.dirty;
    this.dirty = [];
    for (const conn of dirty) if (conn.flushQueued) conn.flushNow(false);
  };

  detach(conn: BrokerConnection): void {
    if (!this.connections.delete(conn)) return;
    this.closedDrops += conn.out.drops;
    this.router.removeEndpoint(conn);
  }

  stats(): BrokerStats {
    let drops = this.closedDrops;
    for (const c of this.connections) drops += c.out.drops;
    const r = this.router.stats();
    return {
      connections: this.connections.size,
      accepted: this.accepted,
      subscriptions: r.subscriptions,
      published: r.published,
      delivered: r.delivered,
      drops,
      protocol_errors: this.protocolErrors,
    };
  }

  /** Stops accepting, says BYE to every client, removes the socket file. Idempotent. */
  close(graceMs = 1000): Promise<void> {
    this.closing ??= this.doClose(graceMs);
    return this.closing;
  }

  private async doClose(graceMs: number): Promise<void> {
    const serverClosed = new Promise<void>((ok) => this.server.close(() => ok()));
    for (const c of this.connections) c.end();
    const timer = setTimeout(() => {
      for (const c of this.connections) c.destroy();
    }, graceMs);
    await serverClosed;
    clearTimeout(timer);
    for (const c of [...this.connections]) this.detach(c);
    // Remove the socket file only if it is still ours (a new broker may have taken the path).
    try {
      const st = statSync(this.path);
      if (this.socketIdentity && st.dev === this.socketIdentity.dev && st.ino === this.socketIdentity.ino) unlinkSync(this.path);
    } catch {
      // already gone
    }
    this.log.info('bus broker stopped', { path: this.path });
  }
}

export function startBroker(opts: BrokerOptions): Promise<Broker> {
  return Broker.start(opts);
}
