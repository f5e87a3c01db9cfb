// One member's Bus view of a shared connection (every transport uses it). The view checks the
// subject, type and payload (those errors throw), keeps the member's subscriptions so close()
// ends exactly them, and keeps the member's counters for health.
import type { Bus, BusStats, Payload, SubscribeOptions, Subscription } from './types.ts';
import { QueueSubscription } from './subscription.ts';
import { checkType, serialisePayload, subjectBytes } from './publish-check.ts';
import { assertPattern } from './subject.ts';

/** What a transport connection provides to its member views. */
export interface MemberHost {
  /** Sends a checked publication. Must not throw for transport problems. */
  send(member: MemberView, topic: string, topicBytes: Buffer, type: string, json: string): void;
  /** Registers a new subscription of `member` (pattern already checked). */
  attach(member: MemberView, sub: QueueSubscription): void;
  /** Removes a subscription that was closed by its consumer. */
  detach(member: MemberView, sub: QueueSubscription): void;
  isConnected(): boolean;
  reconnectCount(): number;
}

export class MemberView implements Bus {
  readonly member: string;
  /** The member's number on its connection (the no-echo identity). */
  readonly id: number;
  published = 0;
  received = 0;
  /** Publications of this member dropped by the transport (e.g. while disconnected). */
  sendDrops = 0;
  /** Drops counted by subscriptions that have since closed. */
  private pastDrops = 0;
  private readonly host: MemberHost;
  private readonly subs = new Set<QueueSubscription>();
  private closed = false;
  private warnedClosed = false;
  private readonly onWarn: (msg: string) => void;

  constructor(host: MemberHost, name: string, id: number, onWarn: (msg: string) => void) {
    this.host = host;
    this.member = name;
    this.id = id;
    this.onWarn = onWarn;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  publish(topic: string, payload: Payload, type = ''): void {
    const topicBytes = subjectBytes(topic);
    if (type !== '') checkType(type);
    const json = serialisePayload(payload);
    if (this.closed) {
      // Publishing after close is a shutdown race, not worth a crash: drop, say so once.
      this.sendDrops++;
      if (!this.warnedClosed) {
        this.warnedClosed = true;
        this.onWarn(`member ${this.member} published on ${topic} after closing; dropped`);
      }
      return;
    }
    this.published++;
    this.host.send(this, topic, topicBytes, type, json);
  }

  subscribe(pattern: string, opts?: SubscribeOptions): Subscription {
    assertPattern(pattern);
    if (this.closed) throw new Error(`member ${this.member} is closed; it cannot subscribe to ${pattern}`);
    const sub = new QueueSubscription(pattern, opts, (s) => {
      this.subs.delete(s);
      this.pastDrops += s.drops;
      this.host.detach(this, s);
    });
    if (sub.isClosed) return sub; // signal already aborted
    this.subs.add(sub);
    this.host.attach(this, sub);
    return sub;
  }

  stats(): BusStats {
    let drops = this.sendDrops + this.pastDrops;
    for (const s of this.subs) drops += s.drops;
    return { connected: this.host.isConnected(), published: this.published, received: this.received, drops, reconnects: this.host.reconnectCount() };
  }

  /** Ends this member's subscriptions without telling the transport (it is closing). */
  endAll(): void {
    this.closed = true;
    for (const s of this.subs) s.end();
    this.subs.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.subs]) s.close();
    this.subs.clear();
  }
}
