// `nats://` transport: the members of this process share one NATS connection. The NATS client
// library is imported here only, when the connection is first used. There is no broker of ours, so
// the publishing client assigns the envelope id and ts; each message body is the envelope JSON.
//
// No echo between members on one connection: every envelope carries `origin`, a random token of
// this connection plus the publishing member's number. A subscriber skips events whose origin is
// its own member on this connection (NATS's own noEcho would also silence sibling members, so it
// stays off). Reconnection and re-subscription are the library's.
import type { NatsConnection, Subscription as NatsSubscription } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import type { BusConnection, Envelope, Payload } from './types.ts';
import { MemberView, type MemberHost } from './member-view.ts';
import type { QueueSubscription } from './subscription.ts';
import { PayloadTooLargeError } from './publish-check.ts';
import { uuidv7 } from '../core/ids.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { errorMessage } from '../core/errors.ts';

export interface NatsBusOptions {
  /** nats://host:port (several servers: comma-separated). */
  url: string;
  name?: string;
  /** Publications held while the first connection is being made (default 256, oldest dropped). */
  offlineFrames?: number;
  log?: Logger;
}

interface PendingPub {
  member: MemberView;
  topic: string;
  body: string;
}

interface LocalSub {
  member: MemberView;
  sub: QueueSubscription;
  nats: NatsSubscription | undefined;
}

export class NatsBusConnection implements BusConnection, MemberHost {
  readonly url: string;
  private readonly servers: string[];
  private readonly name: string;
  private readonly log: Logger;
  private readonly offlineFrames: number;
  /** Identifies this connection in `origin` (no-echo between its members). */
  private readonly token = randomBytes(9).toString('base64url');
  private nc: NatsConnection | undefined;
  private starting: Promise<NatsConnection | undefined> | undefined;
  private closed = false;
  private isUp = false;
  private reconnects = 0;
  private pending: PendingPub[] = [];
  private readonly locals = new Map<QueueSubscription, LocalSub>();
  private readonly members = new Set<MemberView>();
  private readonly memberIds = new Map<string, number>();
  private maxPayload = 1024 * 1024;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryWake: (() => void) | undefined;

  constructor(opts: NatsBusOptions) {
    this.url = opts.url;
    this.servers = opts.url.split(',').map((s) => s.trim()).filter(Boolean);
    this.name = opts.name ?? `decnet[${process.pid}]`;
    this.log = opts.log ?? createLogger('bus:nats');
    this.offlineFrames = opts.offlineFrames ?? 256;
  }

  member(name: string): MemberView {
    if (this.closed) throw new Error('the bus connection is closed');
    let id = this.memberIds.get(name);
    if (id === undefined) {
      id = this.memberIds.size + 1;
      this.memberIds.set(name, id);
    }
    const view = new MemberView(this, name, id, (msg) => this.log.warn(msg));
    this.members.add(view);
    return view;
  }

  /** Connects on first use; retries with backoff (100 ms doubling to 5 s) until closed. */
  private start(): Promise<NatsConnection | undefined> {
    this.starting ??= this.connectLoop();
    return this.starting;
  }

  private async connectLoop(): Promise<NatsConnection | undefined> {
    const { connect } = await import('@nats-io/transport-node');
    let attempt = 0;
    while (!this.closed) {
      try {
        const nc = await connect({
          servers: this.servers,
          name: this.name,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          reconnectJitter: 250,
          pingInterval: 30_000,
        });
        if (this.closed) {
          await nc.close();
          return undefined;
        }
        if (attempt > 0) this.log.info('connected to NATS', { url: this.url, attempts: attempt + 1 });
        this.nc = nc;
        this.isUp = true;
        this.maxPayload = nc.info?.max_payload ?? this.maxPayload;
        void this.watch(nc);
        for (const local of this.locals.values()) this.natsSubscribe(nc, local);
        const pending = this.pending;
        this.pending = [];
        for (const p of pending) this.publishNow(nc, p.member, p.topic, p.body);
        return nc;
      } catch (err) {
        if (attempt === 0) this.log.warn(`cannot connect to NATS at ${this.url} (${errorMessage(err)}); retrying with backoff`);
        const delay = Math.min(5000, 100 * 2 ** Math.min(attempt, 6)) * (0.75 + Math.random() * 0.5);
        attempt++;
        await new Promise<void>((resolve) => {
          this.retryWake = resolve;
          this.retryTimer = setTimeout(resolve, delay);
        });
      }
    }
    return undefined;
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.isUp = false;
        this.log.warn('NATS connection lost; the client reconnects', { server: s.server });
      } else if (s.type === 'reconnect') {
        this.isUp = true;
        this.reconnects++;
        this.maxPayload = nc.info?.max_payload ?? this.maxPayload;
        this.log.info('NATS reconnected', { server: s.server });
      } else if (s.type === 'slowConsumer') {
        this.log.warn('NATS reports a slow consumer', { pending: s.pending });
      }
    }
    this.isUp = false;
  }

  // ---- MemberHost ----

  send(member: MemberView, topic: string, _topicBytes: Buffer, type: string, json: string): void {
    if (this.closed) {
      member.sendDrops++;
      return;
    }
    // The topic is a checked subject and the type printable ASCII, but either may hold a '"' or '\'.
    const body =
      '{"v":1,"id":"' + uuidv7() + '","topic":' + JSON.stringify(topic) + ',"type":' + JSON.stringify(type) + ',"ts":' + Date.now() +
      ',"origin":"' + this.token + '.' + member.id + '","payload":' + json + '}';
    if (body.length * 3 > this.maxPayload) {
      const bytes = Buffer.byteLength(body);
      if (bytes > this.maxPayload) throw new PayloadTooLargeError(bytes - (body.length - json.length));
    }
    const nc = this.nc;
    if (nc === undefined) {
      if (this.pending.length >= this.offlineFrames) this.pending.shift()!.member.sendDrops++;
      this.pending.push({ member, topic, body });
      void this.start();
      return;
    }
    this.publishNow(nc, member, topic, body);
  }

  private publishNow(nc: NatsConnection, member: MemberView, topic: string, body: string): void {
    try {
      nc.publish(topic, Buffer.from(body, 'utf8')); // Buffer.from beats the library's TextEncoder path
    } catch (err) {
      member.sendDrops++;
      this.log.debug('NATS publish failed', { topic, err: errorMessage(err) });
    }
  }

  attach(member: MemberView, sub: QueueSubscription): void {
    const local: LocalSub = { member, sub, nats: undefined };
    this.locals.set(sub, local);
    if (this.nc !== undefined) this.natsSubscribe(this.nc, local);
    else void this.start();
  }

  detach(_member: MemberView, sub: QueueSubscription): void {
    const local = this.locals.get(sub);
    if (local === undefined) return;
    this.locals.delete(sub);
    try {
      local.nats?.unsubscribe();
    } catch {
      // connection already closed
    }
  }

  private natsSubscribe(nc: NatsConnection, local: LocalSub): void {
    const self = `${this.token}.${local.member.id}`;
    local.nats = nc.subscribe(local.sub.pattern, {
      callback: (err, msg) => {
        if (err !== null) {
          this.log.debug('NATS subscription error', { pattern: local.sub.pattern, err: errorMessage(err) });
          return;
        }
        let body: Record<string, unknown>;
        try {
          const data = msg.data;
          body = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as Record<string, unknown>;
        } catch {
          this.log.debug('ignoring a NATS message that is not JSON', { subject: msg.subject });
          return;
        }
        if (body === null || typeof body !== 'object') return;
        if (body.origin === self) return; // no echo to the publishing member
        const payload = body.payload;
        if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
          this.log.debug('ignoring a NATS message without an object payload', { subject: msg.subject });
          return;
        }
        const ev: Envelope = {
          v: 1,
          id: typeof body.id === 'string' ? body.id : uuidv7(),
          topic: msg.subject, // from the transport, never from the body
          type: typeof body.type === 'string' ? body.type : '',
          ts: typeof body.ts === 'number' ? body.ts : Date.now(),
          payload: payload as Payload,
        };
        local.member.received++;
        local.sub.push(ev);
      },
    });
  }

  isConnected(): boolean {
    return this.isUp && this.nc !== undefined && !this.nc.isClosed();
  }

  reconnectCount(): number {
    return this.reconnects;
  }

  // ---- BusConnection ----

  connected(): boolean {
    return this.isConnected();
  }

  async flush(timeoutMs = 5000): Promise<boolean> {
    if (this.closed) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([
        (async () => {
          const nc = await this.start();
          if (nc === undefined) return false;
          await nc.flush();
          return true;
        })().catch(() => false),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.members) m.endAll();
    this.members.clear();
    this.locals.clear();
    this.pending = [];
    clearTimeout(this.retryTimer);
    this.retryWake?.();
    const nc = this.nc;
    if (nc !== undefined && !nc.isClosed()) {
      try {
        await nc.flush();
      } catch {
        // closing anyway
      }
      await nc.close();
    }
  }
}
