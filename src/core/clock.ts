// A monotonic clock in milliseconds. `performance.now()` reads the same clock, but the first touch of
// the `performance` global loads perf_hooks' internals, ~0.8 MB PSS in every process that does it.
export const monotonicMs = (): number => process.uptime() * 1000;

/** CPU time this process has used (all threads, user and system), in microseconds. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** The share of one core this process used over an interval: how quiet a host is. */
export class CpuShare {
  private startedAt = monotonicMs();
  private cpuAtStart = cpuMicros();

  /** Milliseconds since the interval started. */
  elapsedMs(): number {
    return monotonicMs() - this.startedAt;
  }

  /** The share (0 = idle, 1 = one busy core) since the interval started; then starts a new one. */
  take(): number {
    const now = monotonicMs();
    const cpu = cpuMicros();
    const share = (cpu - this.cpuAtStart) / 1000 / Math.max(1, now - this.startedAt);
    this.startedAt = now;
    this.cpuAtStart = cpu;
    return share;
  }
}
