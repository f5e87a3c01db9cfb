// Starting the decoy host for `decnet deploy` when none runs, and waiting for a plan to go live.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DecnetError } from '../core/errors.ts';
import { dataDir, ensureDir } from '../core/paths.ts';
import { readLiveState, type LiveState } from '../deckies/live-state.ts';
import { isAlive, listHostStates } from '../fleet/host-state.ts';

/** The pid of a live process hosting the `deckies` worker (standalone, grouped or single layout). */
export function runningDecoyHostPid(): number | undefined {
  const live = readLiveState();
  if (live && isAlive(live.pid)) return live.pid;
  const host = listHostStates().find((h) => h.alive && h.workers.some((w) => w.name === 'deckies'));
  return host?.pid;
}

export function decoyHostLogPath(): string {
  return join(dataDir(), 'logs', 'deckies.log');
}

export interface StartedHost {
  pid: number;
  /** True once the child has exited (a zombie still answers kill(pid, 0), so track the exit itself). */
  exited(): boolean;
}

/** Starts `decnet deckies` detached through this process's own entry point. */
export function startDecoyHostProcess(): StartedHost {
  const entry = process.argv[1];
  if (!entry) throw new DecnetError('cannot find the decnet entry point to start the decoy host; run `decnet deckies` yourself');
  const logPath = decoyHostLogPath();
  ensureDir(join(dataDir(), 'logs'));
  const fd = openSync(logPath, 'a', 0o640);
  try {
    const child = spawn(process.execPath, [entry, 'deckies'], { detached: true, stdio: ['ignore', fd, fd], env: process.env });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    child.once('error', () => {
      exited = true;
    });
    child.unref();
    if (!child.pid) throw new DecnetError(`could not start the decoy host (see ${logPath})`);
    return { pid: child.pid, exited: () => exited };
  } finally {
    closeSync(fd);
  }
}

function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Polls the live state until the host runs the plan `generated` and no listener is still starting.
 * Rejects if the started host exits first (with the end of its log) or on timeout.
 */
export async function waitForPlan(generated: string, opts: { started?: StartedHost; timeoutMs: number }): Promise<LiveState> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const live = readLiveState();
    if (live && isAlive(live.pid) && live.plan_generated === generated && live.deckies.every((d) => d.listeners.every((l) => l.status !== 'starting'))) return live;
    if (opts.started?.exited()) {
      const tail = logTail(decoyHostLogPath());
      throw new DecnetError(`the decoy host exited during start-up${tail ? `; the end of ${decoyHostLogPath()}:\n${tail}` : ''}`);
    }
    if (Date.now() >= deadline) {
      throw new DecnetError(`the decoy host did not apply the plan within ${Math.round(opts.timeoutMs / 1000)} s; see \`decnet status\`${opts.started ? ` and ${decoyHostLogPath()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
