// Memory readings from /proc/<pid>/smaps_rollup (DESIGN §6 rule 5). PSS divides shared pages (the
// node binary, shared libraries) among the processes mapping them, so a fleet's PSS sums honestly;
// summed RSS counts the node binary once per process.
import { readFileSync } from 'node:fs';

export interface MemoryReading {
  /** All figures in KiB, as the kernel reports them. */
  pss: number;
  pssAnon: number;
  uss: number;
  rss: number;
}

export function parseSmapsRollup(text: string): MemoryReading {
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return {
    pss: field('Pss'),
    pssAnon: field('Pss_Anon'),
    uss: field('Private_Clean') + field('Private_Dirty'),
    rss: field('Rss'),
  };
}

/** Reads a process's memory; undefined if the process is gone or not readable. */
export function readMemory(pid: number | 'self' = 'self'): MemoryReading | undefined {
  try {
    return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function formatKiB(kib: number): string {
  if (kib >= 1024 * 1024) return `${(kib / 1024 / 1024).toFixed(2)} GB`;
  if (kib >= 1024) return `${(kib / 1024).toFixed(1)} MB`;
  return `${kib} kB`;
}
