// Host state files: each host process keeps <run dir>/hosts/<name>.json current, so `decnet status`
// and `decnet mem` can see the fleet without a bus round-trip, and a second copy of a process refuses
// to start.
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir, hostsDir } from '../core/paths.ts';
import type { MemoryReading } from './memory.ts';

export interface WorkerStatus {
  name: string;
  state: string;
  restarts: number;
  uptime_s: number;
  last_error?: string;
  last_heartbeat?: number;
  drops?: number;
  extra?: Record<string, unknown>;
}

export interface HostState {
  name: string;
  pid: number;
  started_at: number;
  updated_at: number;
  bus_url: string;
  memory?: MemoryReading;
  el_delay_p99_ms?: number;
  workers: WorkerStatus[];
  /** Set for `decnet up`, which supervises processes rather than workers. */
  role?: 'host' | 'fleet';
}

export function hostStatePath(name: string): string {
  return join(hostsDir(), `${name}.json`);
}

export function writeHostState(state: HostState): void {
  const dir = ensureDir(hostsDir());
  const path = join(dir, `${state.name}.json`);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o640 });
  renameSync(tmp, path);
}

export function removeHostState(name: string, pid = process.pid): void {
  const existing = readHostState(name);
  if (existing && existing.pid !== pid) return; // someone else's
  rmSync(hostStatePath(name), { force: true });
}

export function readHostState(name: string): HostState | undefined {
  try {
    return JSON.parse(readFileSync(hostStatePath(name), 'utf8')) as HostState;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every host state file, with stale ones (dead pid) marked. */
export function listHostStates(): (HostState & { alive: boolean })[] {
  let files: string[];
  try {
    files = readdirSync(hostsDir()).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const states: (HostState & { alive: boolean })[] = [];
  for (const file of files) {
    try {
      const state = JSON.parse(readFileSync(join(hostsDir(), file), 'utf8')) as HostState;
      states.push({ ...state, alive: isAlive(state.pid) });
    } catch {
      // a file being replaced or corrupt: skip it
    }
  }
  return states.sort((a, b) => a.name.localeCompare(b.name));
}
