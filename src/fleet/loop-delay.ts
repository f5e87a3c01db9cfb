// Event-loop delay of the host process, reported as p99 per heartbeat interval.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export class LoopDelayMonitor {
  private readonly histogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.histogram.enable();
  }

  /** p99 and max in milliseconds since the last call, then starts a new window. */
  take(): { p99Ms: number; maxMs: number } {
    const h = this.histogram;
    const result = h.count === 0 ? { p99Ms: 0, maxMs: 0 } : { p99Ms: round(h.percentile(99) / 1e6), maxMs: round(h.max / 1e6) };
    h.reset();
    return result;
  }

  stop(): void {
    this.histogram.disable();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
