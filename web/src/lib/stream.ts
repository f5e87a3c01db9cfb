// The tab's one live connection (Server-Sent Events). EventSource cannot send an Authorization
// header, so every connect first trades the token for a single-use ticket (POST /stream/ticket).
// Because a ticket works once, the browser's own reconnect would fail: on any error this module
// closes the source and connects again with a fresh ticket, after a growing pause, and resumes the
// event log after the last row id it saw so nothing is missed across a short outage.
import { api, ApiError } from './api.ts';
import { session } from './session.ts';

export type StreamType = 'log' | 'attacker' | 'credential' | 'ttp' | 'health' | 'decky';
const TYPES: readonly StreamType[] = ['log', 'attacker', 'credential', 'ttp', 'health', 'decky'];

export interface StreamStatus {
  state: 'off' | 'connecting' | 'live' | 'retrying';
  detail: string;
  /** Events received since the page loaded. */
  received: number;
  /** Events the server dropped because this tab read too slowly. */
  dropped: number;
}

type Handler = (data: unknown) => void;

class LiveStream {
  private source: EventSource | undefined;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly statusListeners = new Set<() => void>();
  private lastLogId: number | undefined;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;
  status: StreamStatus = { state: 'off', detail: '', received: 0, dropped: 0 };

  on(type: StreamType | 'dropped', fn: Handler): () => void {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  onStatus(fn: () => void): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  /** Connects if not connected; safe to call repeatedly. */
  start(): void {
    if (this.status.state !== 'off') return;
    this.attempt = 0;
    void this.connect(++this.generation);
  }

  stop(): void {
    this.generation++;
    clearTimeout(this.retryTimer);
    this.source?.close();
    this.source = undefined;
    this.lastLogId = undefined;
    this.setStatus({ state: 'off', detail: '' });
  }

  private setStatus(patch: Partial<StreamStatus>): void {
    this.status = { ...this.status, ...patch };
    for (const fn of this.statusListeners) fn();
  }

  private async connect(gen: number): Promise<void> {
    this.setStatus({ state: 'connecting', detail: 'connecting…' });
    let ticket: string;
    try {
      ticket = (await api<{ ticket: string }>('/stream/ticket', { method: 'POST' })).ticket;
    } catch (err) {
      if (gen !== this.generation) return;
      // 401/403: the session module has already reacted (login or password screen).
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        this.stop();
        return;
      }
      this.retry(gen, err instanceof Error ? err.message : String(err));
      return;
    }
    if (gen !== this.generation) return;
    const params = new URLSearchParams({ ticket, types: TYPES.join(',') });
    if (this.lastLogId !== undefined) params.set('last_event_id', String(this.lastLogId));
    const source = new EventSource(`/api/v1/stream?${params}`);
    this.source = source;
    source.addEventListener('hello', () => {
      if (gen !== this.generation) return;
      this.attempt = 0;
      this.setStatus({ state: 'live', detail: 'live' });
    });
    for (const type of TYPES) {
      source.addEventListener(type, (e) => {
        if (gen !== this.generation) return;
        const me = e as MessageEvent<string>;
        if (type === 'log' && me.lastEventId) {
          const id = Number(me.lastEventId);
          if (Number.isSafeInteger(id)) this.lastLogId = id;
        }
        this.dispatch(type, me.data);
      });
    }
    source.addEventListener('dropped', (e) => {
      if (gen !== this.generation) return;
      try {
        const info = JSON.parse((e as MessageEvent<string>).data) as { count?: number | null };
        this.setStatus({ dropped: this.status.dropped + (typeof info.count === 'number' ? info.count : 0) });
        this.emit('dropped', info);
      } catch {
        // malformed notice: ignore
      }
    });
    source.onerror = () => {
      if (gen !== this.generation) return;
      source.close();
      this.source = undefined;
      this.retry(gen, 'the live stream was interrupted');
    };
  }

  private retry(gen: number, why: string): void {
    if (!session.token) {
      this.stop();
      return;
    }
    const wait = Math.min(30_000, 1000 * 2 ** Math.min(this.attempt, 5));
    this.attempt++;
    this.setStatus({ state: 'retrying', detail: `${why}; reconnecting in ${Math.round(wait / 1000)} s` });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (gen === this.generation) void this.connect(gen);
    }, wait);
  }

  private dispatch(type: StreamType, raw: string): void {
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch {
      return;
    }
    this.status.received++;
    this.emit(type, data);
  }

  private emit(type: string, data: unknown): void {
    const set = this.handlers.get(type);
    if (!set) return;
    for (const fn of set) {
      try {
        fn(data);
      } catch (err) {
        console.error(`stream handler for ${type} failed`, err);
      }
    }
  }
}

export const stream = new LiveStream();
