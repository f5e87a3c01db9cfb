// The `local:` transport and the behaviour every transport shares: no echo between members,
// bounded drop-oldest queues, publish checks, subscription lifetime, consume().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalBusConnection } from '../../src/bus/local.ts';
import { Router } from '../../src/bus/router.ts';
import { consume } from '../../src/bus/subscription.ts';
import { MAX_BODY_BYTES, type Envelope } from '../../src/bus/types.ts';
import { SubjectError } from '../../src/bus/subject.ts';
import { PayloadTooLargeError } from '../../src/bus/publish-check.ts';
import { nextWithin } from './helpers.ts';

test('no echo: a member never hears itself; its sibling and other connections do', async () => {
  const router = new Router();
  const hostA = new LocalBusConnection(router);
  const hostB = new LocalBusConnection(router);
  const profiler = hostA.member('profiler');
  const ttp = hostA.member('ttp');
  const api = hostB.member('api');
  const own = profiler.subscribe('attacker.>');
  const sibling = ttp.subscribe('attacker.*');
  const other = api.subscribe('>');

  profiler.publish('attacker.scored', { attacker_ip: '203.0.113.9', score: 7 }, 'scored');
  const a = await nextWithin(sibling);
  const b = await nextWithin(other);
  for (const ev of [a, b]) {
    assert.equal(ev.topic, 'attacker.scored');
    assert.equal(ev.type, 'scored');
    assert.deepEqual(ev.payload, { attacker_ip: '203.0.113.9', score: 7 });
    assert.match(ev.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(Math.abs(ev.ts - Date.now()) < 5000);
  }
  assert.equal(a.id, b.id, 'id and ts are stamped once per event');
  assert.equal(own.pending, 0, 'the publisher did not receive its own event');
  assert.equal(profiler.stats().published, 1);
  assert.equal(ttp.stats().received, 1);

  // When only the publisher itself subscribes on its connection, nothing comes back.
  const lonely = new LocalBusConnection(router).member('solo');
  const mine = lonely.subscribe('solo.topic');
  lonely.publish('solo.topic', { x: 1 });
  assert.equal(mine.pending, 0);
  await Promise.all([hostA.close(), hostB.close()]);
});

test('a slow subscriber drops its oldest events and counts them', async () => {
  const router = new Router();
  const conn = new LocalBusConnection(router);
  const pub = conn.member('pub');
  const slowMember = conn.member('slow');
  const slow = slowMember.subscribe('load.test', { queueSize: 10 });
  for (let i = 0; i < 25; i++) pub.publish('load.test', { i });
  assert.equal(slow.pending, 10);
  assert.equal(slow.drops, 15);
  const first = slow.tryNext()!;
  assert.equal(first.payload.i, 15, 'the oldest were dropped, the newest kept');
  assert.equal(slowMember.stats().drops, 15, 'the drops show in the member\'s health stats');
  await conn.close();
});

test('publish throws for bad subjects and payloads, and nothing is sent', async () => {
  const router = new Router();
  const conn = new LocalBusConnection(router);
  const bus = conn.member('checker');
  const all = conn.member('watcher').subscribe('>');
  assert.throws(() => bus.publish('a.*', {}), SubjectError);
  assert.throws(() => bus.publish('a..b', {}), SubjectError);
  assert.throws(() => bus.publish('$SYS.x', {}), SubjectError);
  assert.throws(() => bus.publish('ok.topic', {}, 'has space'), /event type/);
  assert.throws(() => bus.publish('ok.topic', [] as unknown as Record<string, unknown>), /plain object/);
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.throws(() => bus.publish('ok.topic', circular), /not JSON-serialisable/);
  assert.throws(() => bus.publish('ok.topic', { n: 10n }), /not JSON-serialisable/);
  assert.throws(() => bus.publish('ok.topic', { data: 'x'.repeat(MAX_BODY_BYTES) }), PayloadTooLargeError);
  // Multi-byte text counts in bytes: 400k three-byte characters are 1.2 MB.
  assert.throws(() => bus.publish('ok.topic', { data: '日'.repeat(400_000) }), PayloadTooLargeError);
  assert.throws(() => bus.subscribe('a.>.b'), SubjectError);
  assert.equal(all.pending, 0);

  // Exactly at the limit is fine.
  const pad = MAX_BODY_BYTES - JSON.stringify({ data: '' }).length;
  bus.publish('ok.topic', { data: 'y'.repeat(pad) });
  const ev = await nextWithin(all);
  assert.equal((ev.payload.data as string).length, pad);
  await conn.close();
});

test('subscriptions end on close, on abort and when the connection closes', async () => {
  const router = new Router();
  const conn = new LocalBusConnection(router);
  const pub = conn.member('pub');
  const sub = conn.member('a').subscribe('x.y');
  const waiting = sub.next();
  sub.close();
  assert.equal(await waiting, undefined);
  pub.publish('x.y', { after: 'close' });
  assert.equal(sub.pending, 0);

  const ctl = new AbortController();
  const aborted = conn.member('b').subscribe('x.y', { signal: ctl.signal });
  const iterated: Envelope[] = [];
  const loop = (async () => {
    for await (const ev of aborted) iterated.push(ev);
  })();
  pub.publish('x.y', { n: 1 });
  await new Promise((r) => setImmediate(r));
  ctl.abort();
  await loop;
  assert.equal(iterated.length, 1);

  const last = conn.member('c').subscribe('x.y');
  const pending = last.next();
  await conn.close();
  assert.equal(await pending, undefined);
  assert.throws(() => conn.member('d'), /closed/);
  assert.throws(() => new LocalBusConnection(router).member('e').subscribe('x', { queueSize: 0 }), /queueSize/);
});

test('consume() hands events to a handler until the signal aborts', async () => {
  const router = new Router();
  const conn = new LocalBusConnection(router);
  const pub = conn.member('pub');
  const sub = conn.member('worker').subscribe('jobs.*');
  const ctl = new AbortController();
  const seen: number[] = [];
  const done = consume(
    sub,
    async (ev) => {
      seen.push(ev.payload.n as number);
      if (seen.length === 3) ctl.abort();
    },
    ctl.signal,
  );
  for (let n = 1; n <= 5; n++) pub.publish('jobs.run', { n });
  await done;
  assert.deepEqual(seen, [1, 2, 3]);

  // A throwing handler ends consume() with that error and closes the subscription.
  const sub2 = conn.member('worker2').subscribe('jobs.*');
  const failing = consume(sub2, () => {
    throw new Error('handler broke');
  });
  pub.publish('jobs.run', { n: 6 });
  await assert.rejects(failing, /handler broke/);
  pub.publish('jobs.run', { n: 7 });
  assert.equal(sub2.pending, 0);
  await conn.close();
});
