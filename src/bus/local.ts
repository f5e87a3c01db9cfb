// `local:` transport: the members are endpoints of this process's router. A host that contains the
// broker uses it (its workers then reach socket subscribers through the broker's router), and so
// do tests. The whole connection is one router endpoint; its members are told apart for no-echo.
import type { BusConnection } from './types.ts';
import { MemberSubs } from './member-subs.ts';
import { MemberView, type MemberHost } from './member-view.ts';
import { processRouter, type RoutedEvent, type Router, type RouterEndpoint } from './router.ts';
import type { QueueSubscription } from './subscription.ts';
import { createLogger } from '../core/log.ts';

const log = createLogger('bus:local');

export class LocalBusConnection implements BusConnection, RouterEndpoint, MemberHost {
  readonly url = 'local:';
  private readonly router: Router;
  private readonly subs = new MemberSubs();
  private readonly sidOf = new Map<QueueSubscription, number>();
  private readonly members = new Set<MemberView>();
  private readonly memberIds = new Map<string, number>();
  private closed = false;

  constructor(router: Router = processRouter()) {
    this.router = router;
  }

  member(name: string): MemberView {
    if (this.closed) throw new Error('the local bus connection is closed');
    let id = this.memberIds.get(name);
    if (id === undefined) {
      id = this.memberIds.size + 1;
      if (id > 0xffff) throw new Error('too many bus members on one connection (limit 65535)');
      this.memberIds.set(name, id);
    }
    const view = new MemberView(this, name, id, (msg) => log.warn(msg));
    this.members.add(view);
    return view;
  }

  // MemberHost

  send(member: MemberView, topic: string, _topicBytes: Buffer, type: string, json: string): void {
    if (this.closed) {
      member.sendDrops++;
      return;
    }
    this.router.publishText(topic, type, json, this, member.id);
  }

  attach(member: MemberView, sub: QueueSubscription): void {
    const sid = this.subs.newSid();
    this.sidOf.set(sub, sid);
    this.subs.add({ sid, member: member.id, pattern: sub.pattern, sub, owner: member });
    this.router.subscribe(this, sid, member.id, sub.pattern);
  }

  detach(_member: MemberView, sub: QueueSubscription): void {
    const sid = this.sidOf.get(sub);
    if (sid === undefined) return;
    this.sidOf.delete(sub);
    this.subs.remove(sid);
    this.router.unsubscribe(this, sid);
  }

  isConnected(): boolean {
    return !this.closed;
  }

  reconnectCount(): number {
    return 0;
  }

  // RouterEndpoint

  deliver(ev: RoutedEvent, originMember: number): void {
    this.subs.deliver(ev.topic, originMember, ev);
  }

  // BusConnection

  connected(): boolean {
    return !this.closed;
  }

  async flush(): Promise<boolean> {
    return !this.closed; // delivery is synchronous: nothing is ever in flight
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.router.removeEndpoint(this);
    for (const m of this.members) m.endAll();
    this.members.clear();
    this.sidOf.clear();
  }
}

export function openLocalBus(router?: Router): LocalBusConnection {
  return new LocalBusConnection(router);
}
