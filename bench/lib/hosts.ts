// Reads host state files from a given run directory (benchmarks run fleets in sandboxes).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostState } from '../../src/fleet/host-state.ts';

export function listHostStatesIn(runDir: string): HostState[] {
  const dir = join(runDir, 'hosts');
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: HostState[] = [];
  for (const f of files) {
    try {
      out.push(JSON.parse(readFileSync(join(dir, f), 'utf8')) as HostState);
    } catch {
      // being rewritten
    }
  }
  // `decnet up` hosts the broker's group itself: list that process once, under its group's name.
  const hostPids = new Set(out.filter((h) => h.role !== 'fleet').map((h) => h.pid));
  return out.filter((h) => !(h.role === 'fleet' && hostPids.has(h.pid))).sort((a, b) => a.name.localeCompare(b.name));
}
