// Supervision inside one host process: backoff and its reset, crash isolation through
// AsyncLocalStorage, per-worker stop/restart over the control topic, graceful SIGTERM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { openBus } from '../../src/bus/connect.ts';
import type { BusConnection, Envelope } from '../../src/bus/types.ts';
import { CLI_SOURCE, ROOT, startProcess, stopProcess, testDirs, waitFor, type Proc, type TestDirs } from '../helpers/env.ts';

const FIXTURE = join(ROOT, 'test/fleet/fixtures/host-fixture.ts');

let dirs: TestDirs;
let broker: Proc;
let bus: BusConnection;
const health: Envelope[] = [];

before(async () => {
  dirs = testDirs();
  broker = startProcess([CLI_SOURCE, 'bus', '--socket', dirs.socket], dirs.env);
  await waitFor(() => existsSync(dirs.socket), 10_000, 'the broker socket');
  bus = await openBus(`unix:${dirs.socket}`);
  const sub = bus.member('observer').subscribe('system.*.health', { queueSize: 4096 });
  void (async () => {
    for await (const e of sub) health.push(e);
  })();
});

after(async () => {
  await bus?.close();
  if (broker) await stopProcess(broker);
  dirs?.cleanup();
});

function fixtureEnv(events: string): NodeJS.ProcessEnv {
  return {
    ...dirs.env,
    FIXTURE_EVENTS: events,
    DECNET_HEALTH_INTERVAL_MS: '100',
    DECNET_BACKOFF_INITIAL_MS: '100',
    DECNET_BACKOFF_MAX_MS: '800',
    DECNET_BACKOFF_RESET_MS: '1500',
    DECNET_STOP_DEADLINE_MS: '2000',
  };
}

function events(file: string): { name: string; what: string; ts: number }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [name, what, ts] = l.split(' ');
      return { name, what, ts: Number(ts) };
    });
}

function startFixture(scenario: string): { proc: Proc; file: string } {
  const file = join(dirs.root, `${scenario}-${Date.now()}.events`);
  return { proc: startProcess([FIXTURE, scenario], fixtureEnv(file)), file };
}

/** Wait between each crash and the next start. */
function restartGaps(file: string, worker: string): number[] {
  const list = events(file).filter((e) => e.name === worker);
  const gaps: number[] = [];
  for (let i = 0; i < list.length - 1; i++) if (list[i].what === 'crash' && list[i + 1].what === 'start') gaps.push(list[i + 1].ts - list[i].ts);
  return gaps;
}

const healthOf = (worker: string, since = 0) => health.filter((e) => e.payload.worker === worker && e.ts >= since);

test('a crashing worker is restarted with backoff doubling up to its maximum', async () => {
  const { proc, file } = startFixture('backoff');
  try {
    await waitFor(() => restartGaps(file, 'crasher').length >= 5, 15_000, 'five restarts');
    const gaps = restartGaps(file, 'crasher').slice(0, 5);
    // 100, 200, 400, 800, 800 ms (maximum 800): each at least the planned wait, and not wildly later.
    const planned = [100, 200, 400, 800, 800];
    gaps.forEach((gap, i) => {
      assert.ok(gap >= planned[i] - 5, `gap ${i} was ${gap} ms, planned ${planned[i]}`);
      assert.ok(gap < planned[i] + 400, `gap ${i} was ${gap} ms, planned ${planned[i]}`);
    });
  } finally {
    await stopProcess(proc);
  }
});

test('backoff resets after a run that lasted longer than the reset period', async () => {
  const { proc, file } = startFixture('reset');
  try {
    // Three immediate crashes (waits 100, 200, 400), then a run of 1.6 s (> 1.5 s reset) that crashes.
    await waitFor(() => restartGaps(file, 'crasher').length >= 4, 15_000, 'the restart after the long run');
    const gaps = restartGaps(file, 'crasher');
    assert.ok(gaps[2] >= 395, `third wait ${gaps[2]} ms should be the doubled 400 ms`);
    assert.ok(gaps[3] >= 95 && gaps[3] < 400, `after a long run the wait restarts at 100 ms, got ${gaps[3]} ms`);
  } finally {
    await stopProcess(proc);
  }
});

test('an exception thrown in a timer callback restarts that worker alone', async () => {
  const since = Date.now();
  const { proc, file } = startFixture('timer-crash');
  try {
    await waitFor(() => events(file).filter((e) => e.name === 'bomb' && e.what === 'start').length >= 3, 15_000, 'the bomb to restart twice');
    await waitFor(() => healthOf('bomb', since).some((e) => Number(e.payload.restarts) >= 2), 5000, 'a heartbeat with the restarts');
    const steady = healthOf('steady', since);
    assert.ok(steady.length >= 3, 'the sibling kept heartbeating');
    for (const beat of steady) assert.equal(beat.payload.restarts, 0, 'the sibling never restarted');
    const uptimes = steady.map((e) => Number(e.payload.uptime_s));
    for (let i = 1; i < uptimes.length; i++) assert.ok(uptimes[i] >= uptimes[i - 1], `sibling uptime went backwards: ${uptimes}`);
    assert.equal(events(file).filter((e) => e.name === 'steady' && e.what === 'start').length, 1, 'the sibling started exactly once');
    assert.equal(proc.child.exitCode, null, 'the host is still running');
  } finally {
    const result = await stopProcess(proc);
    assert.equal(result.code, 0);
  }
});

test('an unhandled rejection inside a worker restarts that worker alone', async () => {
  const { proc, file } = startFixture('rejection');
  try {
    await waitFor(() => events(file).filter((e) => e.name === 'rejecter' && e.what === 'start').length >= 2, 15_000, 'the rejecter to restart');
    assert.equal(events(file).filter((e) => e.name === 'steady' && e.what === 'start').length, 1);
    assert.equal(proc.child.exitCode, null);
  } finally {
    await stopProcess(proc);
  }
});

test('stop of one of three workers leaves the other two heartbeating; restart brings it back', async () => {
  const { proc, file } = startFixture('three');
  try {
    await waitFor(() => ['alpha', 'beta', 'gamma'].every((w) => healthOf(w).some((e) => e.payload.state === 'running')), 10_000, 'three running workers');
    const control = bus.member('operator');
    control.publish('system.beta.control', { action: 'stop', requested_by: 'test' }, 'control');
    await waitFor(() => events(file).some((e) => e.name === 'beta' && e.what === 'stop'), 5000, 'beta to stop');
    const afterStop = Date.now();
    await waitFor(() => healthOf('beta', afterStop).some((e) => e.payload.state === 'stopped'), 5000, 'beta reporting stopped');
    await waitFor(() => healthOf('alpha', afterStop).length >= 5 && healthOf('gamma', afterStop).length >= 5, 5000, 'five more heartbeats from alpha and gamma');
    for (const w of ['alpha', 'gamma']) {
      const beats = healthOf(w, afterStop);
      assert.ok(beats.every((e) => e.payload.state === 'running' && e.payload.restarts === 0), `${w} kept running`);
    }
    assert.equal(events(file).filter((e) => e.what === 'stop' && e.name !== 'beta').length, 0, 'no sibling was stopped');

    control.publish('system.beta.control', { action: 'restart', requested_by: 'test' }, 'control');
    await waitFor(() => events(file).filter((e) => e.name === 'beta' && e.what === 'start').length === 2, 5000, 'beta to start again');
    await waitFor(() => healthOf('beta', Date.now() - 50).some((e) => e.payload.state === 'running'), 5000, 'beta running again');
  } finally {
    await stopProcess(proc);
  }
});

test('SIGTERM stops every worker gracefully and exits 0 within the deadline', async () => {
  const { proc, file } = startFixture('slow-stop');
  await waitFor(() => events(file).filter((e) => e.what === 'start').length === 2, 10_000, 'both workers');
  const t0 = Date.now();
  const result = await stopProcess(proc, 'SIGTERM');
  const took = Date.now() - t0;
  assert.equal(result.code, 0);
  assert.ok(took < 2000, `took ${took} ms`);
  assert.deepEqual(events(file).filter((e) => e.what === 'stop').map((e) => e.name).sort(), ['slow', 'steady']);
});

test('a worker that ignores SIGTERM does not hold the host past the deadline', async () => {
  const { proc, file } = startFixture('stuck-stop');
  await waitFor(() => events(file).filter((e) => e.what === 'start').length === 2, 10_000, 'both workers');
  const t0 = Date.now();
  const result = await stopProcess(proc, 'SIGTERM', 10_000);
  const took = Date.now() - t0;
  assert.equal(result.code, 0);
  assert.ok(took >= 1900 && took < 4000, `exited after ${took} ms; the deadline is 2000 ms`);
});

test('an error no worker owns ends the host with a non-zero code', async () => {
  const { proc } = startFixture('outside-error');
  const result = await proc.exited;
  assert.notEqual(result.code, 0);
  assert.match(proc.output(), /outside any worker/);
});
