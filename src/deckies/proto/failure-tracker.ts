// Per-source failure counting with a bounded table, for services that, like the real daemons they
// imitate, lock out a source after repeated authentication failures (VNC servers do this).

export class FailureTracker {
  private readonly table = new Map<string, { count: number; until: number; first: number }>();
  readonly limit: number;
  readonly windowMs: number;
  readonly lockMs: number;
  readonly maxSources: number;

  constructor(limit: number, windowMs: number, lockMs: number, maxSources = 4096) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.lockMs = lockMs;
    this.maxSources = maxSources;
  }

  locked(src: string, now = Date.now()): boolean {
    const e = this.table.get(src);
    return e !== undefined && e.until > now;
  }

  fail(src: string, now = Date.now()): void {
    let e = this.table.get(src);
    if (!e || now - e.first > this.windowMs) {
      if (!e && this.table.size >= this.maxSources) {
        const oldest = this.table.keys().next().value;
        if (oldest !== undefined) this.table.delete(oldest);
      }
      e = { count: 0, until: 0, first: now };
      this.table.delete(src);
      this.table.set(src, e);
    }
    if (++e.count >= this.limit) e.until = now + this.lockMs;
  }
}
