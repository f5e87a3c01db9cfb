// The `bus` worker: broker on the socket, system.bus.health heartbeats, clean stop on abort.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import busWorker from '../../src/bus/broker-worker.ts';
import { LocalBusConnection } from '../../src/bus/local.ts';
import { UnixBusConnection } from '../../src/bus/unix-client.ts';
import { processRouter } from '../../src/bus/router.ts';
import { createLogger } from '../../src/core/log.ts';
import type { WorkerContext } from '../../src/fleet/worker.ts';
import { Host } from '../../src/fleet/host.ts';
import { captureLogs, nextWithin, tempSocketDir, waitFor } from './helpers.ts';

captureLogs();

function context(config: Record<string, unknown>, signal: AbortSignal): WorkerContext {
  const host = new LocalBusConnection();
  return {
    name: 'bus',
    bus: host.member('bus'),
    db: async () => {
      throw new Error('the bus worker uses no database');
    },
    config,
    log: createLogger('bus'),
    signal,
    health: () => undefined,
    setHeartbeatInterval: () => undefined,
  };
}

test('the bus worker serves the socket, heartbeats with its counters and removes the socket on stop', async () => {
  const tmp = tempSocketDir();
  // The real host: it publishes system.bus.health at the interval the worker asks for (--heartbeat).
  const host = new Host({ name: 'bus', workers: [{ def: busWorker, config: { socket: tmp.path, heartbeat: 0.05 } }], busUrl: 'local:', stateFile: false, healthIntervalMs: 60_000 });
  await host.start();
  const conn = new UnixBusConnection({ path: tmp.path, name: 'watcher' });
  try {
    await waitFor(() => existsSync(tmp.path), 'the socket');
    assert.equal(statSync(tmp.path).mode & 0o777, 0o660);
    const watcher = conn.member('watcher');
    const beats = watcher.subscribe('system.*.health');
    assert.equal(await conn.flush(), true);
    // Heartbeats every 50 ms although the host default is 60 s: the worker's own interval applies.
    let ev = await nextWithin(beats);
    while (typeof ev.payload.connections !== 'number') ev = await nextWithin(beats);
    assert.equal(ev.topic, 'system.bus.health');
    assert.equal(ev.payload.worker, 'bus');
    assert.equal(ev.payload.pid, process.pid);
    for (const key of ['uptime_s', 'ts', 'connections', 'published', 'delivered', 'drops']) assert.equal(typeof ev.payload[key], 'number', key);
    assert.ok((ev.payload.connections as number) >= 1);

    // A worker hosted next to the broker (a local: member of the same process) reaches socket clients.
    const sibling = new LocalBusConnection(processRouter()).member('hosted');
    sibling.publish('system.hosted.health', { worker: 'hosted' }, 'health');
    let seen = await nextWithin(beats);
    while (seen.topic === 'system.bus.health') seen = await nextWithin(beats);
    assert.equal(seen.topic, 'system.hosted.health');
  } finally {
    await conn.close();
    await host.stop();
  }
  assert.equal(existsSync(tmp.path), false, 'the socket file is gone after stop');
  tmp.cleanup();
});

test('the bus worker rejects bad options with a clear message', async () => {
  const ctl = new AbortController();
  await assert.rejects(busWorker.run(context({ heartbeat: 0 }, ctl.signal)), /--heartbeat must be a number of seconds/);
  await assert.rejects(busWorker.run(context({ heartbeat: 'soon' }, ctl.signal)), /--heartbeat/);
  await assert.rejects(busWorker.run(context({ socket: 42 }, ctl.signal)), /option socket must be a string/);
});
