// The live event feed of the tab: the newest rows of the event log and a per-minute count for the
// last hour, fed by the stream and kept outside any component so that it stays bounded and current
// while no page shows it (or the tab is hidden). Subscribers are told on an animation frame at most
// five times a second, however many events arrive, and not at all in a background tab.
import { stream } from './stream.ts';
import { api } from './api.ts';
import type { LogRow } from './types.ts';

export const FEED_ROWS = 200;
export const CHART_MINUTES = 60;
const MINUTE = 60_000;
/** At most this often the feed's subscribers are told (each time on an animation frame). */
const MIN_REDRAW_MS = 200;

type Listener = () => void;

class Feed {
  /** Newest first, at most FEED_ROWS. */
  rows: LogRow[] = [];
  /** Events per minute; index 0 is the minute starting at `firstMinute`. */
  private counts = new Array<number>(CHART_MINUTES).fill(0);
  private firstMinute = Math.floor(Date.now() / MINUTE) * MINUTE - (CHART_MINUTES - 1) * MINUTE;
  private readonly listeners = new Set<Listener>();
  private frame = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastFlush = 0;
  private pending: LogRow[] = [];
  private started = false;
  private stopStream: (() => void) | undefined;
  version = 0;

  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopStream = stream.on('log', (row) => this.add(row as LogRow));
    void this.seed();
  }

  stop(): void {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stopStream?.();
    this.rows = [];
    this.pending = [];
    this.counts.fill(0);
    this.notify();
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** [minute start (ms), count] for the last CHART_MINUTES minutes, oldest first. */
  perMinute(now = Date.now()): [number, number][] {
    this.roll(now);
    return this.counts.map((c, i) => [this.firstMinute + i * MINUTE, c]);
  }

  private add(row: LogRow): void {
    if (!row || typeof row.id !== 'number') return;
    const t = Date.parse(row.ts);
    this.roll(Date.now());
    const i = Math.floor(((Number.isFinite(t) ? t : Date.now()) - this.firstMinute) / MINUTE);
    if (i >= 0 && i < CHART_MINUTES) this.counts[i]++;
    this.pending.push(row);
    // A hidden tab gets no animation frames: keep only what the list can show.
    if (this.pending.length > FEED_ROWS) this.pending.splice(0, this.pending.length - FEED_ROWS);
    this.schedule();
  }

  /** Moves the chart window so that its last minute is the current one. */
  private roll(now: number): void {
    const wantFirst = Math.floor(now / MINUTE) * MINUTE - (CHART_MINUTES - 1) * MINUTE;
    const shift = Math.round((wantFirst - this.firstMinute) / MINUTE);
    if (shift <= 0) return;
    if (shift >= CHART_MINUTES) this.counts.fill(0);
    else this.counts = [...this.counts.slice(shift), ...new Array<number>(shift).fill(0)];
    this.firstMinute = wantFirst;
  }

  private schedule(): void {
    if (this.frame || this.timer) return;
    // Repainting the list costs the same for one new row as for twenty: under a burst, redraw a
    // few times a second rather than at every frame.
    const wait = this.lastFlush + MIN_REDRAW_MS - performance.now();
    const draw = () => {
      this.timer = undefined;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.lastFlush = performance.now();
        this.flush();
      });
    };
    if (wait > 0) this.timer = setTimeout(draw, wait);
    else draw();
  }

  private flush(): void {
    if (this.pending.length > 0) {
      const fresh = this.pending.reverse();
      this.pending = [];
      const seen = new Set(fresh.map((r) => r.id));
      this.rows = [...fresh, ...this.rows.filter((r) => !seen.has(r.id))].slice(0, FEED_ROWS);
    }
    this.notify();
  }

  private notify(): void {
    this.version++;
    for (const fn of this.listeners) fn();
  }

  /** The newest rows and the last hour's counts from the API, merged under whatever arrived live. */
  private async seed(): Promise<void> {
    const now = Date.now();
    const start = new Date(this.firstMinute).toISOString();
    try {
      const [page, buckets] = await Promise.all([
        api<{ data: LogRow[] }>('/logs', { query: { limit: 50 } }),
        api<{ time: string; count: number }[]>('/logs/histogram', { query: { interval_minutes: 1, start_time: start } }),
      ]);
      if (!this.started) return;
      const live = new Set(this.rows.map((r) => r.id));
      this.rows = [...this.rows, ...page.data.filter((r) => !live.has(r.id))].sort((a, b) => b.id - a.id).slice(0, FEED_ROWS);
      // The histogram counts everything up to the request; live counting began when the stream
      // opened. They overlap only in the current minute, where the larger of the two is kept.
      this.roll(now);
      for (const b of buckets) {
        const t = Date.parse(b.time);
        const i = Math.floor((t - this.firstMinute) / MINUTE);
        if (Number.isFinite(t) && i >= 0 && i < CHART_MINUTES) this.counts[i] = Math.max(this.counts[i], b.count);
      }
      this.notify();
    } catch (err) {
      console.warn('could not load the recent events', err);
    }
  }
}

export const feed = new Feed();
