// `decnet up` on the embedded defaults, as a user runs it: everything starts, a killed process is
// restarted, and Ctrl-C leaves nothing running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_BUILT, startProcess, stopProcess, testDirs, waitFor } from '../helpers/env.ts';
import type { HostState } from '../../src/fleet/host-state.ts';

function hostStates(runDir: string): HostState[] {
  const dir = join(runDir, 'hosts');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => {
      try {
        return [JSON.parse(readFileSync(join(dir, f), 'utf8')) as HostState];
      } catch {
        return [];
      }
    });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('decnet up runs the default fleet, restarts a killed process, and Ctrl-C leaves nothing running', { timeout: 120_000 }, async () => {
  const dirs = testDirs('decnet-up-');
  const runDir = dirs.env.DECNET_RUN_DIR!;
  const up = startProcess([CLI_BUILT, 'up'], { ...dirs.env, DECNET_LOG_LEVEL: 'info' });
  try {
    const fleet = JSON.parse(execFileSync(process.execPath, [CLI_BUILT, 'fleet', '--json'], { env: dirs.env, encoding: 'utf8' })).processes as { name: string }[];
    await waitFor(() => {
      const hosts = hostStates(runDir).filter((h) => h.role === 'host');
      return hosts.length === fleet.length && hosts.every((h) => h.workers.length > 0 && h.workers.every((w) => w.state === 'running'));
    }, 60_000, 'every process of the default fleet to be running');
    assert.match(up.output(), /fleet is up/);

    // A process that dies is restarted by the launcher.
    const victim = hostStates(runDir).find((h) => h.role === 'host' && h.name !== 'bus')!;
    process.kill(victim.pid, 'SIGKILL');
    await waitFor(() => {
      const again = hostStates(runDir).find((h) => h.name === victim.name);
      return again && again.pid !== victim.pid && alive(again.pid) && again.workers.every((w) => w.state === 'running');
    }, 30_000, `${victim.name} to be restarted`);
    assert.match(up.output(), new RegExp(`${victim.name}: exited \\(signal SIGKILL\\).*restarting in 1 s`));

    const pids = hostStates(runDir).map((h) => h.pid);
    const result = await stopProcess(up, 'SIGINT', 30_000);
    assert.equal(result.code, 0, up.output());
    assert.match(up.output(), /nothing left running/);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} still running`);
    assert.deepEqual(hostStates(runDir), [], 'no state files left');
    assert.equal(existsSync(dirs.socket), false, 'the bus socket was removed');
  } finally {
    await stopProcess(up, 'SIGKILL');
    dirs.cleanup();
  }
});

