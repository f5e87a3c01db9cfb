// What the API knows about the fleet's workers: the heartbeats they publish on system.<w>.health
// (every machine on the bus) merged with the host state files of this machine (each process's
// memory, and this process's own workers, whose heartbeats it does not receive back). Bounded:
// anyone on the bus can publish a heartbeat, so only a fixed number of names and a small `extra`
// per worker are kept.
import type { Bus } from '../bus/types.ts';
import { WORKERS } from '../fleet/registry.ts';
import { listHostStates } from '../fleet/host-state.ts';

const MAX_WORKERS = 256;
const MAX_EXTRA_CHARS = 4096;
const NAME = /^[a-z][a-z0-9-]{0,39}$/;

interface Beat {
  worker: string;
  receivedAt: number;
  payload: Record<string, unknown>;
}

export interface WorkerView {
  name: string;
  summary: string | null;
  group: string | null;
  /** Part of this build's worker registry. */
  known: boolean;
  /** ok: a heartbeat within 3 intervals; stale: older; unknown: never heard of. */
  status: 'ok' | 'stale' | 'unknown';
  state: string | null;
  process: string | null;
  hostname: string | null;
  pid: number | null;
  last_heartbeat_ts: number | null;
  seconds_since: number | null;
  uptime_s: number | null;
  restarts: number | null;
  last_error: string | null;
  drops: number | null;
  /** PSS of the process that hosts the worker, KiB. */
  host_pss_kb: number | null;
  el_delay_p99_ms: number | null;
  extra: Record<string, unknown>;
}

export interface ProcessView {
  name: string;
  pid: number;
  alive: boolean;
  role: string;
  workers: string[];
  pss_kb: number | null;
  pss_anon_kb: number | null;
  uss_kb: number | null;
  rss_kb: number | null;
  el_delay_p99_ms: number | null;
  updated_at: number;
}

const STANDARD = new Set(['worker', 'host', 'hostname', 'pid', 'ts', 'uptime_s', 'restarts', 'state', 'drops', 'host_pss_kb', 'host_pss_anon_kb', 'host_uss_kb', 'el_delay_p99_ms', 'last_error']);

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown, max = 512): string | null => (typeof v === 'string' ? v.slice(0, max) : null);

function extraOf(payload: Record<string, unknown>): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(payload)) if (!STANDARD.has(k)) extra[k] = v;
  try {
    return JSON.stringify(extra).length <= MAX_EXTRA_CHARS ? extra : { truncated: true };
  } catch {
    return {};
  }
}

export class WorkerRegistry {
  private readonly beats = new Map<string, Beat>();
  private readonly bus: Bus;
  private readonly staleAfterMs: number;

  constructor(bus: Bus, opts: { healthIntervalMs: number }) {
    this.bus = bus;
    this.staleAfterMs = 3 * opts.healthIntervalMs;
  }

  /** Follows heartbeats until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const sub = this.bus.subscribe('system.*.health', { queueSize: 1024, signal });
    for await (const e of sub) this.record(e.topic, e.payload, Date.now());
  }

  record(topic: string, payload: Record<string, unknown>, now: number): void {
    const name = topic.split('.')[1];
    if (!NAME.test(name) || typeof payload !== 'object' || payload === null) return;
    if (!this.beats.has(name) && this.beats.size >= MAX_WORKERS) return;
    this.beats.set(name, { worker: name, receivedAt: now, payload });
  }

  isKnownWorker(name: string): boolean {
    return WORKERS.some((w) => w.name === name && !w.hidden) || this.beats.has(name);
  }

  snapshot(now = Date.now()): { generated_at: string; bus_connected: boolean; workers: WorkerView[]; processes: ProcessView[] } {
    const hosts = listHostStates();
    const views = new Map<string, WorkerView>();
    const blank = (name: string): WorkerView => {
      const entry = WORKERS.find((w) => w.name === name);
      return {
        name,
        summary: entry?.summary ?? null,
        group: entry?.group ?? null,
        known: entry !== undefined,
        status: 'unknown',
        state: null,
        process: null,
        hostname: null,
        pid: null,
        last_heartbeat_ts: null,
        seconds_since: null,
        uptime_s: null,
        restarts: null,
        last_error: null,
        drops: null,
        host_pss_kb: null,
        el_delay_p99_ms: null,
        extra: {},
      };
    };
    for (const w of WORKERS) if (!w.hidden) views.set(w.name, blank(w.name));
    const setBeat = (v: WorkerView, ts: number) => {
      v.last_heartbeat_ts = ts;
      v.seconds_since = Math.max(0, Math.round((now - ts) / 1000));
      v.status = now - ts <= this.staleAfterMs ? 'ok' : 'stale';
    };
    // Local host state files first; heartbeats received over the bus are fresher and win.
    for (const h of hosts) {
      if (h.role === 'fleet' || !h.alive) continue;
      for (const w of h.workers) {
        const v = views.get(w.name) ?? blank(w.name);
        Object.assign(v, {
          state: w.state,
          process: h.name,
          pid: h.pid,
          uptime_s: w.uptime_s,
          restarts: w.restarts,
          last_error: w.last_error ?? null,
          drops: w.drops ?? null,
          host_pss_kb: h.memory?.pss ?? null,
          el_delay_p99_ms: h.el_delay_p99_ms ?? null,
          extra: w.extra ?? {},
        });
        if (w.last_heartbeat) setBeat(v, w.last_heartbeat);
        views.set(w.name, v);
      }
    }
    for (const b of this.beats.values()) {
      const p = b.payload;
      const ts = num(p.ts) ?? b.receivedAt;
      const v = views.get(b.worker) ?? blank(b.worker);
      if (v.last_heartbeat_ts !== null && v.last_heartbeat_ts > ts) continue;
      Object.assign(v, {
        state: str(p.state, 32),
        process: str(p.host, 64),
        hostname: str(p.hostname, 255),
        pid: num(p.pid),
        uptime_s: num(p.uptime_s),
        restarts: num(p.restarts),
        last_error: str(p.last_error),
        drops: num(p.drops),
        host_pss_kb: num(p.host_pss_kb),
        el_delay_p99_ms: num(p.el_delay_p99_ms),
        extra: extraOf(p),
      });
      setBeat(v, Math.min(ts, now));
      views.set(b.worker, v);
    }
    const processes: ProcessView[] = hosts.map((h) => ({
      name: h.name,
      pid: h.pid,
      alive: h.alive,
      role: h.role ?? 'host',
      workers: h.workers.map((w) => w.name),
      pss_kb: h.memory?.pss ?? null,
      pss_anon_kb: h.memory?.pssAnon ?? null,
      uss_kb: h.memory?.uss ?? null,
      rss_kb: h.memory?.rss ?? null,
      el_delay_p99_ms: h.el_delay_p99_ms ?? null,
      updated_at: h.updated_at,
    }));
    return {
      generated_at: new Date(now).toISOString(),
      bus_connected: this.bus.stats().connected,
      workers: [...views.values()].sort((a, b) => a.name.localeCompare(b.name)),
      processes,
    };
  }
}
