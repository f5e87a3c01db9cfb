// The subscriptions of one connection's members, on the client side of a transport (local and
// unix). Delivery re-matches each event against the local patterns (cached per topic) and skips
// the subscriptions of the member that published it: the no-echo rule between siblings.
import { subjectMatches } from './subject.ts';
import type { Envelope } from './types.ts';
import type { QueueSubscription } from './subscription.ts';

export interface MemberSub {
  readonly sid: number;
  readonly member: number;
  readonly pattern: string;
  readonly sub: QueueSubscription;
  /** The member's counters. */
  readonly owner: { received: number };
}

/** Builds the envelope of the event being delivered (called at most once per event). */
export interface EnvelopeSource {
  envelope(): Envelope;
}

const MAX_CACHED_TOPICS = 4096;

export class MemberSubs {
  private readonly bySid = new Map<number, MemberSub>();
  private readonly cache = new Map<string, MemberSub[]>();
  private nextSid = 1;

  get size(): number {
    return this.bySid.size;
  }

  newSid(): number {
    const sid = this.nextSid;
    this.nextSid = this.nextSid >= 0xffffffff ? 1 : this.nextSid + 1;
    return sid;
  }

  add(entry: MemberSub): void {
    this.bySid.set(entry.sid, entry);
    this.cache.clear();
  }

  remove(sid: number): MemberSub | undefined {
    const entry = this.bySid.get(sid);
    if (entry !== undefined) {
      this.bySid.delete(sid);
      this.cache.clear();
    }
    return entry;
  }

  all(): IterableIterator<MemberSub> {
    return this.bySid.values();
  }

  private matching(topic: string): MemberSub[] {
    let list = this.cache.get(topic);
    if (list === undefined) {
      list = [];
      for (const entry of this.bySid.values()) if (subjectMatches(entry.pattern, topic)) list.push(entry);
      if (this.cache.size >= MAX_CACHED_TOPICS) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(topic, list);
    }
    return list;
  }

  /** Would an event on `topic` from `originMember` (or -1) reach any subscription here? */
  wants(topic: string, originMember: number): boolean {
    for (const entry of this.matching(topic)) if (entry.member !== originMember) return true;
    return false;
  }

  /**
   * Pushes the event to every matching subscription except those of `originMember` (-1: none).
   * The envelope is built once, on first need, and shared: subscribers treat it as read-only.
   */
  deliver(topic: string, originMember: number, source: EnvelopeSource): number {
    const list = this.matching(topic);
    let ev: Envelope | undefined;
    let n = 0;
    for (let i = 0; i < list.length; i++) {
      const entry = list[i];
      if (entry.member === originMember) continue;
      ev ??= source.envelope();
      entry.sub.push(ev);
      entry.owner.received++;
      n++;
    }
    return n;
  }
}
