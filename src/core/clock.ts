// A monotonic clock in milliseconds. `performance.now()` reads the same clock, but the first touch of
// the `performance` global loads perf_hooks' internals, ~0.8 MB PSS in every process that does it.
export const monotonicMs = (): number => process.uptime() * 1000;

/** CPU time this process has used (all threads, user and system), in microseconds. */
export function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}
