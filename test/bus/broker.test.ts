// The broker on a real UNIX socket with real clients (our unix: client and raw sockets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { renameSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker, type Broker, type BrokerOptions } from '../../src/bus/broker.ts';
import { Router } from '../../src/bus/router.ts';
import { UnixBusConnection } from '../../src/bus/unix-client.ts';
import { LocalBusConnection } from '../../src/bus/local.ts';
import { MAX_BODY_BYTES } from '../../src/bus/types.ts';
import { PayloadTooLargeError } from '../../src/bus/publish-check.ts';
import { EVT, HELLO, PUB, encodeHello, encodeSub, FrameReader } from '../../src/bus/frame.ts';
import { captureLogs, nextWithin, tempSocketDir, waitFor } from './helpers.ts';

const logs = captureLogs();

async function withBroker(fn: (b: Broker, path: string, dir: string) => Promise<void>, opts: Omit<BrokerOptions, 'path'> = {}): Promise<void> {
  const tmp = tempSocketDir();
  const broker = await startBroker({ path: tmp.path, router: new Router(), ...opts });
  try {
    await fn(broker, tmp.path, tmp.dir);
  } finally {
    await broker.close();
    tmp.cleanup();
  }
}

function client(path: string, name: string, opts: Partial<ConstructorParameters<typeof UnixBusConnection>[0]> = {}): UnixBusConnection {
  return new UnixBusConnection({ path, name, ...opts });
}

function pubFrame(member: number, topic: string, type: string, payload: Buffer | string): Buffer {
  const t = Buffer.from(topic);
  const ty = Buffer.from(type, 'latin1');
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const body = Buffer.concat([Buffer.from([PUB, member >> 8, member & 0xff, t.length >> 8, t.length & 0xff]), t, Buffer.from([ty.length]), ty, p]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  return Buffer.concat([len, body]);
}

interface Raw {
  socket: net.Socket;
  closed: Promise<void>;
  isClosed(): boolean;
}

function raw(path: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    let closedFlag = false;
    const closed = new Promise<void>((r) =>
      socket.on('close', () => {
        closedFlag = true;
        r();
      }),
    );
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed, isClosed: () => closedFlag }));
    socket.once('error', reject);
  });
}

test('no echo over the socket: a sibling on the same connection and another connection hear it, the publisher does not', async () => {
  await withBroker(async (_b, path) => {
    const host = client(path, 'intel-host');
    const other = client(path, 'api-host');
    const profiler = host.member('profiler');
    const clusterer = host.member('clusterer');
    const api = other.member('api');
    const own = profiler.subscribe('attacker.>');
    const sibling = clusterer.subscribe('attacker.scored');
    const remote = api.subscribe('attacker.*');
    assert.equal(await host.flush(), true);
    assert.equal(await other.flush(), true);

    profiler.publish('attacker.scored', { attacker_ip: '198.51.100.4', event_count: 12 }, 'scored');
    const [s, r] = await Promise.all([nextWithin(sibling), nextWithin(remote)]);
    assert.deepEqual(s.payload, { attacker_ip: '198.51.100.4', event_count: 12 });
    assert.equal(s.topic, 'attacker.scored');
    assert.equal(s.type, 'scored');
    assert.equal(s.id, r.id, 'the broker stamps id and ts once');
    assert.equal(s.ts, r.ts);
    // Everything the publisher's connection received has been handled by now; nothing reached its own subscription.
    assert.equal(await host.flush(), true);
    assert.equal(own.pending, 0);

    // The other direction: the remote member publishes, both members of the host hear it.
    api.publish('attacker.observed', { attacker_ip: '198.51.100.5' });
    const o = await nextWithin(own);
    assert.equal(o.topic, 'attacker.observed');
    assert.equal(sibling.pending, 0, 'pattern attacker.scored does not match attacker.observed');
    await Promise.all([host.close(), other.close()]);
  });
});

test('the envelope id and ts come from the broker, the topic from the frame', async () => {
  await withBroker(async (_b, path) => {
    const sub = client(path, 'sub');
    const events = sub.member('s').subscribe('spoof.>');
    await sub.flush();
    const r = await raw(path);
    // A publisher that puts its own id, ts and topic in the body gets none of them through.
    const body = JSON.stringify({ v: 1, id: 'forged', ts: 1, topic: 'other.topic', payload: { x: 1 } });
    r.socket.write(Buffer.concat([encodeHello('forger'), pubFrame(1, 'spoof.real', 'forged-type', body)]));
    const ev = await nextWithin(events);
    assert.equal(ev.topic, 'spoof.real');
    assert.notEqual(ev.id, 'forged');
    assert.ok(ev.ts > 1_600_000_000_000);
    assert.deepEqual(ev.payload, { v: 1, id: 'forged', ts: 1, topic: 'other.topic', payload: { x: 1 } }, 'the body is the payload, untouched');
    r.socket.destroy();
    await sub.close();
  });
});

test('a slow subscriber loses its oldest events (counted) and nobody else is affected', async () => {
  await withBroker(async (broker, path) => {
    const pubConn = client(path, 'pub');
    const subConn = client(path, 'sub');
    const fastConn = client(path, 'fast');
    try {
      const pub = pubConn.member('pub');
      const slowMember = subConn.member('slow');
      const slow = slowMember.subscribe('load.x', { queueSize: 16 });
      const fast = fastConn.member('fast').subscribe('load.x', { queueSize: 4096 });
      await Promise.all([subConn.flush(), fastConn.flush(), pubConn.flush()]);
      for (let i = 0; i < 1000; i++) pub.publish('load.x', { i });
      await waitFor(() => slow.pending + slow.drops === 1000 && fast.pending === 1000, 'all 1000 events to arrive');
      assert.equal(slow.pending, 16);
      assert.equal(slow.drops, 984);
      assert.equal(slow.tryNext()!.payload.i, 984, 'the newest 16 survive');
      assert.equal(slowMember.stats().drops, 984, 'the drops show in the member\'s health stats');
      assert.equal(fast.drops, 0);
      assert.equal(broker.stats().drops, 0, 'the broker itself kept up');
    } finally {
      await Promise.all([pubConn.close(), subConn.close(), fastConn.close()]);
    }
  });
});

test('a peer that stops reading only loses its own oldest frames at the broker', async () => {
  await withBroker(
    async (broker, path) => {
      const pubConn = client(path, 'pub');
      const fastConn = client(path, 'fast');
      const stuck = await raw(path);
      try {
        const pub = pubConn.member('pub');
        stuck.socket.write(Buffer.concat([encodeHello('stuck'), encodeSub(1, 1, 'load.big')]));
        stuck.socket.pause();
        const fast = fastConn.member('fast').subscribe('load.big', { queueSize: 4096 });
        await fastConn.flush();
        await waitFor(() => broker.stats().subscriptions === 2, 'the stuck peer to subscribe');
        const big = 'z'.repeat(200_000);
        for (let i = 0; i < 120; i++) {
          pub.publish('load.big', { i, big });
          if (i % 10 === 9) await pubConn.flush(); // pace the publisher so only the broker's queue for the stuck peer overflows
        }
        await waitFor(() => fast.pending === 120, 'the healthy subscriber to get all 120 big events', 10_000);
        await waitFor(() => broker.stats().drops > 0, 'the broker to drop for the stuck peer');
        assert.equal(fast.drops, 0);
        assert.equal(stuck.isClosed(), false, 'a slow peer is not disconnected, only dropped for');
        assert.ok(logs.some((l) => l.includes('stuck#') && l.includes('is not keeping up')), 'the drops are logged');
      } finally {
        stuck.socket.destroy();
        await Promise.all([pubConn.close(), fastConn.close()]);
      }
    },
    { queueFrames: 8, queueBytes: 4 * 1024 * 1024 },
  );
});

test('the 1 MiB body limit: publish refuses, and a raw oversize frame closes that connection', async () => {
  await withBroker(async (broker, path) => {
    const conn = client(path, 'limits');
    const bus = conn.member('m');
    const watcher = client(path, 'watcher');
    const all = watcher.member('w').subscribe('big.>');
    await watcher.flush();
    assert.throws(() => bus.publish('big.one', { data: 'x'.repeat(MAX_BODY_BYTES) }), PayloadTooLargeError);

    // The largest allowed payload goes through the socket intact.
    const pad = MAX_BODY_BYTES - JSON.stringify({ data: '' }).length;
    bus.publish('big.max', { data: 'q'.repeat(pad) });
    const ev = await nextWithin(all);
    assert.equal((ev.payload.data as string).length, pad);

    // One byte more, sent raw: that connection is closed, with a log line.
    const r = await raw(path);
    const over = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    over[0] = 0x7b;
    over[over.length - 1] = 0x7d;
    r.socket.write(Buffer.concat([encodeHello('oversize'), pubFrame(1, 'big.over', '', over)]));
    await r.closed;
    assert.ok(logs.some((l) => l.includes('oversize') && l.includes('larger than')), 'the broker says why');

    // A length prefix beyond any frame is refused before the body is sent.
    const r2 = await raw(path);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(0x7fffffff, 0);
    r2.socket.write(Buffer.concat([encodeHello('liar'), prefix]));
    await r2.closed;
    assert.ok(logs.some((l) => l.includes('frame length 2147483647')));

    // The well-behaved connections are still served.
    bus.publish('big.after', { ok: true });
    assert.equal((await nextWithin(all)).topic, 'big.after');
    assert.equal(broker.stats().protocol_errors, 2);
    await Promise.all([conn.close(), watcher.close()]);
  });
});

test('garbage and malformed frames close only the offending connection', async () => {
  await withBroker(async (broker, path) => {
    const pubConn = client(path, 'pub');
    const subConn = client(path, 'sub');
    const pub = pubConn.member('p');
    const sub = subConn.member('s').subscribe('still.*');
    await subConn.flush();

    const hello = encodeHello('bad');
    const cases: [string, Buffer, RegExp][] = [
      ['random bytes', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /frame length|HELLO/],
      ['PUB before HELLO', pubFrame(1, 'a.b', '', '{}'), /expected HELLO first/],
      ['unknown verb', Buffer.concat([hello, Buffer.from([0, 0, 0, 1, 0x7f])]), /unknown verb 127/],
      ['EVT from a client', Buffer.concat([hello, Buffer.from([0, 0, 0, 1, EVT])]), /may not send EVT/],
      ['second HELLO', Buffer.concat([hello, hello]), /second HELLO/],
      ['wildcard in a PUB topic', Buffer.concat([hello, pubFrame(1, 'a.*', '', '{}')]), /PUB: subject/],
      ['reserved PUB topic', Buffer.concat([hello, pubFrame(1, '$SYS.x', '', '{}')]), /reserved/],
      ['array payload', Buffer.concat([hello, pubFrame(1, 'a.b', '', '[1,2]')]), /not a JSON object/],
      ['broken JSON', Buffer.concat([hello, pubFrame(1, 'a.b', '', '{"a":')]), /not a JSON object/],
      ['type with a space', Buffer.concat([hello, pubFrame(1, 'a.b', 'a b', '{}')]), /type is invalid/],
      ['topic not UTF-8', Buffer.concat([hello, pubFrame(1, 'a.b', '', '{}').fill(0xff, 9, 10)]), /not valid UTF-8/],
      ['bad SUB pattern', Buffer.concat([hello, encodeSub(1, 1, 'a.>.b')]), /SUB: pattern/],
      ['duplicate sid', Buffer.concat([hello, encodeSub(1, 1, 'a'), encodeSub(1, 1, 'b')]), /already in use/],
      ['bad protocol version', Buffer.from([0, 0, 0, 4, HELLO, 9, 1, 0x41]), /protocol version 9/],
    ];
    for (const [what, bytes, reason] of cases) {
      const before = logs.length;
      const r = await raw(path);
      r.socket.write(bytes);
      await r.closed;
      const said = logs.slice(before).join('');
      assert.match(said, reason, `${what}: log says why (${said.trim()})`);
      // After each offence the broker still serves the others.
      pub.publish('still.alive', { after: what });
      const ev = await nextWithin(sub);
      assert.equal(ev.payload.after, what);
    }
    assert.equal(broker.stats().protocol_errors, cases.length);
    assert.equal(broker.stats().connections, 2);
    await Promise.all([pubConn.close(), subConn.close()]);
  });
});

test('limits: HELLO deadline, connections, subscriptions per connection', async () => {
  await withBroker(
    async (broker, path) => {
      const silent = await raw(path);
      await silent.closed;
      assert.ok(logs.some((l) => l.includes('no HELLO within 50 ms')));

      const greedy = await raw(path);
      greedy.socket.write(Buffer.concat([encodeHello('greedy'), encodeSub(1, 1, 'a'), encodeSub(2, 1, 'b'), encodeSub(3, 1, 'c')]));
      await greedy.closed;
      assert.ok(logs.some((l) => l.includes('more than 2 subscriptions')));

      const a = client(path, 'a');
      const b = client(path, 'b');
      try {
        assert.equal(await a.flush(), true);
        assert.equal(await b.flush(), true);
        const third = await raw(path);
        await third.closed;
        assert.ok(logs.some((l) => l.includes('refusing a bus connection')));
        assert.equal(broker.stats().connections, 2);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    },
    { helloTimeoutMs: 50, maxConnections: 2, maxSubscriptionsPerConnection: 2 },
  );
});

test('frames split at every byte boundary are understood', async () => {
  await withBroker(async (_b, path) => {
    const subConn = client(path, 'sub');
    const sub = subConn.member('s').subscribe('drip.>');
    await subConn.flush();
    const r = await raw(path);
    const bytes = Buffer.concat([encodeHello('dripper'), pubFrame(3, 'drip.one', 'x', '{"n":1}'), pubFrame(3, 'drip.two', '', '{"n":2}')]);
    for (let i = 0; i < bytes.length; i++) {
      r.socket.write(bytes.subarray(i, i + 1));
      if (i % 7 === 0) await new Promise((res) => setImmediate(res));
    }
    assert.equal((await nextWithin(sub)).payload.n, 1);
    assert.equal((await nextWithin(sub)).payload.n, 2);
    r.socket.destroy();
    await subConn.close();
  });
});

test('a raw client receives well-formed EVT frames', async () => {
  await withBroker(async (_b, path) => {
    const r = await raw(path);
    const frames: Buffer[] = [];
    const reader = new FrameReader((buf, s, e) => void frames.push(Buffer.from(buf.subarray(s, e))));
    r.socket.on('data', (c: Buffer) => reader.push(c));
    r.socket.write(Buffer.concat([encodeHello('reader'), encodeSub(5, 1, 'wire.*')]));
    const conn = client(path, 'pub');
    await waitFor(async () => {
      conn.member('p').publish('wire.check', { hello: 'world' }, 'greeting');
      await conn.flush();
      return frames.length > 0;
    }, 'an EVT frame');
    const f = frames[0];
    assert.equal(f[0], EVT);
    assert.equal(f[1], 0, 'no ECHO flag for another connection');
    const topicLen = f.readUInt16BE(28);
    assert.equal(f.toString('utf8', 30, 30 + topicLen), 'wire.check');
    const typeLen = f[30 + topicLen];
    assert.equal(f.toString('latin1', 31 + topicLen, 31 + topicLen + typeLen), 'greeting');
    assert.deepEqual(JSON.parse(f.toString('utf8', 31 + topicLen + typeLen)), { hello: 'world' });
    assert.equal(f[4 + 6] >> 4, 7, 'the id is a UUIDv7');
    assert.ok(Math.abs(f.readDoubleBE(20) - Date.now()) < 10_000);
    r.socket.destroy();
    await conn.close();
  });
});

test('clients reconnect with backoff and subscribe again after the broker restarts', async () => {
  const tmp = tempSocketDir();
  const router = new Router();
  let broker = await startBroker({ path: tmp.path, router });
  const subConn = client(tmp.path, 'sub', { backoffInitialMs: 20, backoffMaxMs: 200 });
  const pubConn = client(tmp.path, 'pub', { backoffInitialMs: 20, backoffMaxMs: 200 });
  const sub = subConn.member('s').subscribe('restart.*');
  const pub = pubConn.member('p');
  try {
    await Promise.all([subConn.flush(), pubConn.flush()]);
    pub.publish('restart.before', {});
    assert.equal((await nextWithin(sub)).topic, 'restart.before');

    await broker.close();
    assert.equal(existsSync(tmp.path), false, 'the socket file is removed on close');
    await waitFor(() => !subConn.connected() && !pubConn.connected(), 'both clients to notice');
    // Publications while the broker is down are dropped or buffered, never thrown.
    pub.publish('restart.during', { n: 1 });

    broker = await startBroker({ path: tmp.path, router });
    // flush() resolves once reconnected and every subscription has been sent again.
    assert.equal(await subConn.flush(), true);
    assert.equal(await pubConn.flush(), true);
    pub.publish('restart.after', { n: 2 });
    let ev = await nextWithin(sub);
    if (ev.topic === 'restart.during') ev = await nextWithin(sub); // delivered if the subscriber was back first
    assert.equal(ev.topic, 'restart.after');
    assert.equal(subConn.member('s').stats().reconnects, 1);
    assert.ok(logs.some((l) => l.includes('bus connection lost')));
  } finally {
    await Promise.all([subConn.close(), pubConn.close()]);
    await broker.close();
    tmp.cleanup();
  }
});

test('publications made while the broker is down wait in a small buffer, oldest dropped', async () => {
  const tmp = tempSocketDir();
  const router = new Router();
  // The subscriber sits on the broker's own router (as the workers of the broker's host do), so
  // it is listening before the publisher gets through.
  const local = new LocalBusConnection(router);
  const sub = local.member('listener').subscribe('offline.*', { queueSize: 1000 });
  const pubConn = client(tmp.path, 'pub', { backoffInitialMs: 20, backoffMaxMs: 100, offlineFrames: 50 });
  const pub = pubConn.member('p');
  for (let i = 0; i < 80; i++) pub.publish('offline.msg', { i });
  await waitFor(() => logs.some((l) => l.includes('bus broker unreachable')), 'the client to report the broker missing');
  const broker = await startBroker({ path: tmp.path, router });
  try {
    await waitFor(() => sub.pending === 50, '50 buffered events after the broker started');
    assert.equal(sub.tryNext()!.payload.i, 30, 'the oldest 30 were dropped');
    assert.equal(pub.stats().drops, 30);
    assert.equal(pub.stats().published, 80);
  } finally {
    await pubConn.close();
    await local.close();
    await broker.close();
    tmp.cleanup();
  }
});

test('the broker and local: members of its process share one router', async () => {
  await withBroker(async (broker, path) => {
    const local = new LocalBusConnection(broker.router);
    const hosted = local.member('hosted-worker');
    const fromSocket = hosted.subscribe('sock.>');
    const remote = client(path, 'remote');
    const rmember = remote.member('remote-worker');
    const fromLocal = rmember.subscribe('loc.>');
    await remote.flush();
    hosted.publish('loc.hello', { from: 'local' });
    rmember.publish('sock.hello', { from: 'socket' });
    assert.deepEqual((await nextWithin(fromLocal)).payload, { from: 'local' });
    assert.deepEqual((await nextWithin(fromSocket)).payload, { from: 'socket' });
    await Promise.all([local.close(), remote.close()]);
  });
});

test('socket mode 0660, stale sockets replaced, a live broker or a non-socket refused', async () => {
  const tmp = tempSocketDir();
  try {
    // A stale socket: a file whose listener is gone.
    const stale = net.createServer();
    const side = join(tmp.dir, 'side.sock');
    await new Promise<void>((r) => stale.listen(side, () => r()));
    renameSync(side, tmp.path);
    await new Promise<void>((r) => stale.close(() => r()));
    assert.equal(statSync(tmp.path).isSocket(), true);

    const broker = await startBroker({ path: tmp.path, router: new Router() });
    assert.equal(statSync(tmp.path).mode & 0o777, 0o660);
    assert.ok(logs.some((l) => l.includes('removing a stale bus socket')));
    await assert.rejects(startBroker({ path: tmp.path, router: new Router() }), /already listening/);
    // The refused start left the live broker's socket alone.
    const c = client(tmp.path, 'probe');
    assert.equal(await c.flush(), true);
    await c.close();
    await broker.close();

    const nested = join(tmp.dir, 'a', 'b', 'bus.sock');
    const inNew = await startBroker({ path: nested, router: new Router() });
    assert.equal(statSync(nested).mode & 0o777, 0o660, 'parent directories are created');
    await inNew.close();

    writeFileSync(tmp.path, 'not a socket');
    await assert.rejects(startBroker({ path: tmp.path, router: new Router() }), /exists and is not a socket/);
    await assert.rejects(startBroker({ path: join(tmp.dir, 'x'.repeat(120)), router: new Router() }), /at most 107/);
  } finally {
    tmp.cleanup();
  }
});
