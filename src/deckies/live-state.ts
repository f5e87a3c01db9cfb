// The decoy host's live state file, <run dir>/deckies/state.json: which deckies run and which of
// their listeners are up. `decnet deploy` polls it to know when a new plan is live; `decnet status`
// shows it through describeDeckies(). Written atomically; removed on stop.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir, runDir } from '../core/paths.ts';
import type { DeckyState, HostStats } from './host.ts';

export interface LiveState {
  pid: number;
  started_at: number;
  updated_at: number;
  /** `generated` of the plan the host runs ('default' when it runs the built-in plan). */
  plan_generated: string;
  plan_path: string;
  event_log: string;
  deckies: DeckyState[];
  stats: Pick<HostStats, 'deckies' | 'services' | 'listeners' | 'failedListeners' | 'connections'> & { events_written: number; events_dropped: number };
}

export function liveStatePath(): string {
  return join(runDir(), 'deckies', 'state.json');
}

export function writeLiveState(state: LiveState): void {
  const path = liveStatePath();
  ensureDir(join(runDir(), 'deckies'));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o640 });
  renameSync(tmp, path);
}

export function readLiveState(): LiveState | undefined {
  try {
    return JSON.parse(readFileSync(liveStatePath(), 'utf8')) as LiveState;
  } catch {
    return undefined;
  }
}

export function removeLiveState(pid = process.pid): void {
  const existing = readLiveState();
  if (existing && existing.pid !== pid) return;
  rmSync(liveStatePath(), { force: true });
}
