// The nats:// transport against real NATS servers: the shared one (DECNET_TEST_NATS_URL, default
// nats://127.0.0.1:4222) and, for reconnection, a private nats-server started on a free port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { NatsBusConnection } from '../../src/bus/nats.ts';
import { MAX_BODY_BYTES } from '../../src/bus/types.ts';
import { PayloadTooLargeError } from '../../src/bus/publish-check.ts';
import { captureLogs, nextWithin, waitFor } from './helpers.ts';

captureLogs();

const NATS_URL = process.env.DECNET_TEST_NATS_URL || 'nats://127.0.0.1:4222';
const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));

function reachable(url: string, ms = 1000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.createConnection(Number(u.port || 4222), u.hostname);
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, ms);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** A subject prefix of our own on a shared server. */
const prefix = `decnettest${randomBytes(4).toString('hex')}`;

test('nats: no echo to the publishing member; its sibling and another connection receive', async (t) => {
  if (!(await reachable(NATS_URL))) return t.skip(`no NATS server reachable at ${NATS_URL} (set DECNET_TEST_NATS_URL)`);
  const host = new NatsBusConnection({ url: NATS_URL, name: 'test-host' });
  const other = new NatsBusConnection({ url: NATS_URL, name: 'test-other' });
  try {
    const profiler = host.member('profiler');
    const ttp = host.member('ttp');
    const api = other.member('api');
    const own = profiler.subscribe(`${prefix}.attacker.>`);
    const sibling = ttp.subscribe(`${prefix}.attacker.*`);
    const remote = api.subscribe(`${prefix}.>`);
    assert.equal(await host.flush(), true);
    assert.equal(await other.flush(), true);
    assert.equal(host.connected(), true);

    profiler.publish(`${prefix}.attacker.scored`, { attacker_ip: '192.0.2.7', n: 3 }, 'scored');
    const [s, r] = await Promise.all([nextWithin(sibling), nextWithin(remote)]);
    for (const ev of [s, r]) {
      assert.equal(ev.topic, `${prefix}.attacker.scored`);
      assert.equal(ev.type, 'scored');
      assert.deepEqual(ev.payload, { attacker_ip: '192.0.2.7', n: 3 });
      assert.match(ev.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(Object.keys(ev).sort().join(','), 'id,payload,topic,ts,type,v', 'the envelope has exactly the documented fields');
    }
    assert.equal(s.id, r.id);
    assert.equal(await host.flush(), true);
    assert.equal(own.pending, 0, 'the publisher did not hear itself');

    // Another connection's member with the same name is a different member.
    const twin = other.member('profiler');
    twin.publish(`${prefix}.attacker.observed`, { from: 'twin' });
    assert.equal((await nextWithin(own)).payload.from, 'twin');

    // Publish refuses what the server would refuse.
    assert.throws(() => profiler.publish(`${prefix}.big`, { data: 'x'.repeat(MAX_BODY_BYTES - 40) }), PayloadTooLargeError);
    assert.throws(() => profiler.publish(`${prefix}.a.*`, {}), /wildcard/);
  } finally {
    await Promise.all([host.close(), other.close()]);
  }
});

async function startNatsServer(port: number): Promise<ChildProcess> {
  const proc = spawn(NATS_SERVER!, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await waitFor(() => reachable(`nats://127.0.0.1:${port}`, 200), `nats-server on port ${port}`, 10_000);
  return proc;
}

async function stopNatsServer(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

test('nats: after the server restarts, the client reconnects and its subscriptions work again', async (t) => {
  if (!NATS_SERVER) return t.skip('nats-server is not installed (apt-get install nats-server)');
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  let server = await startNatsServer(port);
  const subConn = new NatsBusConnection({ url, name: 'restart-sub' });
  const pubConn = new NatsBusConnection({ url, name: 'restart-pub' });
  try {
    const sub = subConn.member('s').subscribe('restart.*');
    const pub = pubConn.member('p');
    assert.equal(await subConn.flush(), true);
    assert.equal(await pubConn.flush(), true);
    pub.publish('restart.before', {});
    assert.equal((await nextWithin(sub)).topic, 'restart.before');

    await stopNatsServer(server);
    await waitFor(() => !subConn.connected(), 'the client to notice the server is gone');
    server = await startNatsServer(port);
    await waitFor(() => subConn.connected() && pubConn.connected(), 'both clients to reconnect', 15_000);
    assert.equal(await subConn.flush(), true);
    assert.equal(await pubConn.flush(), true);
    pub.publish('restart.after', { n: 2 });
    const ev = await nextWithin(sub);
    assert.equal(ev.topic, 'restart.after');
    assert.equal(subConn.member('s').stats().reconnects, 1);
  } finally {
    await Promise.all([subConn.close(), pubConn.close()]);
    await stopNatsServer(server);
  }
});

test('nats: publications made before the connection is up are held (bounded) and then sent', async (t) => {
  if (!(await reachable(NATS_URL))) return t.skip(`no NATS server reachable at ${NATS_URL} (set DECNET_TEST_NATS_URL)`);
  const watcher = new NatsBusConnection({ url: NATS_URL, name: 'watcher' });
  const early = new NatsBusConnection({ url: NATS_URL, name: 'early', offlineFrames: 5 });
  try {
    const sub = watcher.member('w').subscribe(`${prefix}.early`);
    assert.equal(await watcher.flush(), true);
    // The connection is made lazily and asynchronously: these eight all happen before it is up.
    const pub = early.member('early');
    for (let i = 0; i < 8; i++) pub.publish(`${prefix}.early`, { i });
    assert.equal(early.connected(), false);
    assert.equal(pub.stats().drops, 3, 'the oldest beyond the bound were dropped');
    assert.equal(await early.flush(), true);
    await waitFor(() => sub.pending === 5, 'the five held publications');
    assert.deepEqual([0, 1, 2, 3, 4].map(() => sub.tryNext()!.payload.i), [3, 4, 5, 6, 7]);
  } finally {
    await Promise.all([early.close(), watcher.close()]);
  }
});
