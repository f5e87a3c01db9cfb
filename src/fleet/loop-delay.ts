// Event-loop delay of the host process, reported as p99 per heartbeat interval. A timer asks to
// fire after a set time; how late it fires is the delay the loop imposed on everything else. (The
// same measure as perf_hooks' monitorEventLoopDelay, without loading perf_hooks into every host.)
//
// The timer samples every FAST_MS while the process uses CPU and every SLOW_MS while it is quiet:
// a quiet loop has no delay to find, and waking it 20 times a second would keep an idle host busy
// (V8 ends up compiling the timer machinery, and the process never sleeps).

import { CpuShare, monotonicMs } from '../core/clock.ts';

const FAST_MS = 50;
const SLOW_MS = 1000;
/** Share of one core above which the process counts as working. */
const BUSY_CPU_SHARE = 0.05;
const CAPACITY = 2048;

export class LoopDelayMonitor {
  private readonly samples = new Float64Array(CAPACITY);
  private count = 0;
  private max = 0;
  private delayMs = SLOW_MS;
  private expected = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly cpu = new CpuShare();

  constructor() {
    this.arm();
  }

  private arm(): void {
    this.expected = monotonicMs() + this.delayMs;
    this.timer = setTimeout(() => this.sample(), this.delayMs);
    this.timer.unref();
  }

  private sample(): void {
    const now = monotonicMs();
    const late = Math.max(0, now - this.expected);
    // Past capacity, keep a uniform share of the window by overwriting at random.
    const slot = this.count < CAPACITY ? this.count : Math.floor(Math.random() * (this.count + 1));
    if (slot < CAPACITY) this.samples[slot] = late;
    this.count++;
    if (late > this.max) this.max = late;
    if (this.cpu.elapsedMs() >= SLOW_MS) this.delayMs = this.cpu.take() > BUSY_CPU_SHARE ? FAST_MS : SLOW_MS;
    this.arm();
  }

  /** Milliseconds between samples right now (FAST_MS while working, SLOW_MS while quiet). */
  get intervalMs(): number {
    return this.delayMs;
  }

  /** p99 and max in milliseconds since the last call, then starts a new window. */
  take(): { p99Ms: number; maxMs: number } {
    const n = Math.min(this.count, CAPACITY);
    if (n === 0) return { p99Ms: 0, maxMs: 0 };
    const sorted = this.samples.slice(0, n).sort();
    const p99 = sorted[Math.min(n - 1, Math.ceil(n * 0.99) - 1)];
    const result = { p99Ms: round(p99), maxMs: round(this.max) };
    this.count = 0;
    this.max = 0;
    return result;
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
