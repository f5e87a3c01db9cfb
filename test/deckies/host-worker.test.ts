// The `deckies` worker: runs the plan file, follows its changes by diffing, survives a bad plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshLoopbackIp } from './harness.ts';
import { openLocalBus } from '../../src/bus/local.ts';
import { createLogger } from '../../src/core/log.ts';
import type { WorkerContext } from '../../src/fleet/worker.ts';
import type { DeckyPlan, DeployPlan } from '../../src/deckies/plan.ts';

const root = mkdtempSync(join(tmpdir(), 'decnet-worker-'));
process.env.DECNET_DATA_DIR = join(root, 'data');
process.env.DECNET_RUN_DIR = join(root, 'run');
const planFile = join(root, 'data', 'deploy', 'plan.json');
const statePath = join(root, 'run', 'deckies', 'state.json');

function decky(name: string, greeting?: string): DeckyPlan {
  return {
    name,
    ip: freshLoopbackIp(),
    persona: { hostname: name, archetype: 'database-server', distro: 'debian', osFamily: 'linux' },
    services: [greeting ? { name: 'redis', ports: [0], config: { version: greeting } } : { name: 'redis', ports: [0] }],
  };
}

function writePlanFile(deckies: DeckyPlan[], generated: string): void {
  const plan: DeployPlan = { version: 1, generated, deckies };
  const tmp = planFile + '.tmp';
  writeFileSync(tmp, JSON.stringify(plan));
  renameSync(tmp, planFile);
}

interface Live {
  plan_generated: string;
  deckies: { name: string; ip: string; listeners: { port: number; status: string }[] }[];
}

function live(): Live | undefined {
  try {
    return JSON.parse(readFileSync(statePath, 'utf8')) as Live;
  } catch {
    return undefined;
  }
}

async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; live state: ${JSON.stringify(live())}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function ping(ip: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: ip, port }, () => s.write('PING\r\n'));
    s.once('data', (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.once('error', reject);
  });
}

test('runs the plan file and follows its changes by diffing', { timeout: 30_000 }, async (t) => {
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(root, 'data', 'deploy'), { recursive: true });
  const a = decky('alpha');
  const b = decky('bravo');
  writePlanFile([a, b], 'gen-1');

  const worker = (await import('../../src/deckies/worker.ts')).default;
  const bus = openLocalBus();
  const abort = new AbortController();
  let health: Record<string, unknown> = {};
  const ctx: WorkerContext = {
    name: 'deckies',
    bus: bus.member('deckies'),
    db: async () => undefined,
    config: { plan: planFile },
    log: createLogger('deckies'),
    signal: abort.signal,
    health: (extra) => {
      health = { ...health, ...(typeof extra === 'function' ? extra() : extra) };
    },
    setHeartbeatInterval: () => undefined,
  };
  const running = worker.run(ctx);
  try {
    const first = await until(() => live()?.plan_generated === 'gen-1' && live(), 'the first plan to run');
    assert.deepEqual(first.deckies.map((d) => d.name).sort(), ['alpha', 'bravo']);
    const alphaPort = first.deckies.find((d) => d.name === 'alpha')!.listeners[0].port;
    assert.match(await ping(a.ip, alphaPort), /PONG/);
    assert.equal(health.deckies, 2);

    // Hold a connection to alpha: an unchanged decky keeps it across the reload.
    const held = connect({ host: a.ip, port: alphaPort });
    await new Promise((r) => held.once('connect', r));
    let heldClosed = false;
    held.on('close', () => (heldClosed = true));

    const c = decky('charlie');
    writePlanFile([a, c], 'gen-2');
    const second = await until(() => live()?.plan_generated === 'gen-2' && live(), 'the second plan to run');
    assert.deepEqual(second.deckies.map((d) => d.name).sort(), ['alpha', 'charlie']);
    assert.equal(second.deckies.find((d) => d.name === 'alpha')!.listeners[0].port, alphaPort, 'alpha was not restarted');
    assert.equal(heldClosed, false, 'the connection to the unchanged decky survived');
    const cPort = second.deckies.find((d) => d.name === 'charlie')!.listeners[0].port;
    assert.match(await ping(c.ip, cPort), /PONG/);

    // A broken plan is rejected; the running deckies stay.
    writeFileSync(planFile, '{"version": 1, "deckies": [{"name": "bad name"}]}');
    await until(() => typeof health.plan_error === 'string' && health.plan_error, 'the bad plan to be reported');
    assert.match(String(health.plan_error), /name/);
    assert.match(await ping(a.ip, alphaPort), /PONG/);

    // Emptying the plan stops everything.
    writePlanFile([], 'gen-3');
    await until(() => live()?.plan_generated === 'gen-3' && live()!.deckies.length === 0 && live(), 'the empty plan');
    await until(() => heldClosed, 'the held connection to close when its decky stops');
    assert.equal(health.plan_error, null);
  } finally {
    abort.abort();
    await running;
    await bus.close();
  }
  assert.equal(existsSync(statePath), false, 'the live state file is removed on stop');
  const log = readFileSync(join(root, 'data', 'events', 'decoy.log'), 'utf8');
  assert.match(log, /decky="alpha"/);
  assert.match(log, /decky="charlie"/);
});
