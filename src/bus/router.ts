// The in-process fan-out core of the bus. Endpoints (a broker socket connection, or the local
// connection of this process's workers) register subscriptions tagged with the member that owns
// them. publish() stamps the envelope id (UUIDv7) and ts ONCE and hands the event to every
// endpoint with a matching subscription, except that an event never goes back to the member that
// published it: the origin endpoint gets it only if a sibling member there subscribes.
//
// Matching is cached per topic (cleared on any subscription change), so a publish costs one map
// lookup plus one delivery per interested endpoint. Endpoints that speak the wire protocol share
// one encoded EVT frame; in-process endpoints share one parsed envelope.
import { assertPattern, assertSubject, subjectMatches } from './subject.ts';
import { formatUuid, uuidv7, uuidv7Bytes } from '../core/ids.ts';
import { EVT, EVT_FIXED, FLAG_ECHO, Slab } from './frame.ts';
import type { Envelope, Payload } from './types.ts';

export interface RouterEndpoint {
  /** Called synchronously during publish. `originMember` is the publishing member when this
   * endpoint is the event's origin, else -1. Must not keep `ev` beyond the call. */
  deliver(ev: RoutedEvent, originMember: number): void;
}

interface SubEntry {
  ep: RouterEndpoint;
  sid: number;
  member: number;
  pattern: string;
}

interface Target {
  ep: RouterEndpoint;
  /** Distinct members of `ep` with a matching subscription. */
  members: number[];
}

/** Everything publish needs to know about one topic. */
export interface TopicRoute {
  readonly topic: string;
  readonly topicBytes: Buffer;
  readonly targets: Target[];
}

const MAX_CACHED_TOPICS = 8192;

/** One event being fanned out. Its payload and type may be views into a read buffer, so it is
 * only valid during the publish call; frame() and envelope() produce what may be kept. */
export class RoutedEvent {
  readonly route: TopicRoute;
  readonly ts: number;
  private readonly slab: Slab;
  // Either text (in-process publisher) or a byte range of `src` (socket publisher).
  private readonly typeText: string | undefined;
  private readonly payloadText: string | undefined;
  private readonly src: Buffer | undefined;
  private readonly typeStart: number;
  private readonly typeEnd: number;
  private readonly payloadStart: number;
  private readonly payloadEnd: number;
  private idText: string | undefined;
  private evtFrame: Buffer | undefined;
  private env: Envelope | undefined;

  constructor(
    route: TopicRoute,
    slab: Slab,
    typeText: string | undefined,
    payloadText: string | undefined,
    src: Buffer | undefined,
    typeStart: number,
    typeEnd: number,
    payloadStart: number,
    payloadEnd: number,
  ) {
    this.route = route;
    this.slab = slab;
    this.ts = Date.now();
    this.typeText = typeText;
    this.payloadText = payloadText;
    this.src = src;
    this.typeStart = typeStart;
    this.typeEnd = typeEnd;
    this.payloadStart = payloadStart;
    this.payloadEnd = payloadEnd;
  }

  get topic(): string {
    return this.route.topic;
  }

  get type(): string {
    return this.typeText ?? this.src!.toString('latin1', this.typeStart, this.typeEnd);
  }

  get id(): string {
    if (this.idText === undefined) {
      if (this.evtFrame !== undefined) this.idText = formatUuid(this.evtFrame, 8);
      else this.idText = uuidv7(this.ts);
    }
    return this.idText;
  }

  /** The EVT frame for connections other than the origin (encoded once, shared). */
  frame(): Buffer {
    if (this.evtFrame !== undefined) return this.evtFrame;
    const topicBytes = this.route.topicBytes;
    const typeLen = this.typeText !== undefined ? this.typeText.length : this.typeEnd - this.typeStart;
    const payloadMax = this.payloadText !== undefined ? this.payloadText.length * 3 : this.payloadEnd - this.payloadStart;
    const buf = this.slab.reserve(4 + EVT_FIXED + topicBytes.length + 1 + typeLen + payloadMax);
    const o = this.slab.offset;
    buf[o + 4] = EVT;
    buf[o + 5] = 0;
    buf[o + 6] = 0;
    buf[o + 7] = 0;
    if (this.idText === undefined) uuidv7Bytes(buf, o + 8, this.ts);
    else buf.write(this.idText.replaceAll('-', ''), o + 8, 16, 'hex');
    buf.writeDoubleBE(this.ts, o + 24);
    buf.writeUInt16BE(topicBytes.length, o + 32);
    let p = o + 34;
    topicBytes.copy(buf, p);
    p += topicBytes.length;
    buf[p++] = typeLen;
    if (this.typeText !== undefined) p += buf.write(this.typeText, p, 'latin1');
    else p += this.src!.copy(buf, p, this.typeStart, this.typeEnd);
    if (this.payloadText !== undefined) p += buf.write(this.payloadText, p, 'utf8');
    else p += this.src!.copy(buf, p, this.payloadStart, this.payloadEnd);
    buf.writeUInt32BE(p - o - 4, o);
    this.evtFrame = this.slab.commit(p - o);
    return this.evtFrame;
  }

  /** The EVT frame for the origin connection: flagged ECHO with the publishing member, so the
   * client delivers it to that member's siblings only. */
  echoFrame(member: number): Buffer {
    const base = this.frame();
    const buf = this.slab.reserve(base.length);
    const o = this.slab.offset;
    base.copy(buf, o);
    buf[o + 5] = FLAG_ECHO;
    buf.writeUInt16BE(member, o + 6);
    return this.slab.commit(base.length);
  }

  /** The parsed envelope for in-process subscribers (built once, shared, to be treated as read-only). */
  envelope(): Envelope {
    if (this.env === undefined) {
      const text = this.payloadText ?? this.src!.toString('utf8', this.payloadStart, this.payloadEnd);
      this.env = { v: 1, id: this.id, topic: this.route.topic, type: this.type, ts: this.ts, payload: JSON.parse(text) as Payload };
    }
    return this.env;
  }
}

export interface RouterStats {
  published: number;
  /** Deliveries to endpoints (one per interested connection per event). */
  delivered: number;
  subscriptions: number;
}

export class Router {
  private readonly byPattern = new Map<string, SubEntry[]>();
  private readonly byEndpoint = new Map<RouterEndpoint, Map<number, SubEntry>>();
  private readonly routes = new Map<string, TopicRoute>();
  private readonly slab = new Slab();
  private subscriptionCount = 0;
  published = 0;
  delivered = 0;

  stats(): RouterStats {
    return { published: this.published, delivered: this.delivered, subscriptions: this.subscriptionCount };
  }

  /** Registers subscription `sid` of `ep` for `member`. Throws SubjectError for a bad pattern. */
  subscribe(ep: RouterEndpoint, sid: number, member: number, pattern: string): void {
    assertPattern(pattern);
    let subs = this.byEndpoint.get(ep);
    if (subs === undefined) {
      subs = new Map();
      this.byEndpoint.set(ep, subs);
    }
    if (subs.has(sid)) throw new Error(`subscription id ${sid} is already in use on this connection`);
    const entry: SubEntry = { ep, sid, member, pattern };
    subs.set(sid, entry);
    const list = this.byPattern.get(pattern);
    if (list === undefined) this.byPattern.set(pattern, [entry]);
    else list.push(entry);
    this.subscriptionCount++;
    this.routes.clear();
  }

  unsubscribe(ep: RouterEndpoint, sid: number): boolean {
    const subs = this.byEndpoint.get(ep);
    const entry = subs?.get(sid);
    if (entry === undefined) return false;
    subs!.delete(sid);
    this.forget(entry);
    return true;
  }

  /** Removes every subscription of an endpoint (its connection closed). */
  removeEndpoint(ep: RouterEndpoint): void {
    const subs = this.byEndpoint.get(ep);
    if (subs === undefined) return;
    this.byEndpoint.delete(ep);
    for (const entry of subs.values()) this.forget(entry);
  }

  subscriptionsOf(ep: RouterEndpoint): number {
    return this.byEndpoint.get(ep)?.size ?? 0;
  }

  private forget(entry: SubEntry): void {
    const list = this.byPattern.get(entry.pattern)!;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byPattern.delete(entry.pattern);
    this.subscriptionCount--;
    this.routes.clear();
  }

  /** The cached route of a topic already seen, if any. */
  cached(topic: string): TopicRoute | undefined {
    return this.routes.get(topic);
  }

  /** The route of a topic (validated and matched on first use). Throws SubjectError. */
  route(topic: string): TopicRoute {
    let route = this.routes.get(topic);
    if (route !== undefined) return route;
    assertSubject(topic);
    const targets: Target[] = [];
    for (const [pattern, entries] of this.byPattern) {
      if (!subjectMatches(pattern, topic)) continue;
      for (const entry of entries) {
        let target = targets.find((t) => t.ep === entry.ep);
        if (target === undefined) {
          target = { ep: entry.ep, members: [] };
          targets.push(target);
        }
        if (!target.members.includes(entry.member)) target.members.push(entry.member);
      }
    }
    route = { topic, topicBytes: Buffer.from(topic, 'utf8'), targets };
    if (this.routes.size >= MAX_CACHED_TOPICS) this.routes.delete(this.routes.keys().next().value!);
    this.routes.set(topic, route);
    return route;
  }

  /** Publishes from an in-process member: payload is JSON text of an object (already checked). */
  publishText(topic: string, type: string, payloadText: string, origin: RouterEndpoint | null, originMember: number): void {
    const route = this.route(topic);
    this.published++;
    if (route.targets.length === 0) return;
    this.fanOut(new RoutedEvent(route, this.slab, type, payloadText, undefined, 0, 0, 0, 0), origin, originMember);
  }

  /** Publishes from a wire frame: type and payload are byte ranges of `src` (already checked). */
  publishBytes(route: TopicRoute, src: Buffer, typeStart: number, typeEnd: number, payloadStart: number, payloadEnd: number, origin: RouterEndpoint | null, originMember: number): void {
    this.published++;
    if (route.targets.length === 0) return;
    this.fanOut(new RoutedEvent(route, this.slab, undefined, undefined, src, typeStart, typeEnd, payloadStart, payloadEnd), origin, originMember);
  }

  private fanOut(ev: RoutedEvent, origin: RouterEndpoint | null, originMember: number): void {
    const targets = ev.route.targets;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      if (t.ep === origin) {
        // No echo: only a sibling member of the publisher on the same endpoint gets it.
        if (t.members.length === 1 && t.members[0] === originMember) continue;
        t.ep.deliver(ev, originMember);
      } else {
        t.ep.deliver(ev, -1);
      }
      this.delivered++;
    }
  }
}

let shared: Router | undefined;

/** The router of this process: the broker serves it on the socket and `local:` connections attach
 * to it, so workers hosted next to the broker reach socket subscribers without a socket of their own. */
export function processRouter(): Router {
  shared ??= new Router();
  return shared;
}
