// Idle compaction: a host whose workers have gone quiet gives its spare heap back to the system.
// While a process starts, V8 grows the young generation to its maximum (two semi-spaces, both
// committed after the first scavenges) and keeps it; only a memory-reducing GC shrinks it again,
// and V8's own memory reducer schedules one only after a full GC, which an idle worker never
// triggers. So the host checks its own CPU time now and then: when it used almost none since the
// last check and its resident memory grew since the last compaction, it runs one memory-reducing
// GC (a few milliseconds for the heap of an idle host). A busy host is left to V8's usual GCs.

import { CpuShare } from '../core/clock.ts';

export interface IdleCompactionOptions {
  /** First check, after the host's workers have started. */
  firstCheckMs?: number;
  /** Later checks. */
  checkMs?: number;
  /** At most this share of one core used since the last check counts as idle. */
  idleCpuShare?: number;
  /** Compact again only once resident memory grew by this much since the last compaction (default 512 KiB). */
  growthBytes?: number;
}

type GcFunction = (options?: { type: 'major' | 'minor'; execution: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

export class IdleCompaction {
  /** How many compactions ran (reported for tests and diagnostics). */
  count = 0;
  private readonly checkMs: number;
  private readonly idleCpuShare: number;
  private readonly growthBytes: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly cpu = new CpuShare();
  /** The lowest resident size seen since the last compaction (V8 releases freed pages in the
   * background, so the size right after a GC is not yet the settled one). 0 until the first
   * compaction: the first quiet check always compacts, since start-up is what left the heap grown. */
  private rssFloor = 0;

  constructor(options: IdleCompactionOptions = {}) {
    this.checkMs = options.checkMs ?? 10_000;
    this.idleCpuShare = options.idleCpuShare ?? 0.02;
    this.growthBytes = options.growthBytes ?? 512 * 1024;
    this.schedule(options.firstCheckMs ?? 1_000);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.check(), ms);
    this.timer.unref();
  }

  private check(): void {
    const share = this.cpu.take();
    const rss = process.memoryUsage.rss();
    this.rssFloor = Math.min(this.rssFloor, rss);
    if (share <= this.idleCpuShare && rss - this.rssFloor >= this.growthBytes) {
      memoryReducingGc();
      this.count++;
      this.rssFloor = Infinity;
      this.cpu.take(); // the GC's own CPU time does not count against the next interval
    }
    this.schedule(this.checkMs);
  }
}

/** A full, compacting GC that also shrinks the young generation and releases the freed pages. */
function memoryReducingGc(): void {
  const gc = (globalThis as { gc?: GcFunction }).gc ?? exposedGc();
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/** The `gc` function V8 gives a context created while --expose-gc is set (node started without it). */
function exposedGc(): GcFunction {
  const v8 = process.getBuiltinModule('node:v8');
  const vm = process.getBuiltinModule('node:vm');
  v8.setFlagsFromString('--expose-gc');
  try {
    return vm.runInNewContext('gc') as GcFunction;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}
