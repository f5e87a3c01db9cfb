// Event-loop delay of the host process, reported as p99 per heartbeat interval. A timer asks to
// fire every SAMPLE_MS; how late it fires is the delay the loop imposed on everything else. (The
// same measure as perf_hooks' monitorEventLoopDelay, without loading perf_hooks into every host.)

const SAMPLE_MS = 50;
const CAPACITY = 2048;

export class LoopDelayMonitor {
  private readonly samples = new Float64Array(CAPACITY);
  private count = 0;
  private max = 0;
  private expected = Date.now() + SAMPLE_MS;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  private sample(): void {
    const now = Date.now();
    const late = Math.max(0, now - this.expected);
    this.expected = now + SAMPLE_MS;
    // Past capacity, keep a uniform share of the window by overwriting at random.
    const slot = this.count < CAPACITY ? this.count : Math.floor(Math.random() * (this.count + 1));
    if (slot < CAPACITY) this.samples[slot] = late;
    this.count++;
    if (late > this.max) this.max = late;
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
    clearInterval(this.timer);
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
